"""``password_reset``: mail a reset link to each active account of an address (webapp/services/accounts.py).

``/password/forgot`` queues one for every address asked for, known or not, so that the
request does the same work either way (issue #13, item 8). Here the accounts are looked up;
each gets a fresh link and a ``send_mail`` job in its own company. Run twice, it sends the
links twice, each cancelling the one before: the last one mailed works.
"""

from __future__ import annotations

import logging

from webapp import mail
from webapp.services import accounts
from worker.handlers.context import JobContext

KIND = mail.PASSWORD_RESET
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        queued = accounts.send_reset_links(ctx.settings, str(ctx.payload.get("email", "")))
        log.info("%d reset link(s) queued", queued)

    def failed(self, ctx: JobContext, reason: str) -> None:
        """Nothing to show: the person may ask again."""
        log.error("reset links could not be queued: %s", reason)
