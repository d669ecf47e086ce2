"""``send_mail``: render a mail in its recipient's language and send it (webapp/mail.py).

Queued by :func:`webapp.mail.queue_mail` in the transaction that caused the mail. The
recipient's address and language, and the company's name, are read now, so the mail says
what is true when it leaves. A mail whose recipient was removed, or whose single-use link
was used, replaced or has expired meanwhile, is not sent: its reader could do nothing with it.

SMTP failures are retried (``RetryableError``) with the queue's backoff; a refusal for good
(5xx) fails at once. A worker that dies between the server's "250 OK" and recording the job
done sends the mail again on the next attempt: at least once, never lost.
"""

from __future__ import annotations

import logging

from webapp import mail, tenancy
from webapp.errors import PermanentError, UserError
from webapp.models import Tenant, User
from webapp.models.security import TokenPurpose
from webapp.services import tokens
from worker.handlers.context import JobContext

KIND = mail.SEND_MAIL
log = logging.getLogger(__name__)


class Handler:
    def run(self, ctx: JobContext) -> None:
        template = str(ctx.payload.get("template", ""))
        if not mail.TEMPLATE_NAME.fullmatch(template):
            raise PermanentError(f"unknown mail template {template!r}")
        context: dict[str, object] = dict(ctx.payload.get("context") or {})
        with tenancy.tenant_session(ctx.tenant_id) as session:
            user = session.get(User, int(ctx.payload["user_id"]))
            tenant = session.get(Tenant, ctx.tenant_id)
            if user is None or tenant is None:
                log.info("not sent: the recipient was removed")
                return
            link = ctx.payload.get("link")
            if isinstance(link, dict):
                raw = f"{ctx.tenant_id}.{mail.link_secret(ctx.settings, str(link.get('nonce', '')))}"
                try:
                    tokens.consume(session, raw, TokenPurpose(str(link.get("purpose"))), peek=True)
                except (UserError, ValueError) as err:
                    log.info("not sent: its link can no longer be used (%s)", getattr(err, "code", err))
                    return
                context["link"] = f"{ctx.settings.base_url}{link.get('path', '')}{raw}"
            context["tenant_name"] = tenant.name
            context["base_url"] = ctx.settings.base_url  # for a mail's plain links (a register entry)
            to, locale = user.email, user.locale or tenant.default_locale
        message = mail.build_message(ctx.settings, to, template, locale, **context)
        mail.deliver(ctx.settings, message)

    def failed(self, ctx: JobContext, reason: str) -> None:
        """The person never got the mail: an administrator can send the invitation again, a person ask again."""
        log.error("mail %s to user %s given up: %s", ctx.payload.get("template"), ctx.payload.get("user_id"), reason)
