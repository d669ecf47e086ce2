"""``evaluate_alerts``: judge a company's alert rules on their last complete windows (issue #15, item 4).

Queued once a day per company by the periodic schedule (``webapp.services.alerts.schedule_evaluations``).
The day travels in the payload, so a job run late, or twice, judges the same windows, and each rule
raises at most one alert per window (the alert's unique key): running it again adds nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from webapp import tenancy
from webapp.services import alerts
from worker.handlers.context import JobContext

KIND = alerts.EVALUATE_ALERTS
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            raised = alerts.evaluate(session, date.fromisoformat(str(ctx.payload["day"])))
            log.info("alerts: %d raised", len(raised))

    def failed(self, ctx: JobContext, reason: str) -> None:
        """Nothing for people to see: the next day's job judges the rules again."""
        log.error("alert rules could not be evaluated: %s", reason)
