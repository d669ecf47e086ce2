"""A person's own listening: the room's playlist on their device, and the time they really heard (issue #16).

**Which playlist.** The company's current playlist is the one most of its screens play (screens
not revoked; on a tie, the first by name). A person may choose another among those the screens
play; nothing else: a playlist no screen plays is a draft, not the room's.

**What they reach.** Only playable clips (approved, rendered, the customer consented) of those
playlists, through :func:`audio_clip`; never a call's audio.

**Time counted from real playback.** The page's script (static/js/listen.js) reports the
seconds the audio element really played (``timeupdate``/``ended``), in small batches. Each
report is capped here (:func:`record_played`): at most what is left of the clip's duration in
that play, at most the wall time since the person's previous report (or since the page opened),
and at most :data:`MAX_BATCH_SECONDS`; what is left is stored as a :class:`Listen` of source
``own`` that *ends* at the report's time, so that the next report's wall-time cap reads it back.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import NotFound
from webapp.models import Clip, Kiosk, Label, LabelKind, Listen, ListenSource, Playlist, Tenant, User
from webapp.services import playlists

#: The most one report may credit (the script reports every 10 s of playback, and on pause and end).
MAX_BATCH_SECONDS = 30.0


# --- quarters, in the company's time zone -----------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  #: 1..4

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Quarter | None:
        """``2026-Q3`` (as :meth:`key` writes it), or None."""
        try:
            year, q = text.upper().split("-Q")
            quarter = cls(int(year), int(q))
        except ValueError:
            return None
        return quarter if 1 <= quarter.number <= 4 and 2000 <= quarter.year <= 2100 else None

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    @property
    def last_month(self) -> int:
        return 3 * self.number

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The quarter's start and end (midnight in ``zone``), in UTC."""
        def utc(day: date) -> datetime:
            return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        return utc(self.first_day), utc(self.next.first_day)


def zone_of(tenant: Tenant) -> ZoneInfo:
    """The company's time zone (Europe/Paris if it names none that exists)."""
    try:
        return ZoneInfo(tenant.timezone or "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


def current_quarter(tenant: Tenant, now: datetime | None = None) -> Quarter:
    """The quarter ``now`` (default: now) falls in, in the company's time zone."""
    moment = (now or utcnow()).astimezone(zone_of(tenant))
    return Quarter.of(moment.date())


# --- what a person may play ------------------------------------------------------------------


def screen_playlists(session: Session) -> list[Playlist]:
    """The playlists the company's screens play, the most played first (then by name)."""
    screens = func.count(Kiosk.id)
    rows = session.execute(select(Playlist, screens).join(Kiosk, Kiosk.playlist_id == Playlist.id)
                           .where(Kiosk.revoked_at.is_(None)).group_by(Playlist.id)
                           .order_by(screens.desc(), Playlist.name))
    return [playlist for playlist, _count in rows]


def chosen_playlist(session: Session, wanted: str | int | None = None) -> Playlist | None:
    """The playlist asked for if a screen plays it, else the company's current one; None if no screen plays any."""
    offered = screen_playlists(session)
    for playlist in offered:
        if str(playlist.id) == str(wanted):
            return playlist
    return offered[0] if offered else None


def _reachable(session: Session) -> dict[int, Clip]:
    return {clip.id: clip for playlist in screen_playlists(session) for clip in playlists.playable(playlist)}


def audio_clip(session: Session, clip_id: int, sha256: str) -> Clip:
    """A clip's audio for a person: only a playable clip of a playlist a screen plays, else NotFound."""
    clip = _reachable(session).get(clip_id)
    if clip is None or clip.audio_sha256 != sha256:
        raise NotFound()
    return clip


def audio_url(clip: Clip) -> str:
    return f"/room/clips/{clip.id}/audio/{clip.audio_sha256}"


def tracks(session: Session, playlist: Playlist, locale: str) -> list[dict[str, Any]]:
    """What the page plays, in play order: no customer's name, number or reference (as the kiosk's manifest)."""
    topics = {label.key: label.label(locale)
              for label in session.scalars(select(Label).where(Label.kind == LabelKind.TOPIC))}
    return [{"id": c.id, "title": c.title, "sentiment": str(c.sentiment), "topic": topics.get(c.topic, ""),
             "product": c.call.product, "duration": round(c.duration_s, 2), "audio": audio_url(c),
             "captions": c.captions} for c in playlists.playable(playlist)]


# --- time really heard -----------------------------------------------------------------------


def open_page(state: MutableMapping[str, Any], now: datetime | None = None) -> None:
    """The listening page was opened: reports may count wall time from now on (``state``: the person's session)."""
    state["listen_since"] = (now or utcnow()).isoformat()


def _since(state: MutableMapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(state["listen_since"]))
    except (KeyError, ValueError):
        return None


def record_played(session: Session, user: User, state: MutableMapping[str, Any], *, clip_id: int, seconds: float,
                  play: str, now: datetime | None = None) -> float:
    """Credit ``seconds`` of ``clip_id`` played by ``user`` in play ``play``, capped; the seconds stored (maybe 0).

    ``state`` is the person's session, where :func:`open_page` noted when the page opened and
    where the current play's credited seconds are kept. Raises NotFound for a clip the person
    may not play.
    """
    now = now or utcnow()
    clip = _reachable(session).get(clip_id)
    if clip is None:
        raise NotFound()
    since = _since(state)
    if since is None or not math.isfinite(seconds) or seconds <= 0:
        return 0.0
    last = session.execute(select(Listen.at, Listen.seconds)
                           .where(Listen.user_id == user.id, Listen.source == ListenSource.OWN)
                           .order_by(Listen.at.desc(), Listen.id.desc()).limit(1)).first()
    if last is not None:
        since = max(since, last.at + timedelta(seconds=last.seconds))
    current = state.get("listen_play")
    counted = float(current["counted"]) if isinstance(current, dict) and current.get("id") == play \
        and current.get("clip") == clip_id else 0.0
    credit = min(seconds, MAX_BATCH_SECONDS, max(0.0, (now - since).total_seconds()),
                 max(0.0, clip.duration_s - counted))
    credit = round(credit, 2)
    if credit <= 0:
        return 0.0
    state["listen_play"] = {"id": play[:40], "clip": clip_id, "counted": counted + credit}
    session.add(Listen(user_id=user.id, source=ListenSource.OWN, clip_id=clip_id,
                       at=now - timedelta(seconds=credit), seconds=credit))
    session.flush()
    return credit


def seconds_in(session: Session, user: User, quarter: Quarter) -> float:
    """What ``user`` heard in ``quarter``, from every source (own listening, workshops, room check-ins)."""
    tenant = session.get(Tenant, user.tenant_id)
    assert tenant is not None
    start, end = quarter.bounds(zone_of(tenant))
    total = session.scalar(select(func.coalesce(func.sum(Listen.seconds), 0.0))
                           .where(Listen.user_id == user.id, Listen.at >= start, Listen.at < end))
    return float(total or 0.0)
