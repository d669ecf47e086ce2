"""Writing to the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import AuditEvent, User


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
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor), selectinload(AuditEvent.kiosk))
    if view == "people":
        stmt = stmt.where(AuditEvent.action != PLAYED)
    elif view == "plays":
        stmt = stmt.where(AuditEvent.action == PLAYED)
    return list(session.scalars(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))
