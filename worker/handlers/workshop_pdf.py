"""``workshop_pdf``: lay out a workshop's summary as PDF (WeasyPrint), for the person who asked for it.

Queued by the summary page (webapp/services/workshops.py ``request_pdf``). The summary is gathered
now, rendered from the page's own template (``reports/workshop.html`` includes
``partials/workshops/_summary.html``) in the language asked for, and written to
``workshops.pdf_key``: run twice, it writes the same key. A workshop's summary is a few pages (its
attendees, a playlist's clips, their comments), but WeasyPrint takes a second or more to lay out even
that: never in a request (STYLE §11).
"""

from __future__ import annotations

import io
import logging

from flask import current_app, g, render_template

from webapp import pdf, storage, tenancy
from webapp.config import Settings
from webapp.errors import PermanentError
from webapp.i18n import force_locale
from webapp.models import Role, Tenant, User, UserStatus, Workshop
from webapp.services import workshops
from worker.handlers.context import JobContext

KIND = workshops.WORKSHOP_PDF
log = logging.getLogger(__name__)


def document(settings: Settings, summary: workshops.Summary, *, lang: str, company: str) -> str:
    """The summary as a whole HTML document for WeasyPrint (needs an app context)."""
    with current_app.test_request_context("/", base_url=settings.base_url or "http://localhost"):
        g.ecoute_mail_locale = lang  # flask_babel.force_locale does nothing while ``g`` is empty
        with force_locale(lang):
            return render_template("reports/workshop.html", summary=summary, lang=lang, company=company,
                                   reaction_labels=workshops.REACTION_LABELS)


class Handler:
    def run(self, ctx: JobContext) -> None:
        payload = ctx.payload
        lang = str(payload.get("locale", "fr"))
        with tenancy.tenant_session(ctx.tenant_id) as session:
            user = session.get(User, int(payload["user_id"]))
            tenant = session.get(Tenant, ctx.tenant_id)
            workshop = session.get(Workshop, int(payload["workshop_id"]))
            if user is None or tenant is None or user.status != UserStatus.ACTIVE \
                    or Role(user.role) not in workshops.MANAGERS:
                raise PermanentError("the person who asked for this PDF may no longer read it")
            if workshop is None:
                raise PermanentError("this workshop no longer exists")
            html = document(ctx.settings, workshops.summary(session, workshop, lang), lang=lang, company=tenant.name)
        body = pdf.render(html)
        storage.get_storage(ctx.settings).write(workshops.pdf_key(ctx.tenant_id, ctx.job_id), io.BytesIO(body),
                                                content_type="application/pdf")
        log.info("workshop PDF written (%d bytes)", len(body))

    def failed(self, ctx: JobContext, reason: str) -> None:
        """The page shows that the PDF could not be made; the person may ask again."""
        log.warning("workshop PDF given up: %s", reason)
