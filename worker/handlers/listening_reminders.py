"""``listening_reminders``: in a quarter's last month, remind the people of a company below the listening goal.

Queued once per company and quarter by the ``listening_reminders`` schedule (webapp/services/periodic.py,
``coverage.schedule_listening_reminders``). It queues one ``send_mail`` job per person below the goal,
each keyed by the quarter: run again (a retry, a second worker), it queues nothing twice.
"""

from __future__ import annotations

import logging

from webapp import tenancy
from webapp.db import utcnow
from webapp.errors import PermanentError
from webapp.models import Tenant
from webapp.services import coverage
from webapp.services.listening import Quarter
from worker.handlers.context import JobContext

KIND = coverage.LISTENING_REMINDERS
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        quarter = Quarter.parse(str(ctx.payload.get("quarter", "")))
        if quarter is None:
            raise PermanentError(f"not a quarter: {ctx.payload.get('quarter')!r}")
        with tenancy.tenant_session(ctx.tenant_id) as session:
            tenant = session.get(Tenant, ctx.tenant_id)
            if tenant is None:
                return
            queued = coverage.send_reminders(session, tenant, quarter, utcnow())
        log.info("listening reminders for %s: %d mail(s) queued", quarter.key, queued)

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.error("the listening reminders of %s could not be queued: %s", ctx.payload.get("quarter"), reason)
