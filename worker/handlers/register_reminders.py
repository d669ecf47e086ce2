"""``register_reminders``: a company's reminders of the day (webapp/services/reminders.py).

Queued once a day per company by the reminders schedule (webapp/services/periodic.py). It queues
the owners' reminders and the admins' overdue list as ``send_mail`` jobs, each with a key naming
its entry and deadline or its day: run again (a retry, a second worker), it queues nothing twice.
"""

from __future__ import annotations

import logging
from datetime import date

from webapp import tenancy
from webapp.errors import PermanentError
from webapp.services import reminders
from worker.handlers.context import JobContext

KIND = reminders.SEND_REMINDERS
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        try:
            day = date.fromisoformat(str(ctx.payload.get("day", "")))
        except ValueError as err:
            raise PermanentError(f"not a day: {ctx.payload.get('day')!r}") from err
        with tenancy.tenant_session(ctx.tenant_id) as session:
            sent = reminders.send_reminders(session, day)
        log.info("reminders: %d to owners, %d overdue list(s) to admins", sent.owners, sent.admins)

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.error("the register's reminders of %s could not be queued: %s", ctx.payload.get("day"), reason)
