"""``alert_digest``: mail a person the alerts of their day or week (issue #15, item 4).

Queued by ``webapp.services.alerts.schedule_digests``, one job per person and period, only when the
company raised alerts in it. The mail is rendered now, in the person's language, from what is true
now: a person who left, stopped reading alerts or chose another frequency meanwhile gets nothing.
Each alert comes with two or three representative voices: approved clips (their audio bleeped, their
captions masked when cut) and excerpts of written complaints with their personal data masked.

A network or SMTP failure is retried with the queue's backoff (``webapp.mail.deliver``); as with
``send_mail``, a worker dying between the server's "250 OK" and the job's end sends it again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import g

from webapp import mail, tenancy
from webapp.i18n import force_locale
from webapp.models import Tenant, User
from webapp.services import alerts
from worker.handlers.context import JobContext

KIND = alerts.ALERT_DIGEST
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        start = datetime.fromisoformat(str(ctx.payload["start"]))
        end = datetime.fromisoformat(str(ctx.payload["end"]))
        choice = str(ctx.payload.get("choice", ""))
        with tenancy.tenant_session(ctx.tenant_id) as session:
            user = session.get(User, int(ctx.payload["user_id"]))
            tenant = session.get(Tenant, ctx.tenant_id)
            if tenant is None or user is None or not alerts.is_digest_reader(user) or user.digest != choice:
                log.info("not sent: the person no longer wants this digest")
                return
            locale = user.locale or tenant.default_locale
            g.ecoute_mail_locale = locale  # force_locale does nothing while ``g`` is empty (a worker's context)
            with force_locale(locale):
                items = alerts.digest_items(session, start, end, locale)
            if not items:
                log.info("not sent: the period's alerts are gone")
                return
            message = mail.build_message(ctx.settings, user.email, "alert_digest", locale, items=items,
                                         choice=choice, tenant_name=tenant.name, base_url=ctx.settings.base_url)
        mail.deliver(ctx.settings, message)
        log.info("digest sent: %d alert(s)", len(items))

    def failed(self, ctx: JobContext, reason: str) -> None:
        """The person misses one digest; the alerts stay listed in the app."""
        log.error("alert digest to user %s given up: %s", ctx.payload.get("user_id"), reason)
