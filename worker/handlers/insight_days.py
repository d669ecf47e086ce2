"""``insight_days``: roll up one company's marked days that are over (webapp/services/insight_days.py).

Queued every ten minutes for each company with such days by the periodic schedule ``insight_days``
(webapp/services/periodic.py). Idempotent: a build replaces the days' roll-ups and deletes the marks it
read; run again, it finds no mark and does nothing.
"""

from __future__ import annotations

import logging

from webapp.db import utcnow
from webapp.services.insight_days import BUILD, run_build
from worker.handlers.context import JobContext

KIND = BUILD
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        log.info("insight roll-ups: %d day(s) built", run_build(ctx.tenant_id, utcnow()))

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.error("the insight roll-ups could not be built (their days are counted live meanwhile): %s", reason)
