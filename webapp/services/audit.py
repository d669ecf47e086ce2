"""Writing to the audit log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from webapp.db import utcnow
from webapp.models import (
    AlertRule,
    ApiToken,
    AuditEvent,
    Call,
    Clip,
    Complaint,
    Kiosk,
    Label,
    Playlist,
    Product,
    RegisterEntry,
    Tenant,
    User,
)


def record(session: Session, *, tenant_id: int, actor: User | None, action: str, target: str = "",
           **details: Any) -> AuditEvent:
    """Add one audit event; ``actor`` is None for the platform or an operator command."""
    actor_id = actor.id if actor is not None and actor.tenant_id == tenant_id else None
    if actor is not None and actor_id is None:
        details.setdefault("by", "platform")
    event = AuditEvent(tenant_id=tenant_id, actor_id=actor_id, action=action, target=target, details=details)
    session.add(event)
    return event


#: A person's listens to one call or clip within this long are one listen (issue #13: pausing and
#: playing again, or reopening the page, is not another listen).
LISTEN_WINDOW = timedelta(minutes=30)


def record_listen(session: Session, *, actor: User, action: str, target: str) -> bool:
    """Journal that ``actor`` started playing ``target`` (``call:12``), unless they already did in the
    last :data:`LISTEN_WINDOW`; returns whether a listen was recorded.

    Called when playback really starts (the page's script says so), never when the audio is merely
    downloaded: browsers preload it when a page opens.
    """
    recent_listen = session.scalar(
        select(AuditEvent.id).where(AuditEvent.actor_id == actor.id, AuditEvent.action == action,
                                    AuditEvent.target == target, AuditEvent.at > utcnow() - LISTEN_WINDOW).limit(1))
    if recent_listen is not None:
        return False
    record(session, tenant_id=actor.tenant_id, actor=actor, action=action, target=target)
    return True


def record_play(session: Session, *, tenant_id: int, kiosk_id: int, clip_id: int, title: str,
                at: datetime) -> AuditEvent:
    """A kiosk played a clip in the customer room, at ``at`` (possibly while it was offline)."""
    event = AuditEvent(tenant_id=tenant_id, kiosk_id=kiosk_id, action=PLAYED, target=f"clip:{clip_id}",
                       details={"title": title}, at=at)
    session.add(event)
    return event


#: The journal's views: everything, what people did, or what the room's screens played.
JOURNAL_VIEWS = ("all", "people", "plays")
PLAYED = "clip.played"


def recent(session: Session, limit: int = 200, view: str = "all") -> list[AuditEvent]:
    """The tenant's latest audit events, newest first, with their actors (one query).

    ``view`` "people" leaves out the room's plays (a screen plays thousands a day, which would
    hide people's actions), "plays" shows only them.
    """
    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor), selectinload(AuditEvent.kiosk))
    if view == "people":
        stmt = stmt.where(AuditEvent.action != PLAYED)
    elif view == "plays":
        stmt = stmt.where(AuditEvent.action == PLAYED)
    return list(session.scalars(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


@dataclass(frozen=True)
class JournalEntry:
    """One line of the journal: the event, and what it is about, by name rather than ``clip:4``."""

    event: AuditEvent
    #: The kind of thing acted on (``call``, ``clip``, ``user``…), "" when the target names none.
    kind: str
    target_id: int | None
    #: Its name today; "" when it has none to show (a complaint), None when it no longer exists (erased).
    name: str | None


def _target(target: str) -> tuple[str, int | None]:
    kind, _sep, raw_id = target.partition(":")
    return (kind, int(raw_id)) if raw_id.isdigit() else ("", None)


def _named(rows: Iterable[Any]) -> dict[int, str]:
    return {row[0]: str(row[1] or "") for row in rows}


#: For each kind of target, the names of the given ids in one query (through the tenant-bound Session).
_NAMERS: dict[str, Callable[[Session, set[int], str], dict[int, str]]] = {
    "user": lambda s, ids, _lc: {i: name or email for i, name, email in
                                 s.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))},
    "call": lambda s, ids, _lc: _named(s.execute(select(Call.id, Call.original_filename).where(Call.id.in_(ids)))),
    "complaint": lambda s, ids, _lc: {i: "" for i in s.scalars(select(Complaint.id).where(Complaint.id.in_(ids)))},
    "clip": lambda s, ids, _lc: _named(s.execute(select(Clip.id, Clip.title).where(Clip.id.in_(ids)))),
    "playlist": lambda s, ids, _lc: _named(s.execute(select(Playlist.id, Playlist.name).where(Playlist.id.in_(ids)))),
    "kiosk": lambda s, ids, _lc: _named(s.execute(select(Kiosk.id, Kiosk.name).where(Kiosk.id.in_(ids)))),
    "api_token": lambda s, ids, _lc: _named(s.execute(select(ApiToken.id, ApiToken.name)
                                                      .where(ApiToken.id.in_(ids)))),
    "label": lambda s, ids, locale: {label.id: label.label(locale) for label in
                                     s.scalars(select(Label).where(Label.id.in_(ids)))},
    "tenant": lambda s, ids, _lc: _named(s.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids)))),
    "register": lambda s, ids, _lc: _named(s.execute(select(RegisterEntry.id, RegisterEntry.reference)
                                                     .where(RegisterEntry.id.in_(ids)))),
    "product": lambda s, ids, _lc: _named(s.execute(select(Product.id, Product.name).where(Product.id.in_(ids)))),
    "alert_rule": lambda s, ids, _lc: _named(s.execute(select(AlertRule.id, AlertRule.name)
                                                       .where(AlertRule.id.in_(ids)))),
}


def journal(session: Session, *, locale: str, limit: int = 200, view: str = "all") -> list[JournalEntry]:
    """The latest events (see :func:`recent`), each with the name of what it is about.

    Names are read in one query per kind of target, whatever the number of events; an item that no
    longer exists (an erased call, a removed person) gets ``name=None``. ``locale`` picks a label's name.
    """
    events = recent(session, limit, view)
    targets = [_target(event.target) for event in events]
    wanted: dict[str, set[int]] = defaultdict(set)
    for kind, target_id in targets:
        if kind in _NAMERS and target_id is not None:
            wanted[kind].add(target_id)
    names = {kind: _NAMERS[kind](session, ids, locale) for kind, ids in wanted.items()}
    return [JournalEntry(event, kind if kind in _NAMERS else "", target_id,
                         names.get(kind, {}).get(target_id) if target_id is not None else None)
            for event, (kind, target_id) in zip(events, targets, strict=True)]
