"""``rating_rule``: apply the 3/5 rule to one company's products (webapp/services/scorecards.py).

Queued once a day per company by the periodic schedule ``rating_rule`` (webapp/services/periodic.py).
Idempotent: a product already on the watch list is not flagged again, and its alert's key names the
product and the day.
"""

from __future__ import annotations

import logging

from webapp.services.scorecards import RATING_RULE, run_rating_rule
from worker.handlers.context import JobContext

KIND = RATING_RULE
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        done = run_rating_rule(ctx.tenant_id)
        log.info("rating rule: %d product(s) flagged, %d left the watch list", len(done.flagged), len(done.cleared))

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.error("the rating rule could not be applied: %s", reason)
