"""One module per job kind. Each exposes ``KIND`` and a :class:`Handler`.

A handler is idempotent: run twice, it leaves the same result as once (deterministic storage
keys, upserted rows, "already done?" checks first). It reloads its rows through
``tenancy.tenant_session(ctx.tenant_id)``, so both tenancy walls apply to jobs too. It
raises ``webapp.errors.RetryableError`` for passing failures (network, S3 5xx, timeouts) and
``webapp.errors.PermanentError`` for inputs that will never work, with a message for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from webapp.config import Settings


@dataclass
class JobContext:
    """What a handler gets: ids and plain values, never live objects of another Session."""

    job_id: int
    kind: str
    tenant_id: int
    payload: dict[str, Any]
    attempt: int  #: 1 for the first run
    max_attempts: int
    settings: Settings
    #: Seconds of work allowed before the worker gives up on this attempt (retryable).
    deadline_s: float = 3600.0
    log_extra: dict[str, Any] = field(default_factory=dict)


class Handler(Protocol):
    def run(self, ctx: JobContext) -> None:
        """Do the job (idempotent)."""

    def failed(self, ctx: JobContext, reason: str) -> None:
        """Called once when the job has failed for good: record ``reason`` where people see it."""


def registry() -> dict[str, Handler]:
    """Every job kind the worker knows, and its handler."""
    from worker.handlers import (
        apply_retention,
        password_reset,
        process_call,
        purge_media,
        render_clip,
        retrain_tagger,
        send_mail,
        tag_complaint,
    )

    return {process_call.KIND: process_call.Handler(), retrain_tagger.KIND: retrain_tagger.Handler(),
            tag_complaint.KIND: tag_complaint.Handler(), render_clip.KIND: render_clip.Handler(),
            purge_media.KIND: purge_media.Handler(), apply_retention.KIND: apply_retention.Handler(),
            send_mail.KIND: send_mail.Handler(), password_reset.KIND: password_reset.Handler()}
