"""Playlists: named, ordered lists of approved clips that the room's kiosks play.

In "alternate" mode (the default) the room hears satisfied and unhappy voices in turn, each
kind in the order the quality manager gave; "as ordered" plays the list as it stands. A clip
can be in several playlists; only playable clips (approved, rendered, consent "yes") reach a
kiosk, so retiring a clip or withdrawing consent takes it out of every room at the next sync.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import (
    Clip,
    ClipSentiment,
    ClipStatus,
    Consent,
    Playlist,
    PlaylistItem,
    PlaylistMode,
    RenderStatus,
    User,
)
from webapp.services import audit


def _clean_name(session: Session, name: str, playlist: Playlist | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise UserError(_("Give the playlist a name."), "playlist_name")
    if len(name) > 120:
        raise UserError(_("The name is too long: 120 characters at most."), "playlist_name")
    same = session.scalar(select(Playlist.id).where(Playlist.name == name))
    if same is not None and (playlist is None or same != playlist.id):
        raise UserError(_("A playlist already has this name. Choose another."), "playlist_name")
    return name


def _mode(value: str) -> PlaylistMode:
    try:
        return PlaylistMode(value or PlaylistMode.ALTERNATE)
    except ValueError:
        raise UserError(_("Choose how the playlist is played."), "playlist_mode") from None


def create_playlist(session: Session, actor: User, *, name: str, mode: str = "") -> Playlist:
    """A new, empty playlist (alternating by default)."""
    playlist = Playlist(name=_clean_name(session, name), mode=_mode(mode))
    session.add(playlist)
    session.flush()
    audit.record(session, tenant_id=playlist.tenant_id, actor=actor, action="playlist.created",
                 target=f"playlist:{playlist.id}")
    return playlist


def update_playlist(session: Session, actor: User, playlist: Playlist, *, name: str, mode: str) -> None:
    playlist.name, playlist.mode = _clean_name(session, name, playlist), _mode(mode)
    _touch(session, actor, playlist, "playlist.edited")


def delete_playlist(session: Session, actor: User, playlist: Playlist) -> None:
    """Delete a playlist; kiosks that played it show "nothing to play" until given another."""
    audit.record(session, tenant_id=playlist.tenant_id, actor=actor, action="playlist.deleted",
                 target=f"playlist:{playlist.id}", name=playlist.name)
    session.delete(playlist)


def _touch(session: Session, actor: User, playlist: Playlist, action: str, **details: object) -> None:
    playlist.updated_at = utcnow()
    audit.record(session, tenant_id=playlist.tenant_id, actor=actor, action=action,
                 target=f"playlist:{playlist.id}", **details)


def get_playlist(session: Session, playlist_id: int) -> Playlist:
    playlist = session.scalar(select(Playlist).options(selectinload(Playlist.items).joinedload(PlaylistItem.clip)
                                                       .joinedload(Clip.call)).where(Playlist.id == playlist_id))
    if playlist is None:
        raise NotFound()
    return playlist


def list_playlists(session: Session) -> list[tuple[Playlist, int]]:
    """Every playlist with its number of clips, by name (one query)."""
    counts = (select(PlaylistItem.playlist_id, func.count().label("n")).group_by(PlaylistItem.playlist_id)
              .subquery())
    rows = session.execute(select(Playlist, func.coalesce(counts.c.n, 0))
                           .outerjoin(counts, counts.c.playlist_id == Playlist.id).order_by(Playlist.name))
    return [(playlist, int(n)) for playlist, n in rows]


def add_clip(session: Session, actor: User, playlist: Playlist, clip: Clip) -> None:
    """Put an approved clip at the end of ``playlist`` (nothing happens if it is there already)."""
    if clip.status != ClipStatus.APPROVED:
        raise UserError(_("Only approved clips can be added to a playlist."), "clip_not_approved")
    if any(item.clip_id == clip.id for item in playlist.items):
        return
    last = max((item.position for item in playlist.items), default=-1)
    playlist.items.append(PlaylistItem(clip=clip, position=last + 1))
    _touch(session, actor, playlist, "playlist.clip_added", clip=clip.id)


def remove_clip(session: Session, actor: User, playlist: Playlist, clip_id: int) -> None:
    for item in playlist.items:
        if item.clip_id == clip_id:
            playlist.items.remove(item)
            _touch(session, actor, playlist, "playlist.clip_removed", clip=clip_id)
            return
    raise NotFound()


def move_clip(session: Session, actor: User, playlist: Playlist, clip_id: int, offset: int) -> None:
    """Move a clip ``offset`` places (−1: earlier, +1: later), within the list's bounds."""
    items = list(playlist.items)
    index = next((i for i, item in enumerate(items) if item.clip_id == clip_id), None)
    if index is None:
        raise NotFound()
    target = max(0, min(len(items) - 1, index + offset))
    items.insert(target, items.pop(index))
    for position, item in enumerate(items):
        item.position = position
    playlist.items.sort(key=lambda item: item.position)  # the loaded list follows, for whoever reads it next
    _touch(session, actor, playlist, "playlist.reordered", clip=clip_id)


def rotation(mode: PlaylistMode, clips: Sequence[Clip]) -> list[Clip]:
    """The order a kiosk plays ``clips`` in (given in the playlist's order).

    Alternate: satisfied and unhappy in turn, starting with the kind the list starts with; when
    one kind runs out, the rest of the other follows.
    """
    if mode == PlaylistMode.ORDERED or not clips:
        return list(clips)
    first = clips[0].sentiment
    queues = {kind: [c for c in clips if c.sentiment == kind] for kind in ClipSentiment}
    order = [first, next(k for k in ClipSentiment if k != first)]
    played: list[Clip] = []
    turn = 0
    while any(queues.values()):
        kind = order[turn % 2]
        if queues[kind]:
            played.append(queues[kind].pop(0))
        turn += 1
    return played


def playable(playlist: Playlist) -> list[Clip]:
    """The clips of ``playlist`` a room may play now, in rotation order."""
    return rotation(playlist.mode, [item.clip for item in playlist.items
                                    if item.clip is not None and item.clip.is_playable])


def playlists_of(session: Session, clip: Clip) -> list[Playlist]:
    """The playlists ``clip`` is in, by name."""
    return list(session.scalars(select(Playlist).join(PlaylistItem, PlaylistItem.playlist_id == Playlist.id)
                                .where(PlaylistItem.clip_id == clip.id).order_by(Playlist.name)))


def silence_reason(clip: Clip) -> str | None:
    """Why the room will not play ``clip`` now (the negation of ``Clip.is_playable``, in words); None if it will."""
    if clip.status == ClipStatus.RETIRED:
        return str(_("Retired: it no longer plays in the room."))
    if clip.status != ClipStatus.APPROVED:
        return str(_("Not approved."))
    if clip.call.consent != Consent.YES:
        return str(_("The customer's consent is not \"yes\" any more."))
    if clip.render_status == RenderStatus.FAILED:
        return str(_("Its audio could not be prepared."))
    if clip.render_status != RenderStatus.READY:
        return str(_("Its audio is still being prepared."))
    return None
