"""``apply_retention``: erase a company's calls and complaints older than its retention period.

Queued once a day per company by the worker (``webapp.services.erasure.schedule_retention``).
It erases in batches, one transaction each (``erasure.expire``), so a first run over years of
recordings neither holds a long lock nor loses its progress if the worker stops: what was
erased stays erased, and the next run (or a retry) goes on from there.
"""

from __future__ import annotations

import logging

from webapp.services.erasure import APPLY_RETENTION, expire
from worker.handlers.context import JobContext

KIND = APPLY_RETENTION
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        done = expire(ctx.tenant_id)
        log.info("retention: %d call(s) and %d complaint(s) erased", done.calls, done.complaints)

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.error("retention could not be applied: %s", reason)
