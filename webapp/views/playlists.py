"""Playlists: named, ordered lists of approved clips that the customer room's screens play.

The list of a playlist's clips is one partial (``partials/playlists/_items.html``): each change
to it (add, move, remove) answers with it for htmx, or goes back to the page for a plain form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Playlist, PlaylistMode, Role
from webapp.services import cards, clips, playlists
from webapp.services.validation import parse_id
from webapp.views.helpers import actor, form_error, is_htmx, render

bp = Blueprint("playlists", __name__, url_prefix="/playlists")
CURATORS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)


@bp.get("")
@access(PERSON, roles=CURATORS)
def playlist_list() -> Response:
    return render("pages/playlists/list.html", form={}, **_list_context())


def _list_context() -> dict[str, Any]:
    return {"playlists": playlists.list_playlists(tenancy.request_session()), "modes": list(PlaylistMode)}


@bp.post("")
@access(PERSON, roles=CURATORS)
def playlist_create() -> Response:
    try:
        playlist = playlists.create_playlist(tenancy.request_session(), actor(), name=request.form.get("name", ""),
                                             mode=request.form.get("mode", ""))
    except UserError as err:
        return form_error("pages/playlists/list.html", err, **_list_context())
    flash(_("Playlist “%(name)s” created: add approved clips to it.", name=playlist.name), "success")
    return redirect(url_for("playlists.playlist_detail", playlist_id=playlist.id), code=303)


def _detail(playlist: Playlist) -> dict[str, Any]:
    """The playlist with what its page shows: clips that can be added, those the room will not play, the order."""
    # item.clip_id is None until a clip just added is flushed; complaint cards have no clip
    inside = {item.clip.id for item in playlist.items if item.clip is not None}
    addable = [c for c in clips.approved_clips(tenancy.request_session()) if c.id not in inside]
    silent = {item.clip.id: reason for item in playlist.items
              if item.clip is not None and (reason := playlists.silence_reason(item.clip)) is not None}
    return {"playlist": playlist, "modes": list(PlaylistMode), "addable": addable, "silent": silent,
            "play_order": playlists.playable(playlist)}


@bp.get("/<int:playlist_id>")
@access(PERSON, roles=CURATORS)
def playlist_detail(playlist_id: int) -> Response:
    playlist = playlists.get_playlist(tenancy.request_session(), playlist_id)
    return render("pages/playlists/detail.html", **_detail(playlist))


@bp.post("/<int:playlist_id>")
@access(PERSON, roles=CURATORS)
def playlist_update(playlist_id: int) -> Response:
    """Rename the playlist or change how it is played."""
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    try:
        playlists.update_playlist(session, actor(), playlist, name=request.form.get("name", ""),
                                  mode=request.form.get("mode", ""))
    except UserError as err:
        return form_error("pages/playlists/detail.html", err, error_in="settings", **_detail(playlist))
    flash(_("Saved. The screens playing this list pick the change up within a minute."), "success")
    return redirect(url_for("playlists.playlist_detail", playlist_id=playlist.id), code=303)


def _items_changed(playlist: Playlist, change: Any) -> Response:
    """Apply ``change`` (a call of the playlists service) and answer with the clips (htmx) or the page."""
    try:
        change()
    except UserError as err:
        return form_error("pages/playlists/detail.html", err, partial="partials/playlists/_items.html",
                          error_in="items", **_detail(playlist))
    if is_htmx():
        return render("partials/playlists/_items.html", **_detail(playlist))
    return redirect(url_for("playlists.playlist_detail", playlist_id=playlist.id, _anchor="playlist-items"),
                    code=303)


def _clip_id() -> int:
    try:
        return parse_id(request.form.get("clip_id"))
    except ValueError:
        raise UserError(_("Choose a clip."), "clip_missing") from None


@bp.post("/<int:playlist_id>/clips")
@access(PERSON, roles=CURATORS)
def playlist_add_clip(playlist_id: int) -> Response:
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    return _items_changed(playlist, lambda: playlists.add_clip(session, actor(), playlist,
                                                               clips.get_clip(session, _clip_id())))


@bp.post("/<int:playlist_id>/move")
@access(PERSON, roles=CURATORS)
def playlist_move_clip(playlist_id: int) -> Response:
    """Move a clip one place earlier (``offset=-1``) or later (``offset=1``)."""
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    offset = -1 if request.form.get("offset") == "-1" else 1
    return _items_changed(playlist, lambda: playlists.move_clip(session, actor(), playlist, _clip_id(), offset))


@bp.post("/<int:playlist_id>/remove")
@access(PERSON, roles=CURATORS)
def playlist_remove_clip(playlist_id: int) -> Response:
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    return _items_changed(playlist, lambda: playlists.remove_clip(session, actor(), playlist, _clip_id()))


@bp.post("/<int:playlist_id>/cards")
@access(PERSON, roles=CURATORS)
def playlist_add_card(playlist_id: int) -> Response:
    """A written complaint as a card (issue #16, item 7): its masked excerpt, or a passage of it."""
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    return _items_changed(playlist, lambda: cards.add_card(
        session, actor(), playlist, cards.get_complaint(session, _complaint_id()), request.form.get("text", "")))


@bp.post("/<int:playlist_id>/cards/remove")
@access(PERSON, roles=CURATORS)
def playlist_remove_card(playlist_id: int) -> Response:
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    return _items_changed(playlist, lambda: cards.remove_card(session, actor(), playlist, _complaint_id()))


def _complaint_id() -> int:
    try:
        return parse_id(request.form.get("complaint_id"))
    except ValueError:
        raise UserError(_("Give the complaint's number."), "card_complaint") from None


# Last on purpose: the isolation test's positive control posts to every route of one playlist in turn.
@bp.post("/<int:playlist_id>/delete")
@access(PERSON, roles=CURATORS)
def playlist_delete(playlist_id: int) -> Response:
    session = tenancy.request_session()
    playlist = playlists.get_playlist(session, playlist_id)
    name = playlist.name
    playlists.delete_playlist(session, actor(), playlist)
    flash(_("Playlist “%(name)s” deleted. Screens that played it have nothing to play until given another.",
            name=name), "success")
    if is_htmx():  # the form asked for confirmation (hx-confirm): the whole page changes
        resp = Response(status=204)
        resp.headers["HX-Redirect"] = url_for("playlists.playlist_list")
        return resp
    return redirect(url_for("playlists.playlist_list"), code=303)
