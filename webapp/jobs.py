"""THE job queue: a ``jobs`` table, and the only module that writes to it.

A job is inserted in the same transaction as the change that needs it, so it exists only
if that change commits. The worker (next step of the pipeline) claims jobs with a lease.
``jobs`` carries ``tenant_id`` (wall 1 applies) but has no row-level security: the claimer
must see every tenant's jobs.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


#: Lower runs first: a person's upload before a bulk import.
PRIORITY_INTERACTIVE = 10
PRIORITY_BULK = 100


class Job(TenantScoped, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "idempotency_key"),
        Index("ix_jobs_claim", "status", "priority", "run_after"),
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
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    #: Lease of the worker that claimed it; once past, another worker may take the job.
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


def enqueue(session: Session, *, kind: str, idempotency_key: str, payload: dict[str, Any],
            priority: int = PRIORITY_INTERACTIVE, max_attempts: int = 5) -> Job:
    """Add a job in the caller's transaction; an existing job with the same key is returned instead.

    The Session must be bound to the job's tenant (the tenant is stamped by tenancy).
    """
    existing = session.scalar(select(Job).where(Job.kind == kind, Job.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    job = Job(kind=kind, idempotency_key=idempotency_key, payload=payload, priority=priority,
              max_attempts=max_attempts)
    session.add(job)
    return job
