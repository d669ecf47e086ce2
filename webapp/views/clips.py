"""Clips: the quality team's list of the moments cut for the customer room, one clip, its audio.

Clips are made on the call page (views/calls.py, ``call_clip_create``); here they are found,
edited, approved for the room (only with the customer's consent) and retired.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Clip, ClipStatus, LabelKind, RenderStatus, Role, User
from webapp.services import clips, playlists, reactions, taxonomy, transcripts
from webapp.services.validation import parse_id
from webapp.views.helpers import actor, form_error, render, settings
from webapp.views.listing import ListView
from webapp.views.media import audio_response, listen_started

bp = Blueprint("clips", __name__, url_prefix="/clips")
CURATORS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
CLIP_LIST = ListView(clips.ClipFilters, clips.list_clips, endpoint="clips.clip_list", area="clips", item="clip")


def _topics() -> dict[str, Any]:
    return {"topics": taxonomy.labels(tenancy.request_session(), LabelKind.TOPIC, active_only=True)}


@bp.get("")
@access(PERSON, roles=CURATORS)
def clip_list() -> BaseResponse:
    return CLIP_LIST.respond()


def _detail(clip: Clip) -> dict[str, Any]:
    session = tenancy.request_session()
    inside = playlists.playlists_of(session, clip)
    people = {uid: session.get(User, uid) for uid in {clip.created_by_id, clip.approved_by_id} if uid is not None}
    return {"clip": clip, "call": clip.call, "refusal": clips.approval_refusal(clip), "playlists_in": inside,
            "playlist_choices": [p for p, _n in playlists.list_playlists(session) if p not in inside],
            "created_by": people.get(clip.created_by_id) if clip.created_by_id else None,
            "approved_by": people.get(clip.approved_by_id) if clip.approved_by_id else None,
            "clip_defaults": {"start": f"{clip.start_s:.2f}", "end": f"{clip.end_s:.2f}", "title": clip.title,
                              "sentiment": str(clip.sentiment), "topic": clip.topic, "note": clip.note},
            "word_lines": transcripts.clip_lines(session, clip), **_topics(),
            "reactions": reactions.of_clip(session, clip, with_names=True), "reaction_labels": reactions.KIND_LABELS}


@bp.get("/<int:clip_id>")
@access(PERSON, roles=CURATORS)
def clip_detail(clip_id: int) -> BaseResponse:
    clip = clips.get_clip(tenancy.request_session(), clip_id)
    return render("pages/clips/detail.html", **_detail(clip))


@bp.post("/<int:clip_id>")
@access(PERSON, roles=CURATORS)
def clip_update(clip_id: int) -> BaseResponse:
    """Change a clip's words or edges; new edges mean new audio and, if it was approved, a new approval."""
    session = tenancy.request_session()
    clip = clips.get_clip(session, clip_id)
    edges, was_approved = (clip.start_s, clip.end_s), clip.status == ClipStatus.APPROVED
    try:
        clips.update_clip(session, actor(), clip, clips.ClipDraft.from_form(request.form))
    except UserError as err:
        return form_error("pages/clips/detail.html", err, error_in="edit", **_detail(clip))
    if (clip.start_s, clip.end_s) == edges:
        flash(_("Saved."), "success")
    elif was_approved:
        flash(_("Saved. The clip's audio is being prepared again, and the clip is back to draft: "
                "approve it again once you have listened to it."), "success")
    else:
        flash(_("Saved. The clip's audio is being prepared again."), "success")
    return redirect(url_for("clips.clip_detail", clip_id=clip.id), code=303)


@bp.post("/<int:clip_id>/words")
@access(PERSON, roles=CURATORS)
def clip_correct_words(clip_id: int) -> BaseResponse:
    """Correct the words of the clip's caption (their timings stay); they flow back into the call's transcript."""
    session = tenancy.request_session()
    clip = clips.get_clip(session, clip_id)
    try:
        done = transcripts.correct(session, actor(), clip.call, transcripts.parse(request.form))
    except UserError as err:
        return form_error("pages/clips/detail.html", err, error_in="words", **_detail(clip))
    if done.words:
        flash(_("Corrected. The captions are being prepared again, and the call is being tagged again."), "success")
    else:
        flash(_("No word was changed."), "success")
    return redirect(url_for("clips.clip_detail", clip_id=clip.id) + "#clip-words", code=303)


@bp.get("/<int:clip_id>/approve")
@access(PERSON, roles=CURATORS)
def clip_approve_confirm(clip_id: int) -> BaseResponse:
    """One last read of the caption the room will show, before approving (the clip page's "Approve" leads here)."""
    clip = clips.get_clip(tenancy.request_session(), clip_id)
    return render("pages/clips/approve.html", clip=clip, refusal=clips.approval_refusal(clip))


@bp.post("/<int:clip_id>/approve")
@access(PERSON, roles=CURATORS)
def clip_approve(clip_id: int) -> BaseResponse:
    session = tenancy.request_session()
    clip = clips.get_clip(session, clip_id)
    try:
        clips.approve(session, actor(), clip)
    except UserError as err:
        return form_error("pages/clips/detail.html", err, error_in="approve", **_detail(clip))
    flash(_("Approved: the clip can now be added to the room's playlists."), "success")
    return redirect(url_for("clips.clip_detail", clip_id=clip.id), code=303)


@bp.post("/<int:clip_id>/retire")
@access(PERSON, roles=CURATORS)
def clip_retire(clip_id: int) -> BaseResponse:
    session = tenancy.request_session()
    clip = clips.get_clip(session, clip_id)
    clips.retire(session, actor(), clip)
    flash(_("Retired: the room's screens stop playing this clip at their next update."), "success")
    return redirect(url_for("clips.clip_detail", clip_id=clip.id), code=303)


@bp.post("/<int:clip_id>/playlists")
@access(PERSON, roles=CURATORS)
def clip_add_to_playlist(clip_id: int) -> BaseResponse:
    """Put this clip at the end of the playlist chosen in the form (the clip page's "Add to playlist")."""
    session = tenancy.request_session()
    clip = clips.get_clip(session, clip_id)
    try:
        playlist_id = parse_id(request.form.get("playlist_id"))
    except ValueError:
        return form_error("pages/clips/detail.html", UserError(_("Choose a playlist."), "playlist_missing"),
                          error_in="playlist", **_detail(clip))
    playlist = playlists.get_playlist(session, playlist_id)
    try:
        playlists.add_clip(session, actor(), playlist, clip)
    except UserError as err:
        return form_error("pages/clips/detail.html", err, error_in="playlist", **_detail(clip))
    flash(_("Added to the playlist “%(name)s”.", name=playlist.name), "success")
    return redirect(url_for("clips.clip_detail", clip_id=clip.id), code=303)


@bp.get("/<int:clip_id>/status")
@access(PERSON, roles=CURATORS)
def clip_status(clip_id: int) -> BaseResponse:
    """The clip's render status, polled by its page while the worker prepares the audio (htmx)."""
    clip = clips.get_clip(tenancy.request_session(), clip_id)
    resp = render("partials/clips/_render_status.html", clip=clip)
    if clip.render_status != RenderStatus.PENDING:
        resp.status_code = 286  # polling stops; the page reloads to show the player and captions
        resp.headers["HX-Refresh"] = "true"
    return resp


@bp.get("/<int:clip_id>/audio")
@access(PERSON, roles=CURATORS)
def clip_audio(clip_id: int) -> Response:
    """The clip as the room will hear it (404 until the worker rendered it)."""
    clip = clips.get_clip(tenancy.request_session(), clip_id)
    if clip.render_status != RenderStatus.READY or not clip.audio_key:
        raise NotFound()
    return audio_response(settings(), clip.audio_key, "audio/webm", clip.audio_size)


@bp.post("/<int:clip_id>/listened")
@access(PERSON, roles=CURATORS)
def clip_listened(clip_id: int) -> Response:
    """Playback started on the clip's page (its script posts on ``play``): the listen is journalled."""
    clip = clips.get_clip(tenancy.request_session(), clip_id)
    return listen_started("clip.listened", f"clip:{clip.id}")
