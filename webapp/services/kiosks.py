"""The customer room's kiosks: pairing by code, what a kiosk may read, heartbeats and plays.

Pairing: a screen that opens ``/kiosk/`` asks for a code (:func:`start_pairing`) and keeps a
secret; a tenant admin types the code (:func:`pair`), naming the room and its playlist; the
screen, polling with its secret, collects its device token once (:func:`collect`). Only hashes
of the secret and the token are stored.

A kiosk's token opens its own playlist's manifest and those clips' audio, nothing else of its
tenant (principals.authenticate_kiosk binds the request to the tenant; this module narrows it).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp import tenancy
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _, _l, force_locale
from webapp.models import AuditEvent, Clip, Kiosk, KioskPairing, Label, LabelKind, Playlist, Tenant, User
from webapp.services import audit, cards, look, playlists, proof_of_play

#: No 0/O, 1/I/L: read from across a room and typed by a person.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PAIRING_TTL = timedelta(minutes=10)
#: How often a kiosk asks for its manifest and says it is alive (seconds).
POLL_SECONDS = 30
HEARTBEAT_SECONDS = 30
#: A kiosk not heard of for this long is shown offline (three missed heartbeats).
ONLINE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
#: Live, unused codes one address may hold (a screen needs one; a room of screens behind one router, a few).
MAX_PENDING = 30
#: Plays one heartbeat may carry; more are dropped and counted. The manifest tells the screen,
#: which sends its backlog in batches of this size, one per heartbeat.
MAX_PLAYS_PER_HEARTBEAT = 50
#: Clocks disagree a little, and a clip withdrawn while playing ends after the manifest changed.
CLOCK_SKEW = timedelta(minutes=5)


class TooManyPairings(UserError):
    status = 429
    code = "too_many_pairings"

    def __init__(self) -> None:
        super().__init__(_l("Too many pairing codes were asked for from this network. Wait 10 minutes, "
                            "or pair the screens already showing a code."))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(typed: str) -> str:
    """The code as stored: upper case, without the dash or spaces people type."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def show_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class NewPairing:
    code: str
    secret: str
    expires_in: int


def start_pairing(session: Session, requested_by: str = "") -> NewPairing:
    """A fresh code for an unpaired screen (and its secret); stale codes are swept at the same time.

    ``requested_by`` (a hash of the client's address) may hold :data:`MAX_PENDING` live codes at
    once — a screen needs one; this keeps an anonymous caller from filling the table.
    """
    now = utcnow()
    session.execute(delete(KioskPairing).where(KioskPairing.expires_at < now - timedelta(days=1)))
    live = session.scalar(select(func.count()).select_from(KioskPairing).where(
        KioskPairing.requested_by == requested_by, KioskPairing.expires_at > now, KioskPairing.tenant_id.is_(None)))
    if requested_by and (live or 0) >= MAX_PENDING:
        raise TooManyPairings()
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(KioskPairing.id).where(KioskPairing.code == code)) is None:
            break
    secret = secrets.token_urlsafe(32)
    session.add(KioskPairing(code=code, secret_hash=_hash(secret), expires_at=now + PAIRING_TTL,
                             requested_by=requested_by))
    session.flush()
    return NewPairing(code=code, secret=secret, expires_in=int(PAIRING_TTL.total_seconds()))


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise UserError(_("Name the room this screen is in."), "kiosk_name")
    if len(name) > 120:
        raise UserError(_("The name is too long: 120 characters at most."), "kiosk_name")
    return name


def _playlist(session: Session, playlist_id: str | int | None) -> Playlist | None:
    if playlist_id in (None, ""):
        return None
    try:
        playlist = session.get(Playlist, int(playlist_id))
    except ValueError:
        playlist = None
    if playlist is None:
        raise UserError(_("Choose one of your playlists."), "kiosk_playlist")
    return playlist


def pair(session: Session, actor: User, *, code: str, name: str, playlist_id: str | int | None) -> Kiosk:
    """A tenant admin typed the code a screen shows: that screen becomes a kiosk of their company.

    An unknown, expired or already used code gets the same message (nothing to learn by guessing).
    """
    name = _clean_name(name)
    playlist = _playlist(session, playlist_id)
    pairing = session.scalar(select(KioskPairing).where(KioskPairing.code == normalise_code(code))
                             .with_for_update())
    if pairing is None or pairing.expires_at < utcnow() or pairing.tenant_id is not None:
        raise UserError(_("This code is not valid. Check it on the screen: a code lasts 10 minutes, "
                          "and the screen shows a new one after that."), "pairing_code")
    kiosk = Kiosk(name=name, playlist=playlist, created_by_id=actor.id)
    session.add(kiosk)
    session.flush()
    pairing.tenant_id, pairing.kiosk_id = kiosk.tenant_id, kiosk.id
    audit.record(session, tenant_id=kiosk.tenant_id, actor=actor, action="kiosk.paired", target=f"kiosk:{kiosk.id}",
                 name=name, playlist=playlist.id if playlist else None)
    return kiosk


@dataclass(frozen=True)
class PairingState:
    """What a screen's secret stands for: not known/expired, waiting for an admin, or paired."""

    status: str  #: "expired", "pending" or "paired"
    tenant_id: int | None = None
    kiosk_id: int | None = None
    pairing_id: int | None = None


def pairing_state(secret: str) -> PairingState:
    """Look the screen's secret up (a short transaction of its own, before the request is bound)."""
    with tenancy.tenant_session(None) as session:
        pairing = session.scalar(select(KioskPairing).where(KioskPairing.secret_hash == _hash(secret or "")))
        if pairing is None or pairing.expires_at < utcnow():
            return PairingState("expired")
        if pairing.tenant_id is None or pairing.kiosk_id is None:
            return PairingState("pending")
        return PairingState("paired", pairing.tenant_id, pairing.kiosk_id, pairing.id)


def collect(session: Session, state: PairingState) -> tuple[Kiosk, str]:
    """Hand the paired screen its device token (``session`` is bound to the kiosk's tenant).

    Asked again while the code is valid (the first answer may have been lost on the way), a new
    token replaces the previous one, which stops working.
    """
    kiosk = session.get(Kiosk, state.kiosk_id)
    if kiosk is None or kiosk.is_revoked:
        raise NotFound()
    token = f"{tenancy.KIOSK_TOKEN_PREFIX}{kiosk.tenant_id}_{secrets.token_urlsafe(32)}"
    kiosk.token_hash = tenancy.api_token_hash(token)
    pairing = session.get(KioskPairing, state.pairing_id)
    if pairing is not None:
        pairing.collected_at = utcnow()
    return kiosk, token


# --- what a kiosk reads ------------------------------------------------------------------


def _topic_labels(session: Session, locale: str) -> dict[str, str]:
    return {label.key: label.label(locale)
            for label in session.scalars(select(Label).where(Label.kind == LabelKind.TOPIC))}


def _playlist_of(session: Session, kiosk: Kiosk) -> Playlist | None:
    return playlists.get_playlist(session, kiosk.playlist_id) if kiosk.playlist_id is not None else None


def media_url(clip: Clip) -> str:
    """Where a kiosk fetches a clip's audio: the name holds the content hash, so it never changes."""
    return f"/kiosk/media/{clip.id}-{clip.audio_sha256}.webm"


#: How long a process reuses a kiosk's manifest (seconds). Kiosks poll every POLL_SECONDS, so a
#: change reaches a screen within POLL_SECONDS + this (under the minute promised); a revoked
#: token is refused at once all the same (the token is looked up on every request).
MANIFEST_CACHE_SECONDS = 10.0
_manifests: dict[tuple[int, int, str, str, int | None, str], tuple[float, dict[str, Any], str]] = {}


def cached_manifest(session: Session, kiosk: Kiosk) -> tuple[dict[str, Any], str]:
    """:func:`manifest`, reused for :data:`MANIFEST_CACHE_SECONDS` by this process.

    Building it reads the playlist, its clips and calls, and the taxonomy: most polls are
    answered "not modified", and they need only its version.
    """
    key = (kiosk.tenant_id, kiosk.id, kiosk.token_hash, kiosk.name, kiosk.playlist_id,
           json.dumps(kiosk.schedule or {}, sort_keys=True))  # (the look reaches screens within the cache's 10 s)
    now = time.monotonic()
    hit = _manifests.get(key)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    body, version = manifest(session, kiosk)
    if MANIFEST_CACHE_SECONDS > 0:
        if len(_manifests) > 10_000:  # revoked and renamed kiosks leave keys behind
            _manifests.clear()
        _manifests[key] = (now + MANIFEST_CACHE_SECONDS, body, version)
    return body, version


def manifest(session: Session, kiosk: Kiosk) -> tuple[dict[str, Any], str]:
    """What the kiosk plays, in play order, and a version that changes whenever any of it does.

    In the company's language (the room's, not a browser's). Never the customer's name, number
    or reference: title, sentiment, topic, product, and captions in which the render job masked
    personal data.
    """
    tenant = session.get(Tenant, kiosk.tenant_id)
    locale = tenant.default_locale if tenant is not None else "fr"
    playlist = _playlist_of(session, kiosk)
    clips = playlists.playable(playlist) if playlist is not None else []
    topics = _topic_labels(session, locale) if clips else {}
    with force_locale(locale):
        labels = {"satisfied": _("Satisfied customer"), "unhappy": _("Unhappy customer")}
    body: dict[str, Any] = {
        "kiosk": {"id": kiosk.id, "name": kiosk.name},
        "locale": locale,
        "playlist": ({"id": playlist.id, "name": playlist.name, "mode": str(playlist.mode)}
                     if playlist is not None else None),
        "poll_seconds": POLL_SECONDS,
        "heartbeat_seconds": HEARTBEAT_SECONDS,
        "plays_per_heartbeat": MAX_PLAYS_PER_HEARTBEAT,
        # When the screen plays (issue #16, item 8): it applies this itself, offline too.
        "schedule": kiosk.schedule or {},
        "timezone": tenant.timezone if tenant is not None and tenant.timezone else "Europe/Paris",
        "look": look.kiosk_look(tenant),  # the company's logo and accent colour
        "clips": [{"id": c.id, "title": c.title, "sentiment": str(c.sentiment),
                   "sentiment_label": labels[str(c.sentiment)], "topic": topics.get(c.topic, ""),
                   "product": c.call.product, "duration": round(c.duration_s, 2), "audio": media_url(c),
                   "captions": c.captions, "qr": react_qr_url(c)} for c in clips],
        "check_in_qr": CHECK_IN_QR_URL,  # the room's check-in (issue #16, item 3)
        # Written complaints' cards, each after the voice it follows (issue #16, item 7).
        "cards": cards.room_cards(playlist, clips) if playlist is not None else [],
    }
    version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    body["version"] = version  # also when there is no playlist: "nothing to play" is a version too
    if body["playlist"] is not None:
        body["playlist"]["version"] = version
    return body, version


def react_qr_url(clip: Clip) -> str:
    """Where the kiosk gets the QR code shown beside ``clip`` (issue #16, item 3)."""
    return f"/kiosk/qr/react-{clip.id}.svg"


CHECK_IN_QR_URL = "/kiosk/qr/check-in.svg"


def react_target(base: str, clip_id: int, kiosk_id: int) -> str:
    """What a phone opens from a clip's QR code: the reaction page for that clip beside that screen."""
    return f"{base}/react/{clip_id}?screen={kiosk_id}"


def check_in_target(base: str, kiosk_id: int) -> str:
    """What a phone opens from the room's check-in QR code."""
    return f"{base}/room/check-in?screen={kiosk_id}"


def qr_svg(target: str) -> bytes:
    """A QR code of ``target`` as a whole SVG document (loaded by the kiosk as an image)."""
    svg = io.BytesIO()
    segno.make(target, error="m").save(svg, kind="svg", scale=8, border=2, dark="#000", light="#fff")
    return svg.getvalue()


def playable_clip(session: Session, kiosk: Kiosk, clip_id: int) -> Clip:
    """A clip of the kiosk's own playlist that plays now; NotFound for any other."""
    playlist = _playlist_of(session, kiosk)
    for clip in playlists.playable(playlist) if playlist is not None else []:
        if clip.id == clip_id:
            return clip
    raise NotFound()


def media(session: Session, kiosk: Kiosk, clip_id: int, sha256: str) -> Clip:
    """A clip's audio for this kiosk: only a playable clip of its own playlist, else NotFound."""
    playlist = _playlist_of(session, kiosk)
    if playlist is None:
        raise NotFound()
    for clip in playlists.playable(playlist):
        if clip.id == clip_id and clip.audio_sha256 == sha256:
            return clip
    raise NotFound()


def record_served(session: Session, kiosk_id: int, version: str, clip_ids: list[int], *,
                  offline_window: timedelta) -> None:
    """Note which clips a kiosk was served with manifest ``version``: the only ones it may report plays of.

    Called when a kiosk is served a version other than the one last noted. A clip keeps the
    time it was first served (no play can be older) and, once a manifest without it is served,
    the time it left (no play can be much newer): a screen offline since still plays it, and
    its plays count. Clips that left more than the offline window ago are forgotten.
    ``session`` is a short transaction of its own (a kiosk's poll otherwise only reads).
    """
    kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
    if kiosk is None or kiosk.served_version == version:
        return
    now = utcnow()
    stamp = now.isoformat()
    served: dict[str, Any] = {}
    current = {str(i) for i in clip_ids}
    for key, entry in (kiosk.served_clips or {}).items():
        if not isinstance(entry, dict):
            continue
        if key in current:
            served[key] = {"from": entry.get("from") or stamp, "until": None}
        else:
            until = entry.get("until") or stamp
            served[key] = {"from": entry.get("from") or stamp, "until": until}
    for key in current - served.keys():
        served[key] = {"from": stamp, "until": None}
    kiosk.served_clips = _forget_old(served, now - offline_window)
    kiosk.served_version = version


def _forget_old(served: dict[str, Any], oldest: datetime) -> dict[str, Any]:
    """The served clips a play may still be reported of: those not gone for longer than the offline window."""
    kept = {}
    for key, entry in served.items():
        until = _parse(entry.get("until")) if isinstance(entry, dict) else oldest
        if isinstance(entry, dict) and (entry.get("until") is None or (until is not None and until >= oldest)):
            kept[key] = entry
    return kept


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


@dataclass(frozen=True)
class HeartbeatResult:
    """What became of the plays a heartbeat reported (the answer tells the kiosk)."""

    accepted: int = 0
    dropped: int = 0


def _is_plausible(play: object, served: dict[str, Any], oldest: datetime, now: datetime) -> tuple[int, datetime] | None:
    """The clip id and time of a play this kiosk could have made, or None: a forged or garbled one."""
    if not isinstance(play, dict) or type(play.get("clip_id")) is not int:
        return None
    at = _parse(play.get("at"))
    entry = served.get(str(play["clip_id"]))
    if at is None or not isinstance(entry, dict):
        return None
    first = _parse(entry.get("from"))
    until = _parse(entry.get("until")) if entry.get("until") else now
    if first is None or until is None:
        return None
    # Played after it reached the screen, before it left (or now), and within the offline window.
    if not (max(first - CLOCK_SKEW, oldest) <= at <= min(until, now) + CLOCK_SKEW):
        return None
    return play["clip_id"], at


def heartbeat(session: Session, kiosk: Kiosk, report: dict[str, Any], *, offline_window: timedelta,
              max_per_minute: int) -> HeartbeatResult:
    """Record that the kiosk is alive, what it plays, and the plays it made since (into the audit log and
    the proof-of-play tallies, webapp/services/proof_of_play.py).

    Plays made offline arrive later with their own time. A play is journalled only when it is
    of a clip this kiosk was served (:func:`record_served`), timed between the clip reaching the
    screen (less a little clock skew) and its leaving, and no earlier than ``offline_window`` ago;
    at most :data:`MAX_PLAYS_PER_HEARTBEAT` per heartbeat and ``max_per_minute`` per minute. The
    others are dropped and counted, in the answer and on the kiosk's row (``plays_dropped``).
    A forged heartbeat can thus add only plausible plays, and only so many (issue #13, item 6).
    """
    now = utcnow()
    session.refresh(kiosk, with_for_update=True)  # concurrent heartbeats count against one budget
    clip_id = report.get("clip_id")
    kiosk.last_seen_at = now
    kiosk.current_clip_id = clip_id if isinstance(clip_id, int) and not isinstance(clip_id, bool) else None
    kiosk.playlist_version = str(report.get("version") or "")[:40]
    state = report.get("state")
    kiosk.state = state if state in {"playing", "waiting", "touch", "empty", "idle"} else ""
    plays = report.get("plays")
    if not isinstance(plays, list) or not plays:
        return HeartbeatResult()
    oldest = now - offline_window
    served = _forget_old(dict(kiosk.served_clips or {}), oldest)
    if served != kiosk.served_clips:
        kiosk.served_clips = served
    dropped = max(0, len(plays) - MAX_PLAYS_PER_HEARTBEAT)
    candidates = []
    for play in plays[:MAX_PLAYS_PER_HEARTBEAT]:
        found = _is_plausible(play, served, oldest, now)
        if found is None:
            dropped += 1
        else:
            candidates.append(found)
    if kiosk.plays_minute_at is None or now - kiosk.plays_minute_at >= timedelta(minutes=1):
        kiosk.plays_minute_at, kiosk.plays_minute_count = now, 0
    budget = max(0, max_per_minute - kiosk.plays_minute_count)
    dropped += max(0, len(candidates) - budget)
    candidates = candidates[:budget]
    # Through the guarded Session: a clip id of another tenant is simply not found.
    known = ({c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_({i for i, _at in candidates})))}
             if candidates else {})
    counted: list[tuple[int, datetime]] = []
    for clip_id_played, at in candidates:
        clip = known.get(clip_id_played)
        if clip is None:  # erased since
            dropped += 1
            continue
        audit.record_play(session, tenant_id=kiosk.tenant_id, kiosk_id=kiosk.id, clip_id=clip.id, title=clip.title,
                          at=at)
        counted.append((clip.id, at))
    proof_of_play.count_plays(session, kiosk, counted)  # the proof-of-play report's tallies
    accepted = len(counted)
    kiosk.plays_minute_count += accepted
    kiosk.plays_dropped += dropped
    return HeartbeatResult(accepted=accepted, dropped=dropped)


# --- the tenant admin's side -------------------------------------------------------------


@dataclass(frozen=True)
class KioskStatus:
    kiosk: Kiosk
    is_online: bool
    current_clip: Clip | None
    #: Whether the kiosk runs the playlist as it is now (None when it never reported).
    is_up_to_date: bool | None
    #: The caption line the screen is showing about now ("" when none, or not playing).
    caption: str = ""


def _caption_now(session: Session, kiosk: Kiosk, clip: Clip, now: datetime) -> str:
    """The caption line ``kiosk`` shows about now: the clip's line at the time elapsed since the
    screen reported starting it (its play, journalled), else its first line (a resumed clip is not a play)."""
    lines = sorted((c for c in clip.captions or [] if isinstance(c, dict)), key=lambda c: float(c.get("start", 0)))
    if not lines or kiosk.state not in ("playing", ""):
        return ""
    started = session.scalar(select(func.max(AuditEvent.at)).where(
        AuditEvent.at >= now - timedelta(seconds=clip.duration_s + 2 * HEARTBEAT_SECONDS),
        AuditEvent.action == audit.PLAYED, AuditEvent.kiosk_id == kiosk.id, AuditEvent.target == f"clip:{clip.id}"))
    elapsed = (now - started).total_seconds() if started is not None else 0.0
    said = [str(c.get("text", "")) for c in lines if float(c.get("start", 0)) <= elapsed]
    return said[-1] if said else str(lines[0].get("text", ""))


def list_kiosks(session: Session) -> list[KioskStatus]:
    """Every kiosk of the tenant, newest first, with whether it is online and up to date."""
    now = utcnow()
    kiosks = list(session.scalars(select(Kiosk).order_by(Kiosk.revoked_at.is_not(None), Kiosk.created_at.desc())))
    clip_ids = {k.current_clip_id for k in kiosks if k.current_clip_id is not None}
    clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(clip_ids)))} if clip_ids else {}
    statuses = []
    for kiosk in kiosks:
        online = (not kiosk.is_revoked and kiosk.last_seen_at is not None
                  and now - kiosk.last_seen_at <= ONLINE_WITHIN)
        current = manifest(session, kiosk)[1] if kiosk.last_seen_at and not kiosk.is_revoked else None
        clip = clips.get(kiosk.current_clip_id or 0)
        caption = _caption_now(session, kiosk, clip, now) if online and clip is not None else ""
        statuses.append(KioskStatus(kiosk, online, clip, None if current is None else kiosk.playlist_version == current,
                                    caption))
    return statuses


def get_kiosk(session: Session, kiosk_id: int) -> Kiosk:
    kiosk = session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound()
    return kiosk


def update_kiosk(session: Session, actor: User, kiosk: Kiosk, *, name: str, playlist_id: str | int | None) -> None:
    """Rename the room or change its playlist: the kiosk picks it up at its next poll."""
    kiosk.name, kiosk.playlist = _clean_name(name), _playlist(session, playlist_id)
    audit.record(session, tenant_id=kiosk.tenant_id, actor=actor, action="kiosk.edited", target=f"kiosk:{kiosk.id}",
                 playlist=kiosk.playlist.id if kiosk.playlist else None)


# --- the weekly schedule (issue #16, item 8) --------------------------------------------------

#: The days of a schedule, as stored and as the kiosk reads them (mon..sun).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"), "thu": _l("Thursday"),
             "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday")}
#: "9", "9h", "9:30", "09h30", "24:00": a time as people type it.
_TIME = re.compile(r"^(\d{1,2})(?:[:hH.](\d{2})?)?$")
_DASH = re.compile(r"\s*(?:-|–|—|à|to)\s*")
MAX_RANGES_PER_DAY = 6


def _minutes(typed: str) -> int | None:
    found = _TIME.match(typed.strip())
    if found is None:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2) or 0)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_day(day: str, typed: str) -> list[list[str]]:
    """One day's opening hours as typed ("09:00-12:00, 14:00-18:00", "9h-18h"), as stored: sorted
    ``[start, end)`` pairs of "HH:MM". UserError naming the day for anything else."""
    name = DAY_NAMES[day]
    ranges: list[tuple[int, int]] = []
    for part in (p for p in re.split(r"[,;]", typed) if p.strip()):
        bounds = _DASH.split(part.strip())
        times = [_minutes(b) for b in bounds] if len(bounds) == 2 else [None]
        start, end = (times[0], times[1]) if len(times) == 2 else (None, None)
        if start is None or end is None:
            raise UserError(_("%(day)s: write each period as a start and an end, e.g. 09:00-18:00, and separate "
                              "periods with commas.", day=name), "schedule")
        if end <= start:
            raise UserError(_("%(day)s: a period must end after it starts (%(period)s). For a night, end the "
                              "first day at 24:00 and start the next at 00:00.", day=name, period=part.strip()),
                            "schedule")
        ranges.append((start, end))
    ranges.sort()
    if len(ranges) > MAX_RANGES_PER_DAY:
        raise UserError(_("%(day)s: %(max)d periods at most.", day=name, max=MAX_RANGES_PER_DAY), "schedule")
    for (_s1, end1), (start2, _e2) in zip(ranges, ranges[1:], strict=False):
        if start2 < end1:
            raise UserError(_("%(day)s: two periods overlap. Merge them into one.", day=name), "schedule")
    return [[_clock(a), _clock(b)] for a, b in ranges]


def parse_schedule(typed: dict[str, str]) -> dict[str, list[list[str]]]:
    """The weekly schedule from the form's seven fields (``typed[day]``): every day empty means "always
    plays" (``{}``); otherwise the screen plays only in the periods given, and a day left empty is closed."""
    schedule = {day: parse_day(day, typed.get(day, "")) for day in DAYS}
    return {day: periods for day, periods in schedule.items() if periods}


def schedule_text(schedule: dict[str, Any] | None) -> dict[str, str]:
    """The schedule as the form shows it, one line per day ("09:00-12:00, 14:00-18:00")."""
    schedule = schedule or {}
    return {day: ", ".join(f"{a}-{b}" for a, b in schedule.get(day) or []) for day in DAYS}


def set_schedule(session: Session, actor: User, kiosk: Kiosk, typed: dict[str, str]) -> None:
    """Give the screen its weekly opening hours (company time zone); it applies them at its next poll,
    and offline too (the schedule travels in the manifest)."""
    kiosk.schedule = parse_schedule(typed)
    audit.record(session, tenant_id=kiosk.tenant_id, actor=actor, action="kiosk.scheduled",
                 target=f"kiosk:{kiosk.id}", schedule=kiosk.schedule)


def revoke(session: Session, actor: User, kiosk: Kiosk) -> None:
    """Cut a kiosk off at once: its token opens nothing from its next request on."""
    if kiosk.is_revoked:
        return
    kiosk.revoked_at, kiosk.token_hash = utcnow(), ""
    audit.record(session, tenant_id=kiosk.tenant_id, actor=actor, action="kiosk.revoked", target=f"kiosk:{kiosk.id}")
