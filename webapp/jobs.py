"""THE job queue: a ``jobs`` table, and the only module that writes to it.

A job is inserted in the same transaction as the change that needs it, so it exists only
if that change commits. ``jobs`` carries ``tenant_id``: wall 1 applies, and on PostgreSQL the
same row-level security as every tenant table (migration 0009). Only the claim sees every
tenant's jobs: it connects as ``ecoute_ops``, the cross-tenant role (BYPASSRLS).

The life of a job, as the worker (``worker.loop``) drives it:

- :func:`enqueue` (a service, in its own transaction): ``queued``.
- :func:`claim`: ``running`` with a lease (``locked_until``) held by one claim loop
  (``locked_by``); ``attempts`` counts claims. The worker renews the lease while it works
  (:func:`renew`). When a lease runs out, because its worker died or hangs, the job is
  claimable again: that is how a crashed worker's job is recovered.
- :func:`finish`: ``done``. :func:`fail`: back to ``queued`` after an exponential backoff
  with jitter (:func:`backoff`), or ``failed`` for good with ``last_error`` once the error is
  permanent or ``max_attempts`` is reached. :func:`release`: back to ``queued`` at once, the
  interrupted attempt not counted (a worker stopping).
- :func:`retry` (the "retry" button): a ``failed`` job back to ``queued`` with its attempts reset.

Only the claim loop that holds the lease can finish, fail, renew or release a job: those
updates match ``locked_by`` and ``attempts`` of the claim. A worker whose lease ran out, and
whose job another worker took, cannot overwrite the newer run's outcome.

Only :func:`claim` opens an all-tenants Session (the exception STYLE §3 allows; on PostgreSQL
as ``ecoute_ops``): the other functions work in a Session bound to the job's tenant, which the
claim carries, as the runtime role ``ecoute_rw``.

Times come from this machine's clock (:func:`webapp.db.utcnow`, or ``now=`` in tests):
workers on several machines need their clocks in sync (NTP) to within a small part of
the lease.
"""

from __future__ import annotations

import enum
import functools
import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Enum,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from webapp.db import Base, UTCDateTime, enum_values, utcnow
from webapp.tenancy import TenantScoped, all_tenants_session, tenant_session


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


#: Lower runs first: a person's upload before a bulk import.
PRIORITY_INTERACTIVE = 10
PRIORITY_BULK = 100

#: Retry delays: 10 s, 20 s, 40 s ... capped at an hour, each moved by up to 20 % either way
#: so that jobs that failed together (an S3 outage) do not all come back at the same second.
BACKOFF_BASE_S = 10.0
BACKOFF_FACTOR = 2.0
BACKOFF_CAP_S = 3600.0
BACKOFF_JITTER = 0.2

#: How many (priority, tenant) pairs :func:`claim` reads, fairest first, before taking any runnable job.
_TENANTS_TRIED = 20


class Job(TenantScoped, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "idempotency_key"),
        Index("ix_jobs_claim", "status", "priority", "run_after"),
        # The tenant's most recent claim, read for every candidate tenant by claim() (fairness).
        Index("ix_jobs_tenant_id_claimed_at", "tenant_id", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short snake_case noun naming the handler, e.g. ``process_call``.
    kind: Mapped[str] = mapped_column(String(40))
    #: Ids and plain values only, never objects or URLs.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20, values_callable=enum_values), default=JobStatus.QUEUED
    )
    priority: Mapped[int] = mapped_column(default=PRIORITY_INTERACTIVE)
    #: Claims so far (the running one included); the interrupted attempt of a stopping worker is given back.
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    #: Lease of the worker that claimed it; once past, another worker may take the job.
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    #: The claim loop holding the lease (``host:pid:loop``); only it may finish the job.
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    #: When the job was last claimed; a tenant's latest claim decides its turn (fairness).
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


def enqueue(session: Session, *, kind: str, idempotency_key: str, payload: dict[str, Any],
            priority: int = PRIORITY_INTERACTIVE, max_attempts: int = 5, tenant_id: int | None = None) -> Job:
    """Add a job in the caller's transaction; an existing job with the same key is returned instead.

    The Session must be bound to the job's tenant (the tenant is stamped by tenancy), or be
    open on all tenants (a platform admin creating a company) with ``tenant_id`` naming it;
    the key must then be unique across tenants.
    """
    existing = session.scalar(select(Job).where(Job.kind == kind, Job.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    job = Job(kind=kind, idempotency_key=idempotency_key, payload=payload, priority=priority,
              max_attempts=max_attempts)
    if tenant_id is not None:
        job.tenant_id = tenant_id
    session.add(job)
    return job


def enqueue_once(tenant_id: int, *, kind: str, idempotency_key: str, payload: dict[str, Any],
                 priority: int = PRIORITY_BULK) -> bool:
    """Queue a job for ``tenant_id`` in a transaction of its own unless its key is taken; True when queued.

    For the periodic schedules (webapp/services/periodic.py): workers on several machines may
    queue the same window at once, and the unique key lets one insert win, the others seeing
    the existing job or the refused insert.
    """
    try:
        with tenant_session(tenant_id) as session:
            job = enqueue(session, kind=kind, idempotency_key=idempotency_key, payload=payload, priority=priority)
            is_new = job.id is None
            session.flush()
    except IntegrityError:
        return False  # another worker queued it first
    return is_new


def finished_between(session: Session, kind: str, after: datetime, before: datetime) -> list[tuple[int, int]]:
    """``(job id, tenant id)`` of the Session's ``kind`` jobs that finished in ``[after, before)``: the files
    a job made and that are past their time (review packs' and workshops' PDFs) are named by them."""
    rows = session.execute(select(Job.id, Job.tenant_id).where(Job.kind == kind, Job.finished_at >= after,
                                                               Job.finished_at < before))
    return [(job_id, tenant_id) for job_id, tenant_id in rows]


def forget(session: Session, *, kind: str, field: str, ids: Collection[int]) -> int:
    """Delete the jobs of ``kind`` whose payload's ``field`` is one of ``ids``: those of erased rows.

    Whatever their status: a queued one would find nothing to do, a done one would keep a key
    that an id coming back (SQLite reuses the highest id once its row is gone) would collide with.
    A worker running one loses its lease (its finish is refused), as when another worker took it.
    ``session`` must be bound to the jobs' tenant. Returns how many were deleted.
    """
    if not ids:
        return 0
    result = session.execute(
        delete(Job).where(Job.kind == kind, Job.payload[field].as_integer().in_(sorted(ids)))
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE


# --- the worker's side -------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedJob:
    """A job as one claim loop holds it: plain values, and what proves the lease is still ours."""

    id: int
    kind: str
    tenant_id: int
    payload: dict[str, Any]
    attempt: int  #: 1 for the first run; above ``max_attempts`` when workers died running it
    max_attempts: int
    worker_id: str
    locked_until: datetime


class FailOutcome(enum.StrEnum):
    RETRYING = "retrying"  #: queued again, after a backoff
    FAILED = "failed"  #: failed for good: the handler's ``failed`` must be told
    LOST = "lost"  #: the lease was no longer ours: nothing written


@functools.cache
def _claim_statements(by_kind: bool) -> tuple[Select[int, int], Select[Job], Select[Job]]:
    """The statements of :func:`claim`, built once (parameters: ``now``, ``kinds``, ``priority``, ``tenant_id``).

    1. ``turns``: (priority, tenant) pairs with runnable jobs, the pair to serve next first:
       the best priority; then, among tenants, the fewest jobs running (with several workers,
       each tenant gets its share of them); then the tenant served least recently, tenants
       never served first (a round-robin, which also holds for a single worker finishing each
       job before the next); then the tenant with the oldest job.
    2. ``of_tenant``: that tenant's oldest runnable job of that priority, locked.
    3. ``any_job``: any runnable job, locked; used should concurrent claimers hold every row
       that (1) and (2) pointed at.
    """
    now = bindparam("now", type_=UTCDateTime())
    runnable = or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
        # A lease that ran out: its worker died or hangs.
        and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
    )
    if by_kind:
        runnable = and_(runnable, Job.kind.in_(bindparam("kinds", expanding=True)))
    other = aliased(Job)
    running = (
        select(func.count(other.id))
        .where(other.tenant_id == Job.tenant_id, other.status == JobStatus.RUNNING, other.locked_until >= now)
        .scalar_subquery()
    )
    last_served = select(func.max(other.claimed_at)).where(other.tenant_id == Job.tenant_id).scalar_subquery()
    turns = (
        select(Job.priority, Job.tenant_id)
        .where(runnable)
        .group_by(Job.priority, Job.tenant_id)
        .order_by(Job.priority, running, last_served.asc().nulls_first(), func.min(Job.run_after), Job.tenant_id)
        .limit(_TENANTS_TRIED)
    )
    of_tenant = (
        select(Job)
        .where(runnable, Job.priority == bindparam("priority"), Job.tenant_id == bindparam("tenant_id"))
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Job)
    )
    any_job = (
        select(Job)
        .where(runnable)
        .order_by(Job.priority, Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Job)
    )
    return turns, of_tenant, any_job


def claim(worker_id: str, lease_s: float, *, kinds: Collection[str] | None = None,
          now: datetime | None = None) -> ClaimedJob | None:
    """Take the next runnable job for ``worker_id`` and lease it for ``lease_s`` seconds; None when there is none.

    Runnable: queued with ``run_after`` reached, or running with its lease run out. The
    best priority goes first; among its jobs, the fairest tenant's oldest (see
    :func:`_claim_statements`). ``kinds`` limits the claim to the kinds this worker can run.
    Commits at once, in its own all-tenants Session (the claimer must see every tenant; on
    PostgreSQL it connects as ``ecoute_ops``, the runtime role seeing one tenant's jobs at most).
    On PostgreSQL the job row is locked with ``FOR UPDATE SKIP LOCKED``, so workers claiming
    at the same moment take different jobs without waiting on each other; on SQLite the
    transaction holds the database's write lock from its start (``BEGIN IMMEDIATE``).
    """
    now = now or utcnow()
    turns, of_tenant, any_job = _claim_statements(kinds is not None)
    params: dict[str, Any] = {"now": now}
    if kinds is not None:
        params["kinds"] = list(kinds)
    with all_tenants_session() as session:
        pairs = session.execute(turns, params).all()
        if not pairs:
            return None
        best = pairs[0].priority
        job = None
        for priority, tenant_id in pairs:
            if priority != best:
                break
            job = session.scalars(of_tenant, {**params, "priority": priority, "tenant_id": tenant_id}).first()
            if job is not None:
                break
        if job is None:
            job = session.scalars(any_job, params).first()
            if job is None:
                return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.locked_by = worker_id
        job.locked_until = now + timedelta(seconds=lease_s)
        job.claimed_at = now
        return ClaimedJob(id=job.id, kind=job.kind, tenant_id=job.tenant_id, payload=dict(job.payload),
                          attempt=job.attempts, max_attempts=job.max_attempts, worker_id=worker_id,
                          locked_until=job.locked_until)


def _held(job: ClaimedJob) -> ColumnElement[bool]:
    # attempts is the claim's fencing number: locked_by alone would do while worker ids are
    # unique per claim loop, this also covers a loop that re-claims its own lost job.
    return and_(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.locked_by == job.worker_id,
                Job.attempts == job.attempt)


def _update_held(job: ClaimedJob, **values: Any) -> bool:
    with tenant_session(job.tenant_id) as session:
        result = session.execute(update(Job).where(_held(job)).values(**values).execution_options(
            synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def renew(job: ClaimedJob, lease_s: float, *, now: datetime | None = None) -> bool:
    """Extend the lease of a job this claim still holds (the worker's heartbeat).

    Returns False when the lease is no longer ours (it ran out and another worker took the
    job, or the job was released): the current run's outcome will not be recorded.
    """
    now = now or utcnow()
    return _update_held(job, locked_until=now + timedelta(seconds=lease_s))


def finish(job: ClaimedJob, *, now: datetime | None = None) -> bool:
    """Mark a job this claim holds as done; False (and nothing written) when the lease is no longer ours."""
    now = now or utcnow()
    return _update_held(job, status=JobStatus.DONE, finished_at=now, locked_until=None, last_error="")


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before trying again after failed attempt number ``attempt`` (1 for the first).

    ``BACKOFF_BASE_S * BACKOFF_FACTOR ** (attempt - 1)``, capped at ``BACKOFF_CAP_S``, then
    multiplied by a random factor within ±``BACKOFF_JITTER``.
    """
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * BACKOFF_FACTOR ** max(0, min(attempt - 1, 32)))
    jitter = (rng or random).uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)  # noqa: S311 - not security
    return delay * jitter


def fail(job: ClaimedJob, error: str, *, permanent: bool, now: datetime | None = None,
         rng: random.Random | None = None) -> FailOutcome:
    """Record a failed attempt of a job this claim holds.

    A passing error (``permanent=False``) with attempts left queues the job again after
    :func:`backoff`; a permanent error, or the last attempt, marks it failed for good.
    ``error`` is kept in ``last_error`` either way (cut to 4,000 characters). Returns what
    happened; :attr:`FailOutcome.LOST` when the lease is no longer ours (nothing written).
    """
    now = now or utcnow()
    error = error[:4000]
    if permanent or job.attempt >= job.max_attempts:
        done = _update_held(job, status=JobStatus.FAILED, last_error=error, finished_at=now, locked_until=None)
        return FailOutcome.FAILED if done else FailOutcome.LOST
    run_after = now + timedelta(seconds=backoff(job.attempt, rng))
    done = _update_held(job, status=JobStatus.QUEUED, last_error=error, run_after=run_after, locked_until=None,
                        locked_by=None)
    return FailOutcome.RETRYING if done else FailOutcome.LOST


def release(job: ClaimedJob, *, now: datetime | None = None) -> bool:
    """Put a job this claim holds back in the queue at once, its attempt not counted (a worker stopping).

    Returns False when the lease is no longer ours (nothing written).
    """
    now = now or utcnow()
    return _update_held(job, status=JobStatus.QUEUED, attempts=Job.attempts - 1, run_after=now,
                        locked_until=None, locked_by=None)


def retry(session: Session, job: Job) -> bool:
    """Queue a failed job again with its attempts reset (the "retry" button); flushes, the caller commits.

    ``session`` must be bound to the job's tenant. Returns False, changing nothing, when the
    job is not failed (already queued again, running or done: a second click).
    """
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.FAILED)
        .values(status=JobStatus.QUEUED, attempts=0, run_after=now, last_error="", locked_until=None,
                locked_by=None, finished_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE
