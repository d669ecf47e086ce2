"""Erasure: a call, a complaint, everything about one customer, and what the retention period ends.

Customer voices are personal data. Erasing removes the rows at once, in the caller's
transaction: the call, its transcript, tags and clips, and their places in playlists; or the
complaint and its tags; and the queue's own jobs about them. A customer's erasure also empties what people
wrote about them in the complaint register, whose entries stay (webapp/services/register.py). It queues
``purge_media``, which deletes the objects in storage (the recording, its renditions, the clips' audio) once that
transaction has committed (worker/handlers/purge_media.py). The journal keeps that it happened,
by whom and why, with ids and counts only; the titles of erased clips are taken out of the
room's plays. Kiosks drop an erased clip, and its cached audio, at their next sync: the
manifest's version changes with its content.

Retention: each company keeps recordings and complaints ``Tenant.retention_days`` after the
day they were received. The worker queues ``apply_retention`` once a day for every company
(:func:`schedule_retention`); that job erases what has expired (:func:`apply_retention`).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from webapp import jobs, storage, tenancy
from webapp.db import utcnow
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import (
    AuditEvent,
    Call,
    Clip,
    Complaint,
    Playlist,
    PlaylistItem,
    Tag,
    TagOrigin,
    Tenant,
    Transcript,
    User,
)
from webapp.services import audit, register
from webapp.services.tags import RETRAIN_KIND
from webapp.services.validation import clean_int

PURGE_MEDIA = "purge_media"
APPLY_RETENTION = "apply_retention"
#: What one ``apply_retention`` transaction erases at most; the job goes on until nothing has expired.
RETENTION_BATCH = 100
#: What a tenant admin may choose (the platform admin's onboarding form allows the same).
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650


class Reason(enum.StrEnum):
    """Why something was erased (kept in the journal)."""

    CUSTOMER_REQUEST = "customer_request"  #: the customer asked (right to erasure)
    NOT_NEEDED = "not_needed"  #: recorded by mistake, or no longer needed
    RETENTION = "retention"  #: the company's retention period ended (the worker)


#: The reasons a person may give; retention is the machine's.
PERSON_REASONS = (Reason.CUSTOMER_REQUEST, Reason.NOT_NEEDED)


def _reason(value: str) -> Reason:
    if value not in {str(r) for r in PERSON_REASONS}:
        raise UserError(_("Say why it is erased: the customer asked, or it is not needed."), "erasure_reason")
    return Reason(value)


@dataclass(frozen=True)
class CallFootprint:
    """What erasing a call takes with it, for the confirmation page."""

    clips: int
    #: Of those clips, how many are in a playlist (they leave the room's screens).
    in_playlists: int


def call_footprint(session: Session, call: Call) -> CallFootprint:
    """Count the clips of ``call`` and those of them in a playlist."""
    clip_ids = select(Clip.id).where(Clip.call_id == call.id)
    clips = int(session.scalar(select(func.count()).select_from(clip_ids.subquery())) or 0)
    listed = int(session.scalar(select(func.count(func.distinct(PlaylistItem.clip_id)))
                                .where(PlaylistItem.clip_id.in_(clip_ids))) or 0)
    return CallFootprint(clips=clips, in_playlists=listed)


def _media_keys(call: Call, clip_keys: list[str]) -> list[str]:
    """Every object a call may have in storage: the upload, its renditions, its clips' audio."""
    renditions = storage.rendition_keys(call.tenant_id, call.id, call.sha256)
    return [call.storage_key, *renditions.all(), *renditions.asr_channels, *sorted(set(clip_keys))]


def _has_human_tags(session: Session, **target: int) -> bool:
    column = Tag.call_id if "call_id" in target else Tag.complaint_id
    found = session.scalar(select(Tag.id).where(column == next(iter(target.values())),
                                                Tag.origin == TagOrigin.HUMAN).limit(1))
    return found is not None


def _forget_taught(session: Session) -> None:
    """The company's own tagger learnt from people's corrections: fit it again without the erased text."""
    # A key of its own: a retraining already done this minute would not see the erasure.
    jobs.enqueue(session, kind=RETRAIN_KIND, idempotency_key=f"retrain:erasure:{secrets.token_hex(8)}",
                 payload={}, priority=jobs.PRIORITY_BULK)


def _erase_call_rows(session: Session, call: Call) -> tuple[int, list[str]]:
    """Delete ``call`` and everything made from it; (clips erased, storage keys to purge)."""
    clip_rows = list(session.execute(select(Clip.id, Clip.audio_key).where(Clip.call_id == call.id)))
    clip_ids = [row.id for row in clip_rows]
    keys = _media_keys(call, [row.audio_key for row in clip_rows if row.audio_key])
    if clip_ids:
        listed = select(PlaylistItem.playlist_id).where(PlaylistItem.clip_id.in_(clip_ids))
        session.execute(update(Playlist).where(Playlist.id.in_(listed)).values(updated_at=utcnow())
                        .execution_options(synchronize_session=False))
        session.execute(delete(PlaylistItem).where(PlaylistItem.clip_id.in_(clip_ids))
                        .execution_options(synchronize_session=False))
        # A clip's title is a person's words about a customer: the journal keeps that the room played it.
        session.execute(update(AuditEvent).where(AuditEvent.action == audit.PLAYED,
                                                 AuditEvent.target.in_([f"clip:{i}" for i in clip_ids]))
                        .values(details={"erased": True}).execution_options(synchronize_session=False))
        session.execute(delete(Clip).where(Clip.id.in_(clip_ids)).execution_options(synchronize_session=False))
        jobs.forget(session, kind="render_clip", field="clip_id", ids=clip_ids)
    session.execute(delete(Tag).where(Tag.call_id == call.id).execution_options(synchronize_session=False))
    session.execute(delete(Transcript).where(Transcript.call_id == call.id)
                    .execution_options(synchronize_session=False))
    jobs.forget(session, kind="process_call", field="call_id", ids=[call.id])
    register.forget_item(session, call=call)
    session.delete(call)
    session.flush()
    return len(clip_ids), keys


def _purge_later(session: Session, keys: list[str]) -> None:
    # The key is random: on SQLite an id can come back after the row with the highest one is deleted.
    jobs.enqueue(session, kind=PURGE_MEDIA, idempotency_key=f"purge:{secrets.token_hex(12)}",
                 payload={"keys": keys})


def erase_call(session: Session, actor: User | None, call: Call, reason: str) -> int:
    """Erase ``call`` (its recording, transcript, tags and clips) and queue the deletion of its files.

    ``reason`` is one of :data:`PERSON_REASONS` for a person (``actor``), ``retention`` for the
    worker (``actor`` None). Returns how many clips were erased with it. UserError for a missing
    reason. Flushes; the caller commits.
    """
    why = _reason(reason) if actor is not None else Reason(reason)
    call_id, retrain = call.id, _has_human_tags(session, call_id=call.id)
    clips, keys = _erase_call_rows(session, call)
    audit.record(session, tenant_id=call.tenant_id, actor=actor, action="call.erased", target=f"call:{call_id}",
                 reason=str(why), clips=clips)
    _purge_later(session, keys)
    if retrain:
        _forget_taught(session)
    return clips


def erase_complaint(session: Session, actor: User | None, complaint: Complaint, reason: str) -> None:
    """Erase a written complaint and its tags (same rules as :func:`erase_call`; nothing in storage)."""
    why = _reason(reason) if actor is not None else Reason(reason)
    complaint_id, retrain = complaint.id, _has_human_tags(session, complaint_id=complaint.id)
    session.execute(delete(Tag).where(Tag.complaint_id == complaint_id).execution_options(synchronize_session=False))
    jobs.forget(session, kind="tag_complaint", field="complaint_id", ids=[complaint_id])
    register.forget_item(session, complaint=complaint)
    session.delete(complaint)
    session.flush()
    audit.record(session, tenant_id=complaint.tenant_id, actor=actor, action="complaint.erased",
                 target=f"complaint:{complaint_id}", reason=str(why))
    if retrain:
        _forget_taught(session)


# --- one customer ------------------------------------------------------------------------


def _clean_ref(customer_ref: str) -> str:
    ref = " ".join(customer_ref.split())
    if not ref:
        raise UserError(_("Type the customer's reference, as your CRM or telephony gives it."), "customer_ref")
    return ref[:120]


@dataclass(frozen=True)
class CustomerFootprint:
    customer_ref: str
    calls: int
    complaints: int
    clips: int
    #: Complaint register entries that name the customer (webapp/services/register.py ``entries_naming``).
    entries: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.calls or self.complaints or self.entries)


def customer_footprint(session: Session, customer_ref: str) -> CustomerFootprint:
    """What the company holds about the customer with this reference (exact match): counts only."""
    ref = _clean_ref(customer_ref)
    calls = select(Call.id).where(Call.customer_ref == ref)
    return CustomerFootprint(
        customer_ref=ref,
        calls=int(session.scalar(select(func.count()).select_from(calls.subquery())) or 0),
        complaints=int(session.scalar(select(func.count()).select_from(Complaint)
                                      .where(Complaint.customer_ref == ref)) or 0),
        clips=int(session.scalar(select(func.count()).select_from(Clip).where(Clip.call_id.in_(calls))) or 0),
        entries=len(register.entries_naming(session, ref)))


def erase_customer(session: Session, actor: User, customer_ref: str) -> CustomerFootprint:
    """Erase every call and complaint of the customer with this reference (the right to erasure), and what
    people wrote about them in the complaint register (the entries stay, as the company's record of complaints
    handled: ``register.forget_customer``).

    Returns what was erased. The journal records the counts, never the reference itself.
    """
    found = customer_footprint(session, customer_ref)
    # Found before the calls and complaints go: their links say which entries are about the customer.
    entries = register.entries_naming(session, found.customer_ref)
    for call in list(session.scalars(select(Call).where(Call.customer_ref == found.customer_ref))):
        erase_call(session, actor, call, Reason.CUSTOMER_REQUEST)
    for complaint in list(session.scalars(select(Complaint).where(Complaint.customer_ref == found.customer_ref))):
        erase_complaint(session, actor, complaint, Reason.CUSTOMER_REQUEST)
    for entry in entries:
        register.forget_customer(session, entry, register.Actor(actor))
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="customer.erased",
                 calls=found.calls, complaints=found.complaints, clips=found.clips, entries=found.entries)
    return found


# --- retention ---------------------------------------------------------------------------


def retention_cutoff(tenant: Tenant, now: datetime | None = None) -> datetime:
    """What was received before this moment has passed the company's retention period."""
    return (now or utcnow()) - timedelta(days=tenant.retention_days)


def erase_by(tenant: Tenant, received_at: datetime) -> datetime:
    """When a call or complaint received at ``received_at`` is erased (at the daily run after this)."""
    return received_at + timedelta(days=tenant.retention_days)


def set_retention(session: Session, actor: User, tenant: Tenant, days: str) -> bool:
    """Change how many days the company keeps recordings and complaints; False when unchanged.

    A shorter period applies at the next daily run: what it ends is erased then.
    """
    value = clean_int(days, minimum=MIN_RETENTION_DAYS, maximum=MAX_RETENTION_DAYS,
                      message=_("Keep recordings between %(min)d and %(max)d days.", min=MIN_RETENTION_DAYS,
                                max=MAX_RETENTION_DAYS))
    if value == tenant.retention_days:
        return False
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.retention_changed",
                 target=f"tenant:{tenant.id}", before=tenant.retention_days, after=value)
    tenant.retention_days = value
    return True


@dataclass
class RetentionRun:
    calls: int = 0
    complaints: int = 0


def apply_retention(session: Session, now: datetime | None = None, limit: int = RETENTION_BATCH) -> RetentionRun:
    """Erase at most ``limit`` calls and complaints of the Session's tenant received before the cutoff.

    Returns how many; run again (in a new transaction) until it returns zeros.
    """
    tenant_id = session.info["tenant_id"]
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return RetentionRun()
    cutoff, done = retention_cutoff(tenant, now), RetentionRun()
    for call in list(session.scalars(select(Call).where(Call.received_at < cutoff).order_by(Call.id).limit(limit))):
        erase_call(session, None, call, Reason.RETENTION)
        done.calls += 1
    left = limit - done.calls
    if left > 0:
        for complaint in list(session.scalars(select(Complaint).where(Complaint.received_at < cutoff)
                                              .order_by(Complaint.id).limit(left))):
            erase_complaint(session, None, complaint, Reason.RETENTION)
            done.complaints += 1
    return done


def expire(tenant_id: int, now: datetime | None = None) -> RetentionRun:
    """Erase everything of ``tenant_id`` that has passed its retention period, one batch per transaction.

    What each batch erased stays erased if a later one fails; run again, it goes on from there.
    """
    total = RetentionRun()
    while True:
        with tenancy.tenant_session(tenant_id) as session:
            done = apply_retention(session, now)
        total.calls, total.complaints = total.calls + done.calls, total.complaints + done.complaints
        if not (done.calls or done.complaints):
            return total


def schedule_retention(now: datetime | None = None) -> int:
    """Queue today's ``apply_retention`` for every company that has none yet; how many were queued.

    Suspended companies too: a suspension stops people, not the retention period. Safe from
    several workers at once: the queue's unique key lets one insert win.
    """
    day = (now or utcnow()).date().isoformat()
    with tenancy.tenant_session(None) as session:  # the tenants table is not tenant data
        tenant_ids = list(session.scalars(select(Tenant.id).where(Tenant.is_platform.is_(False))))
    return sum(jobs.enqueue_once(tenant_id, kind=APPLY_RETENTION, idempotency_key=f"retention:{day}",
                                 payload={"day": day}, priority=jobs.PRIORITY_BULK) for tenant_id in tenant_ids)
