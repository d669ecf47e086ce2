"""What a job handler gets (:class:`JobContext`) and what it is (:class:`Handler`).

Apart from the handler modules and their registry (worker/handlers/__init__.py), so that each
handler imports these without importing the registry that imports it.
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
