"""``review_pack_pdf``: lay out a review pack as PDF (WeasyPrint), for the person who asked for it.

Queued by the pack's page (webapp/services/review_packs.py ``request_pdf``). The pack is gathered
now, with the asker's rights of now (a product taken away since gives nothing), rendered from the
page's own template (``reports/review_pack.html`` includes ``partials/review_packs/_pack.html``) in
the language asked for, and written to ``review_packs.pdf_key``: run twice, it writes the same key.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, g, render_template, url_for

from webapp import pdf, storage, tenancy
from webapp.config import Settings
from webapp.db import utcnow
from webapp.errors import NotFound, PermanentError
from webapp.i18n import force_locale
from webapp.models import Tenant, User, UserStatus
from webapp.services import review_packs
from worker.handlers.context import JobContext

KIND = review_packs.REVIEW_PACK_PDF
log = logging.getLogger(__name__)


def document(settings: Settings, pack: review_packs.Pack, *, lang: str, company: str, opens_voices: bool) -> str:
    """The pack as a whole HTML document for WeasyPrint; links point at the public base address
    (needs an app context)."""
    def voice_url(kind: str, voice_id: int) -> str:
        if not opens_voices:
            return ""
        if kind == "call":
            return url_for("calls.call_detail", call_id=voice_id, _external=True)
        return url_for("complaints.complaint_detail", complaint_id=voice_id, _external=True)

    clip_url: Callable[[int], str] = lambda clip_id: url_for(  # noqa: E731 - the template calls it
        "review_packs.review_pack_clip", clip_id=clip_id, _external=True)
    context: dict[str, Any] = {"pack": pack, "lang": lang, "company": company, "qr": review_packs.qr_svg,
                               "voice_url": voice_url, "clip_url": clip_url}  # Any: template values
    with current_app.test_request_context("/", base_url=settings.base_url or "http://localhost"):
        g.ecoute_mail_locale = lang  # flask_babel.force_locale does nothing while ``g`` is empty
        with force_locale(lang):
            return render_template("reports/review_pack.html", **context)


class Handler:
    def run(self, ctx: JobContext) -> None:
        payload = ctx.payload
        lang = str(payload.get("locale", "fr"))
        with tenancy.tenant_session(ctx.tenant_id) as session:
            user = session.get(User, int(payload["user_id"]))
            tenant = session.get(Tenant, ctx.tenant_id)
            if user is None or tenant is None or user.status != UserStatus.ACTIVE:
                raise PermanentError("the person who asked for this PDF is no longer active")
            try:
                scope = review_packs.resolve_scope(session, user, str(payload.get("scope", "")))
            except NotFound:
                scope = None
            if scope is None:
                raise PermanentError("this pack is no longer yours to read") from None
            period = review_packs.Period.parse(str(payload.get("period", "")), utcnow().date())
            pack = review_packs.build_pack(session, scope, period, locale=lang)
            html = document(ctx.settings, pack, lang=lang, company=tenant.name,
                            opens_voices=user.role in review_packs.CURATORS)
        body = pdf.render(html)
        storage.get_storage(ctx.settings).write(review_packs.pdf_key(ctx.tenant_id, ctx.job_id), io.BytesIO(body),
                                                content_type="application/pdf")
        log.info("review pack PDF written (%d bytes)", len(body))

    def failed(self, ctx: JobContext, reason: str) -> None:
        """The page shows that the PDF could not be made; the person may ask again."""
        log.warning("review pack PDF given up: %s", reason)
