"""Outgoing mail: always a ``send_mail`` job, never SMTP inside a request (issue #13, item 8).

A service calls :func:`queue_mail` in the transaction that causes the mail (an invitation, a
password reset, later a digest): the job exists only if that transaction commits, and the
request answers without waiting for an SMTP server, which may be slow or down. The worker
(worker/handlers/send_mail.py) renders the mail in the recipient's language at send time
(:func:`build_message`) and :func:`deliver` sends it, through SMTP when configured, else into
the mail folder; a network or SMTP failure is retried with the queue's backoff.

The payload holds ids and plain values only. A single-use link's secret is not one of them:
the ``jobs`` table is read by every worker, for every company, and keeps done jobs. The secret
is derived from ``ECOUTE_SECRET_KEY`` and a random nonce (:func:`new_link_secret`); the payload
carries the nonce, from which only a holder of the key can compute the link again
(:func:`link_secret`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import g, render_template
from sqlalchemy.orm import Session

from webapp import files, jobs
from webapp.config import Settings
from webapp.errors import PermanentError, RetryableError
from webapp.i18n import force_locale

log = logging.getLogger(__name__)

SEND_MAIL = "send_mail"
#: Finds who a password reset was asked for, in the worker (worker/handlers/password_reset.py).
PASSWORD_RESET = "password_reset"  # noqa: S105 - a job kind, no password
#: Attempts before a mail is given up: with the queue's backoff (10 s, 20 s, 40 s ...), about
#: 40 minutes of an SMTP server being down.
MAX_ATTEMPTS = 9
#: Names of the templates under ``templates/emails/`` a job may name.
TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

PlainValue = str | int | float | bool | None
#: What a mail's context may hold: plain values, or a list of rows of plain values (a digest's lines).
MailValue = PlainValue | list[dict[str, PlainValue]]


def link_secret(settings: Settings, nonce: str) -> str:
    """The secret of a single-use link, computed from the deployment's key and the link's nonce."""
    digest = hmac.new(settings.secret_key.encode(), f"ecoute-link:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_link_secret(settings: Settings) -> tuple[str, str]:
    """A fresh ``(nonce, secret)`` for a single-use link: the token stores the secret's hash, the job the nonce."""
    nonce = secrets.token_urlsafe(16)
    return nonce, link_secret(settings, nonce)


def queue_mail(session: Session, *, tenant_id: int, user_id: int, template: str,
               context: dict[str, MailValue] | None = None, link_path: str = "", link_nonce: str = "",
               link_purpose: str = "", once: str = "") -> bool:
    """Queue a mail to a person of the Session's tenant, sent by the worker once this transaction commits.

    Args:
        tenant_id, user_id: the recipient's company and the recipient, whose address and language
            the worker reads when it sends.
        template: ``emails/<template>.txt``; its first line is the subject. The worker adds
            ``tenant_name`` and, with ``link_path``, ``link`` to ``context``.
        context: plain values only (names, numbers), never objects, URLs or secrets.
        link_path, link_nonce, link_purpose: a single-use link ``<base url><link_path><tenant>.<secret>``,
            the secret being :func:`link_secret` of ``link_nonce``; a link whose token was used,
            replaced or expired by the time the worker sends is not sent.
        once: a key naming this mail among the recipient's mails of ``template`` (``<entry>:<deadline>``,
            a day): queued again with the same key, the mail is not queued twice (reminders, digests).

    Returns whether the mail was queued now (False: ``once`` names a mail queued before).
    """
    if not TEMPLATE_NAME.fullmatch(template):
        raise ValueError(f"not a mail template name: {template!r}")
    payload: dict[str, object] = {"user_id": user_id, "template": template, "context": dict(context or {})}
    if link_path:
        payload["link"] = {"path": link_path, "nonce": link_nonce, "purpose": link_purpose}
    # Each mail is its own job: the same person may be sent the same kind of mail again.
    key = f"{template}:{user_id}:{once or link_nonce or secrets.token_urlsafe(12)}"
    job = jobs.enqueue(session, kind=SEND_MAIL, idempotency_key=key, payload=payload, max_attempts=MAX_ATTEMPTS,
                       tenant_id=tenant_id)
    if job.id is not None:
        return False
    log.info("mail queued: %s to user %d", template, user_id)
    return True


def queue_reset_lookup(session: Session, *, tenant_id: int, email: str) -> None:
    """Queue a ``password_reset`` job: the worker mails a reset link to each active account of ``email``.

    Queued for any address, known or not, in the platform's tenant (the address may be in
    any company): the request that asks does the same work either way.
    """
    jobs.enqueue(session, kind=PASSWORD_RESET, idempotency_key=f"{PASSWORD_RESET}:{secrets.token_urlsafe(12)}",
                 payload={"email": email}, max_attempts=MAX_ATTEMPTS, tenant_id=tenant_id)


def build_message(settings: Settings, to: str, template: str, locale: str, **context: object) -> EmailMessage:
    """Render ``emails/<template>.txt`` in ``locale``; its first line is the subject (needs an app context)."""
    # flask_babel.force_locale does nothing while ``g`` is empty, as it is in a worker's app context.
    g.ecoute_mail_locale = locale
    with force_locale(locale):
        rendered = render_template(f"emails/{template}.txt", **context)
    subject, _sep, body = rendered.partition("\n")
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject.strip()
    msg["Message-ID"] = make_msgid(domain="ecoute.local")
    msg.set_content(body.strip() + "\n")
    return msg


def _is_permanent(err: smtplib.SMTPException) -> bool:
    """Whether the server refused for good (a 5xx about the recipient or the message), not for now."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return bool(err.recipients) and all(code >= 500 for code, _msg in err.recipients.values())
    if isinstance(err, smtplib.SMTPAuthenticationError | smtplib.SMTPSenderRefused):
        return False  # the operator's settings: fixed, the next attempt goes through
    return isinstance(err, smtplib.SMTPResponseException) and err.smtp_code >= 500


def deliver(settings: Settings, msg: EmailMessage) -> None:
    """Send now: through SMTP if ``ECOUTE_SMTP_HOST`` is set, else into the mail folder (the worker's side).

    Raises :class:`RetryableError` when the server cannot be reached or answers "later" (4xx),
    :class:`PermanentError` when it refuses the message for good (5xx).
    """
    if settings.smtp_host:
        try:
            _send_smtp(settings, msg)
        except smtplib.SMTPException as err:
            if _is_permanent(err):
                raise PermanentError(f"the mail server refused the message: {err}") from err
            raise RetryableError(f"the mail server failed: {err}") from err
        except OSError as err:  # refused, unreachable, timed out, TLS
            raise RetryableError(f"the mail server cannot be reached: {err}") from err
        log.info("mail sent: %s", msg["Subject"])
        return
    folder = Path(settings.mail_dir)
    try:
        files.private_dir(folder)  # a mail holds a live link: only Écoute's user reads the folder
        name = msg["Message-ID"].strip("<>").replace("@", "_")
        path = folder / f"{name}.eml"
        files.write_private(path, bytes(msg))
    except OSError as err:
        raise RetryableError(f"the mail folder cannot be written: {err}") from err
    if settings.env == "prod":  # a link in a mail is a live secret: logs are no place for it in production
        log.warning("mail written to %s: no SMTP server configured (ECOUTE_SMTP_HOST)", path)
    else:  # the embedded install's way to open an invitation (README)
        log.info("mail written to %s (no SMTP server configured):\n%s", path, msg.get_content())


def _send_smtp(settings: Settings, msg: EmailMessage) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)
