"""Calls: the list quality managers filter, uploads from the browser, one call, its audio."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import NotFound, UserError
from webapp.i18n import _, label, ngettext
from webapp.models import Call, CallStatus, Channel, ClipSentiment, Consent, LabelKind, RenderStatus, Role, Source
from webapp.services import audit, calls, clips, erasure, ingestion, register, tags, taxonomy, transcripts
from webapp.views.helpers import (
    actor,
    correct_tags,
    form_error,
    is_htmx,
    render,
    settings,
    upload_limit,
)
from webapp.views.listing import ListView
from webapp.views.media import audio_response, listen_started

bp = Blueprint("calls", __name__, url_prefix="/calls")
CURATORS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
CALL_LIST = ListView(calls.CallFilters, calls.list_calls, endpoint="calls.call_list", area="calls", item="call")


def _choices() -> dict[str, Any]:
    session = tenancy.request_session()
    return {"statuses": list(CallStatus), "channels": list(Channel), "consents": list(Consent),
            "topics": taxonomy.labels(session, LabelKind.TOPIC), "reasons": taxonomy.labels(session, LabelKind.REASON)}


@bp.get("")
@access(PERSON, roles=CURATORS)
def call_list() -> BaseResponse:
    return CALL_LIST.respond()


@bp.get("/upload")
@access(PERSON, roles=CURATORS)
def call_upload_form() -> BaseResponse:
    return render("pages/calls/upload.html", form={}, results=[], **_choices())


@bp.post("/upload")
@access(PERSON, roles=CURATORS, max_body=upload_limit)
def call_upload() -> BaseResponse:
    """One or more files with shared metadata; the browser's script sends one file per request."""
    files: list[FileStorage] = [f for f in request.files.getlist("file") if f.filename]
    results = []
    try:
        if not files:
            raise UserError(_("Choose at least one audio file."), "file_missing")
        meta = ingestion.clean_meta(request.form)
        origin = ingestion.Origin(Source.BROWSER, user=actor())
        for upload in files:
            results.append(_ingest_one(upload, meta, origin))
    except UserError as err:
        results.append({"filename": "", "ok": False, "message": str(err.message)})
    status = 200 if all(r["ok"] for r in results) else 422
    if is_htmx():
        return render("partials/calls/_upload_result.html", status=status, result=results[0])
    return render("pages/calls/upload.html", status=status, form=request.form, results=results, **_choices())


def _ingest_one(upload: FileStorage, meta: ingestion.VoiceMeta, origin: ingestion.Origin) -> dict[str, Any]:
    session = tenancy.request_session()
    name = upload.filename or ""
    try:
        done = ingestion.ingest_call(session, settings(), actor().tenant_id, stream=upload.stream,
                                     filename=name, meta=meta, origin=origin)
    except UserError as err:
        return {"filename": name, "ok": False, "message": str(err.message)}
    message = (_("Already uploaded: this recording is the same as call #%(id)d.", id=done.call.id)
               if done.duplicate else _("Uploaded. Processing is queued."))
    return {"filename": name, "ok": True, "duplicate": done.duplicate, "message": message, "call": done.call}


@bp.get("/<int:call_id>")
@access(PERSON, roles=CURATORS)
def call_detail(call_id: int) -> BaseResponse:
    return render("pages/calls/detail.html", **_analysis(call_id))


def _analysis(call_id: int) -> dict[str, Any]:
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    found = tags.tags_of(session, tags.Target(call_id=call.id))
    return {"call": call, "transcript": calls.transcript_of(session, call), "tags": found,
            "kept_until": erasure.erase_by(actor().tenant, call.received_at), **_clipping(session, call, found),
            "oral": register.proposal(session, call), "entry": register.entry_of(session, call_id=call.id)}


def _clipping(session: Any, call: Call, found: tags.TagView) -> dict[str, Any]:
    """What the call page needs to cut clips: the form's choices and defaults (the call's tags), its clips."""
    sentiment = found.sentiment.value if found.sentiment is not None else ""
    return {"topics": taxonomy.labels(session, LabelKind.TOPIC, active_only=True),
            "clip_defaults": {"sentiment": sentiment if sentiment in set(ClipSentiment) else "",
                              "topic": found.topics[0].value if found.topics else ""},
            "consent_refusal": clips.consent_refusal(call), **_call_clips(session, call)}


def _call_clips(session: Any, call: Call) -> dict[str, Any]:
    made = clips.clips_of_call(session, call)
    return {"clips": made, "clips_pending": any(c.render_status == RenderStatus.PENDING for c in made)}


@bp.get("/<int:call_id>/analysis")
@access(PERSON, roles=CURATORS)
def call_analysis(call_id: int) -> BaseResponse:
    """The transcript and tags, for the call page to load once processing is over (htmx)."""
    return render("partials/calls/_analysis.html", **_analysis(call_id))


def _transcript(call: Call) -> dict[str, Any]:
    transcript = transcripts.get_transcript(tenancy.request_session(), call)
    return {"call": call, "transcript": transcript, "word_lines": transcripts.lines(transcript)}


@bp.get("/<int:call_id>/transcript")
@access(PERSON, roles=CURATORS)
def call_transcript(call_id: int) -> BaseResponse:
    """The call's words on their timings, each passage a form: correcting what the recogniser misheard."""
    return render("pages/calls/transcript.html", **_transcript(calls.get_call(tenancy.request_session(), call_id)))


@bp.post("/<int:call_id>/transcript")
@access(PERSON, roles=CURATORS)
def call_transcript_correct(call_id: int) -> BaseResponse:
    """Correct words of a passage (their timings stay); the call is tagged again, its clips captioned again."""
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    corrections = transcripts.parse(request.form)
    passage = "words-" + next(iter(corrections), "0-0").partition("-")[0]
    try:
        done = transcripts.correct(session, actor(), call, corrections)
    except UserError as err:
        return form_error("pages/calls/transcript.html", err, error_in=passage, **_transcript(call))
    flash(ngettext("Corrected: %(num)d word. The call is being tagged again.",
                   "Corrected: %(num)d words. The call is being tagged again.", done.words)
          if done.words else _("No word was changed."), "success")
    return redirect(url_for("calls.call_transcript", call_id=call.id) + f"#{passage}", code=303)


@bp.post("/<int:call_id>/tags")
@access(PERSON, roles=CURATORS)
def call_tag(call_id: int) -> BaseResponse:
    """One click of a quality manager: a sentiment, or a topic or reason present or not (htmx or plain form)."""
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    return correct_tags(session, tags.Target(call_id=call.id), tag_url=url_for("calls.call_tag", call_id=call.id),
                        page_url=url_for("calls.call_detail", call_id=call.id))


@bp.get("/<int:call_id>/audio")
@access(PERSON, roles=CURATORS)
def call_audio(call_id: int) -> Response:
    call = calls.get_call(tenancy.request_session(), call_id)
    playback = calls.playback_of(settings(), call)
    if playback is not None:
        return audio_response(settings(), *playback)
    return audio_response(settings(), call.storage_key, call.content_type, call.size_bytes)


@bp.post("/<int:call_id>/listened")
@access(PERSON, roles=CURATORS)
def call_listened(call_id: int) -> Response:
    """Playback started on the call page (its script posts on ``play``): the listen is journalled."""
    call = calls.get_call(tenancy.request_session(), call_id)
    return listen_started("call.listened", f"call:{call.id}")


@bp.post("/<int:call_id>/retry")
@access(PERSON, roles=CURATORS)
def call_retry(call_id: int) -> BaseResponse:
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    if calls.retry_processing(session, call):
        audit.record(session, tenant_id=call.tenant_id, actor=actor(), action="call.retried",
                     target=f"call:{call.id}")
        flash(_("Processing will be tried again."), "success")
    return redirect(url_for("calls.call_detail", call_id=call.id), code=303)


@bp.get("/<int:call_id>/status")
@access(PERSON, roles=CURATORS)
def call_status(call_id: int) -> BaseResponse:
    call = calls.get_call(tenancy.request_session(), call_id)
    resp = render("partials/calls/_status.html", call=call)
    if call.status not in calls.PENDING:
        resp.status_code = 286  # polling stops; the page loads the transcript and tags (call-processed)
        resp.headers["HX-Trigger"] = "call-processed"
    return resp



@bp.get("/<int:call_id>/peaks.json")
@access(PERSON, roles=CURATORS)
def call_peaks(call_id: int) -> BaseResponse:
    """The waveform's peaks, computed by the worker: the browser draws them instead of decoding the call."""
    call = calls.get_call(tenancy.request_session(), call_id)
    peaks = calls.peaks_of(settings(), call)
    if peaks is None:
        raise NotFound()
    resp = Response(peaks, mimetype="application/json")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


@bp.post("/<int:call_id>/consent")
@access(PERSON, roles=CURATORS)
def call_consent(call_id: int) -> BaseResponse:
    """The customer's answer about reusing the call, as a quality manager learnt it (plain form)."""
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    try:
        calls.set_consent(session, actor(), call, request.form.get("consent", ""))
    except UserError as err:
        return form_error("pages/calls/detail.html", err, error_in="consent", **_analysis(call.id))
    flash(_("Consent saved: %(consent)s.", consent=label("consent", call.consent)), "success")
    return redirect(url_for("calls.call_detail", call_id=call.id), code=303)


@bp.get("/<int:call_id>/clips")
@access(PERSON, roles=CURATORS)
def call_clip_list(call_id: int) -> BaseResponse:
    """The call's clips (htmx: the rows polled while one is being prepared; 286 once all are done)."""
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    if not is_htmx():
        return redirect(url_for("calls.call_detail", call_id=call.id, _anchor="call-clips"), code=303)
    context = _call_clips(session, call)
    if request.headers.get("HX-Target") != "call-clip-rows":
        return render("partials/clips/_call_clips.html", call=call, **context)
    resp = render("partials/clips/_call_clip_rows.html", call=call, **context)
    if not context["clips_pending"]:
        resp.status_code = 286  # htmx: stop polling, every clip is rendered (or failed)
    return resp


@bp.post("/<int:call_id>/clips")
@access(PERSON, roles=CURATORS)
def call_clip_create(call_id: int) -> BaseResponse:
    """A new clip of this call (a plain form, or htmx: the call's clips come back, the form is emptied)."""
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    try:
        clip = clips.create_clip(session, actor(), call, clips.ClipDraft.from_form(request.form))
    except UserError as err:
        resp = form_error("pages/calls/detail.html", err, partial="partials/clips/_form.html", error_in="clip",
                          **_analysis(call.id))
        if is_htmx():
            resp.headers["HX-Retarget"], resp.headers["HX-Reswap"] = "#clip-form", "outerHTML"
        return resp
    done = _("Clip “%(title)s” saved as a draft: its audio is being prepared.", title=clip.title)
    if is_htmx():
        return render("partials/clips/_created.html", message=done, **_analysis(call.id))
    flash(done, "success")
    return redirect(url_for("calls.call_detail", call_id=call.id, _anchor="call-clips"), code=303)


def _erasure(session: Any, call: Call) -> dict[str, Any]:
    """What the confirmation page says erasing ``call`` takes with it."""
    found = erasure.call_footprint(session, call)
    erased = [_("The recording, its renditions and its transcript"), _("Its tags")]
    if found.clips:
        erased.append(ngettext("%(num)d clip made from it", "%(num)d clips made from it", found.clips))
    warning = (ngettext("%(num)d of them is in a playlist: it leaves the customer room's screens at their next sync.",
                        "%(num)d of them are in a playlist: they leave the customer room's screens at their next sync.",
                        found.in_playlists) if found.in_playlists else None)
    return {"heading": _("Erase call #%(id)d", id=call.id), "erased": erased, "warning": warning,
            "reasons": erasure.PERSON_REASONS, "action_url": url_for("calls.call_erase", call_id=call.id),
            "back_url": url_for("calls.call_detail", call_id=call.id), "back_label": _("Back to the call")}


@bp.get("/<int:call_id>/erase")
@access(PERSON, roles=CURATORS)
def call_erase_form(call_id: int) -> BaseResponse:
    session = tenancy.request_session()
    return render("pages/erasure/confirm.html", form={}, **_erasure(session, calls.get_call(session, call_id)))


@bp.post("/<int:call_id>/erase")
@access(PERSON, roles=CURATORS)
def call_erase(call_id: int) -> BaseResponse:
    """Erase the call for good, with its clips (the customer asked, or it is not needed)."""
    session = tenancy.request_session()
    call = calls.get_call(session, call_id)
    try:
        erasure.erase_call(session, actor(), call, request.form.get("reason", ""))
    except UserError as err:  # refused before anything changed: the call and its clips are all still there
        return form_error("pages/erasure/confirm.html", err, **_erasure(session, call))
    flash(_("Call #%(id)d erased, with its clips. Its files are being deleted.", id=call_id), "success")
    return redirect(url_for("calls.call_list"), code=303)
