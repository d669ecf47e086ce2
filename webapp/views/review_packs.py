"""Review packs: the page of a product's or a family's pack, its PDF (made by the worker), and the
approved clips its verbatims link to (issue #15, item 6; webapp/services/review_packs.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import jobs, storage, tenancy
from webapp.auth import PERSON, access
from webapp.config import LOCALES
from webapp.db import utcnow
from webapp.errors import NotFound
from webapp.i18n import current_locale, force_locale
from webapp.models import Role
from webapp.services import review_packs
from webapp.views.helpers import actor, render, settings
from webapp.views.media import audio_response, listen_started

bp = Blueprint("review_packs", __name__, url_prefix="/review-packs")
#: Staff see the packs of the products they own or their department answers for (the service checks).
READERS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)


def _language(raw: str | None) -> str:
    return raw if raw in LOCALES else current_locale()


def pack_context(args: Any) -> dict[str, Any]:  # Any: a request's args or form (a MultiDict)
    """What the pack's page shows for ``args`` (scope, period, lang): the form's choices, and the pack."""
    session, user, today = tenancy.request_session(), actor(), utcnow().date()
    products, families = review_packs.choices(session, user)
    scope = review_packs.resolve_scope(session, user, args.get("scope", ""))
    period = review_packs.Period.parse(args.get("period", ""), today)
    lang = _language(args.get("lang"))
    pack = review_packs.build_pack(session, scope, period, locale=lang) if scope else None
    return {"products": products, "families": families, "periods": review_packs.Period.choices(today),
            "scope": scope, "period": period, "lang": lang, "pack": pack, **links(user.role in review_packs.CURATORS)}


def links(opens_voices: bool) -> dict[str, Any]:
    """The pack's link makers (the worker has its own, against the public base address)."""
    def voice_url(kind: str, voice_id: int) -> str:
        if not opens_voices:
            return ""  # staff do not open calls and complaints; the clip's page is theirs
        if kind == "call":
            return url_for("calls.call_detail", call_id=voice_id)
        return url_for("complaints.complaint_detail", complaint_id=voice_id)

    return {"qr": review_packs.qr_svg, "voice_url": voice_url,
            "clip_url": lambda clip_id: url_for("review_packs.review_pack_clip", clip_id=clip_id, _external=True)}


@bp.get("")
@access(PERSON, roles=READERS)
def review_pack_page() -> Response:
    context = pack_context(request.args)
    with force_locale(context["lang"]):
        return render("pages/review_packs/index.html", **context)


@bp.post("/pdf")
@access(PERSON, roles=READERS)
def review_pack_pdf_request() -> Response:
    """Queue the PDF of the pack the form names; its page waits for the worker."""
    session, user = tenancy.request_session(), actor()
    scope = review_packs.resolve_scope(session, user, request.form.get("scope", ""))
    if scope is None:
        raise NotFound()
    period = review_packs.Period.parse(request.form.get("period", ""), utcnow().date())
    job = review_packs.request_pdf(session, user, scope, period, _language(request.form.get("lang")))
    return redirect(url_for("review_packs.review_pack_pdf_status", job_id=job.id), code=303)


@bp.get("/pdf/<int:job_id>")
@access(PERSON, roles=READERS)
def review_pack_pdf_status(job_id: int) -> Response:
    """The PDF's page: it polls itself until the worker made the PDF, then offers it."""
    job = review_packs.pdf_job(tenancy.request_session(), actor(), job_id)
    resp = render("pages/review_packs/pdf.html", partial="partials/review_packs/_pdf_status.html", job=job,
                  done=job.status == jobs.JobStatus.DONE, failed=job.status == jobs.JobStatus.FAILED)
    if request.headers.get("HX-Request") == "true" and job.status in (jobs.JobStatus.DONE, jobs.JobStatus.FAILED):
        resp.status_code = 286  # htmx: stop polling, the answer is final
    return resp


@bp.get("/pdf/<int:job_id>/file")
@access(PERSON, roles=READERS)
def review_pack_pdf_file(job_id: int) -> Response:
    """The PDF the worker made (404 until then)."""
    job = review_packs.pdf_job(tenancy.request_session(), actor(), job_id)
    key = review_packs.pdf_key(job.tenant_id, job.id)
    try:
        size = storage.get_storage(settings()).size(key)
    except storage.ObjectMissing:
        abort(404)
    resp = audio_response(settings(), key, "application/pdf", size)
    resp.headers["Content-Disposition"] = f'attachment; filename="{job.payload.get("name", "review-pack.pdf")}"'
    return resp


@bp.get("/clips/<int:clip_id>")
@access(PERSON, roles=READERS)
def review_pack_clip(clip_id: int) -> Response:
    """An approved, bleeped clip a pack links to (its QR code), for whoever may read that product's pack."""
    clip = review_packs.pack_clip(tenancy.request_session(), actor(), clip_id)
    return render("pages/review_packs/clip.html", clip=clip)


@bp.get("/clips/<int:clip_id>/audio")
@access(PERSON, roles=READERS)
def review_pack_clip_audio(clip_id: int) -> Response:
    clip = review_packs.pack_clip(tenancy.request_session(), actor(), clip_id)
    return audio_response(settings(), clip.audio_key, "audio/webm", clip.audio_size)


@bp.post("/clips/<int:clip_id>/listened")
@access(PERSON, roles=READERS)
def review_pack_clip_listened(clip_id: int) -> Response:
    """Playback started on the clip's page: the listen is journalled, as on the clip's own page."""
    clip = review_packs.pack_clip(tenancy.request_session(), actor(), clip_id)
    return listen_started("clip.listened", f"clip:{clip.id}")
