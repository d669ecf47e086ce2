"""The worker's logs: every line carries the job's id, kind and tenant (STYLE §5).

A claim loop sets the job it is running with :func:`job_logging`; a filter on the handler
copies it onto each record, whichever logger wrote it (the worker's, the app's services',
a library's). Lines written outside a job show ``-``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class JobFields:
    job_id: int
    kind: str
    tenant_id: int


#: The job this thread is working on (each thread has its own value).
_current: ContextVar[JobFields | None] = ContextVar("ecoute_job", default=None)


@contextmanager
def job_logging(job_id: int, kind: str, tenant_id: int) -> Iterator[None]:
    """Mark the log lines this thread writes inside the block with the job's fields."""
    token = _current.set(JobFields(job_id, kind, tenant_id))
    try:
        yield
    finally:
        _current.reset(token)


class JobContextFilter(logging.Filter):
    """Adds ``job_id``, ``kind`` and ``tenant_id`` to every record (``-`` outside a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _current.get()
        if fields is not None:
            record.job_id, record.kind, record.tenant_id = fields.job_id, fields.kind, fields.tenant_id
        else:
            record.job_id = getattr(record, "job_id", "-")
            record.kind = getattr(record, "kind", "-")
            record.tenant_id = getattr(record, "tenant_id", "-")
        return True


FORMAT = (
    "%(asctime)s %(levelname)s [job=%(job_id)s kind=%(kind)s tenant=%(tenant_id)s] %(threadName)s %(name)s: "
    "%(message)s"
)


def configure(level: str) -> None:
    """Send every log line of the worker process to stderr with the job's fields.

    The app's own logger (``webapp``, set up by ``create_app`` for requests) is routed here
    too, so the services a handler calls log with the job's fields; other libraries log
    warnings and above through the same handler.
    """
    handler = logging.StreamHandler()
    handler.addFilter(JobContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in ("webapp", "worker"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "ecoute", False)]:
            logger.removeHandler(old)
        logger.setLevel(level)
        logger.propagate = True
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
