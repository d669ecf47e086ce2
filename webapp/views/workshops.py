"""Listening workshops (issue #16, item 5; webapp/services/workshops.py): the list, planning, the
workshop's page, the facilitator screen (static/js/workshop.js plays the clips), the check-in by QR
code and the phone page where participants react, the summary and its PDF (made by the worker)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import jobs, storage, tenancy
from webapp.auth import PERSON, access
from webapp.db import mark_for_rollback
from webapp.errors import BadRequest, UserError
from webapp.i18n import _, current_locale
from webapp.models import Workshop, WorkshopStatus
from webapp.services import workshops
from webapp.views.helpers import actor, form_error, is_htmx, render, settings
from webapp.views.listing import ListView
from webapp.views.media import audio_response

bp = Blueprint("workshops", __name__, url_prefix="/workshops")
MANAGERS = workshops.MANAGERS
PARTICIPANTS = workshops.PARTICIPANTS
WORKSHOP_LIST = ListView(workshops.WorkshopFilters,
                         lambda session, filters: workshops.list_workshops(session, filters, current_locale()),
                         endpoint="workshops.workshop_list", area="workshops", item="workshop")


def _load(workshop_id: int) -> Workshop:
    return workshops.get_workshop(tenancy.request_session(), workshop_id)


def _page(workshop: Workshop, **extra: Any) -> dict[str, Any]:
    """What the workshop's page and the facilitator screen show."""
    session = tenancy.request_session()
    zone = workshops.zone_of(session, workshop.tenant_id)
    checkin_url = url_for("workshops.workshop_check_in", code=workshop.checkin_code, _external=True)
    clips = workshops.clips_of(session, workshop)
    tracks = [{"id": c.id, "title": c.title, "duration": round(c.duration_s, 2), "captions": c.captions,
               "audio": url_for("workshops.workshop_audio", workshop_id=workshop.id, clip=c.id)} for c in clips]
    return {"workshop": workshop, "when": workshops.when(workshop, zone, current_locale()),
            "invitees": workshops.invitees(session, workshop), "clips": clips, "tracks": tracks,
            "attendees": workshops.attendees(session, workshop), "decisions": workshops.decisions(session, workshop),
            "checkin_url": checkin_url, "qr": workshops.qr_svg(checkin_url), "form": {}, **extra}


@bp.get("")
@access(PERSON, roles=MANAGERS)
def workshop_list() -> Response:
    return WORKSHOP_LIST.respond()


def _plan_context() -> dict[str, Any]:
    session = tenancy.request_session()
    return {"choices": workshops.choices(session), "zone": str(workshops.zone_of(session, actor().tenant_id))}


@bp.get("/new")
@access(PERSON, roles=MANAGERS)
def workshop_new() -> Response:
    return render("pages/workshops/new.html", form={}, **_plan_context())


@bp.post("")
@access(PERSON, roles=MANAGERS)
def workshop_create() -> Response:
    session = tenancy.request_session()
    try:
        workshop = workshops.plan(session, actor(), workshops.Draft.from_form(request.form))
    except UserError as err:
        return form_error("pages/workshops/new.html", err, **_plan_context())
    flash(_("Workshop “%(title)s” planned: the invitations are on their way.", title=workshop.title), "success")
    return redirect(url_for("workshops.workshop_detail", workshop_id=workshop.id), code=303)


@bp.get("/<int:workshop_id>")
@access(PERSON, roles=MANAGERS)
def workshop_detail(workshop_id: int) -> Response:
    return render("pages/workshops/detail.html", **_page(_load(workshop_id)))


@bp.post("/<int:workshop_id>/start")
@access(PERSON, roles=MANAGERS)
def workshop_start(workshop_id: int) -> Response:
    workshop = _load(workshop_id)
    workshops.start(tenancy.request_session(), actor(), workshop)
    return redirect(url_for("workshops.workshop_run", workshop_id=workshop.id), code=303)


@bp.get("/<int:workshop_id>/run")
@access(PERSON, roles=MANAGERS)
def workshop_run(workshop_id: int) -> Response:
    """The facilitator screen: the clips one by one, the check-in QR code, the decisions."""
    workshop = _load(workshop_id)
    running = workshop.status == WorkshopStatus.RUNNING
    if not running and not is_htmx():
        return redirect(url_for("workshops.workshop_detail", workshop_id=workshop.id), code=303)
    resp = render("pages/workshops/run.html", partial="partials/workshops/_attendees.html", **_page(workshop))
    if not running:
        resp.status_code = 286  # htmx: stop polling, the workshop has ended
    return resp


@bp.post("/<int:workshop_id>/position")
@access(PERSON, roles=MANAGERS)
def workshop_position(workshop_id: int) -> Response:
    """The screen's script says which clip is on (its place in the play order), for the phones."""
    workshop = _load(workshop_id)  # another company's workshop is NotFound before the body is read
    body = request.get_json(silent=True)
    raw = body.get("position") if isinstance(body, dict) else request.form.get("position")
    if not isinstance(raw, int | str) or not str(raw).isdigit():
        raise BadRequest(_("Say which clip is playing."), "position")
    clip = workshops.advance(tenancy.request_session(), workshop, int(raw))
    return jsonify({"clip_id": clip.id if clip is not None else None})


@bp.get("/<int:workshop_id>/audio")
@access(PERSON, roles=MANAGERS)
def workshop_audio(workshop_id: int) -> Response:
    """A clip the workshop plays (``?clip=<id>``), for the facilitator screen."""
    workshop, raw = _load(workshop_id), request.args.get("clip", "")
    if not raw.isdigit():
        raise BadRequest(_("Say which clip to play."), "clip")
    clip = workshops.playable_clip(tenancy.request_session(), workshop, int(raw))
    return audio_response(settings(), clip.audio_key, "audio/webm", clip.audio_size)


@bp.post("/<int:workshop_id>/decisions")
@access(PERSON, roles=MANAGERS)
def workshop_decide(workshop_id: int) -> Response:
    workshop, form = _load(workshop_id), request.form
    clip = form.get("clip_id", "")
    try:
        action = workshops.decide(tenancy.request_session(), actor(), workshop, title=form.get("title", ""),
                                  problem=form.get("problem", ""), clip_id=int(clip) if clip.isdigit() else None)
    except UserError as err:
        return form_error("pages/workshops/run.html", err, **{**_page(workshop), "form": request.form})
    flash(_("Decision recorded as an improvement action: “%(title)s”.", title=action.title), "success")
    return redirect(url_for("workshops.workshop_run", workshop_id=workshop.id), code=303)


@bp.post("/<int:workshop_id>/end")
@access(PERSON, roles=MANAGERS)
def workshop_end(workshop_id: int) -> Response:
    workshop = _load(workshop_id)
    workshops.end(tenancy.request_session(), actor(), workshop)
    return redirect(url_for("workshops.workshop_summary", workshop_id=workshop.id), code=303)


@bp.get("/<int:workshop_id>/summary")
@access(PERSON, roles=MANAGERS)
def workshop_summary(workshop_id: int) -> Response:
    summary = workshops.summary(tenancy.request_session(), _load(workshop_id), current_locale())
    return render("pages/workshops/summary.html", summary=summary, workshop=summary.workshop,
                  reaction_labels=workshops.REACTION_LABELS)


@bp.post("/<int:workshop_id>/pdf")
@access(PERSON, roles=MANAGERS)
def workshop_pdf_request(workshop_id: int) -> Response:
    workshops.request_pdf(tenancy.request_session(), actor(), _load(workshop_id), current_locale())
    return redirect(url_for("workshops.workshop_pdf_status", workshop_id=workshop_id), code=303)


@bp.get("/<int:workshop_id>/pdf")
@access(PERSON, roles=MANAGERS)
def workshop_pdf_status(workshop_id: int) -> Response:
    """The PDF's page: it polls itself until the worker made the PDF, then offers it."""
    workshop = _load(workshop_id)
    job = workshops.latest_pdf_job(tenancy.request_session(), actor(), workshop)
    final = job is None or job.status in (jobs.JobStatus.DONE, jobs.JobStatus.FAILED)
    resp = render("pages/workshops/pdf.html", partial="partials/workshops/_pdf_status.html", workshop=workshop,
                  job=job, done=job is not None and job.status == jobs.JobStatus.DONE,
                  failed=job is not None and job.status == jobs.JobStatus.FAILED)
    if request.headers.get("HX-Request") == "true" and final:
        resp.status_code = 286  # htmx: stop polling, the answer is final
    return resp


@bp.get("/<int:workshop_id>/pdf/file")
@access(PERSON, roles=MANAGERS)
def workshop_pdf_file(workshop_id: int) -> Response:
    """The PDF the worker made; until then, its page."""
    workshop = _load(workshop_id)
    job = workshops.latest_pdf_job(tenancy.request_session(), actor(), workshop)
    try:
        key = workshops.pdf_key(workshop.tenant_id, job.id) if job is not None else ""
        size = storage.get_storage(settings()).size(key) if key else -1
    except storage.ObjectMissing:
        size = -1
    if job is None or size < 0:
        return redirect(url_for("workshops.workshop_pdf_status", workshop_id=workshop.id), code=303)
    resp = audio_response(settings(), key, "application/pdf", size)
    resp.headers["Content-Disposition"] = f'attachment; filename="{job.payload.get("name", "workshop.pdf")}"'
    return resp


# --- participants ----------------------------------------------------------------------------------


@bp.get("/check-in/<code>")
@access(PERSON, roles=PARTICIPANTS)
def workshop_check_in(code: str) -> Response:
    """The QR code's address: the person is checked in (once) and goes to the phone page."""
    workshop = workshops.check_in(tenancy.request_session(), actor(), code)
    return redirect(url_for("workshops.workshop_phone", workshop_id=workshop.id), code=303)


@bp.get("/<int:workshop_id>/phone")
@access(PERSON, roles=PARTICIPANTS)
def workshop_phone(workshop_id: int) -> Response:
    """A participant's phone: the clip now playing and the three reactions (the clip part polls itself)."""
    session, workshop = tenancy.request_session(), _load(workshop_id)
    clip = workshops.now_playing(session, workshop)
    resp = render("pages/workshops/phone.html", partial="partials/workshops/_now_playing.html", workshop=workshop,
                  clip=clip, attended=workshops.has_attended(session, actor(), workshop),
                  reaction_labels=workshops.REACTION_LABELS)
    if request.headers.get("HX-Request") == "true" and workshop.status == WorkshopStatus.ENDED:
        resp.status_code = 286  # htmx: stop polling, nothing will play any more
    return resp


@bp.post("/<int:workshop_id>/reactions")
@access(PERSON, roles=PARTICIPANTS)
def workshop_react(workshop_id: int) -> Response:
    workshop, form = _load(workshop_id), request.form
    clip = form.get("clip_id", "")
    try:
        workshops.react(tenancy.request_session(), actor(), workshop, clip_id=int(clip) if clip.isdigit() else 0,
                        kind=form.get("kind", ""), comment=form.get("comment", ""))
    except UserError as err:
        mark_for_rollback()
        flash(str(err.message), "error")
    else:
        flash(_("Thank you: your reaction is recorded."), "success")
    return redirect(url_for("workshops.workshop_phone", workshop_id=workshop.id), code=303)
