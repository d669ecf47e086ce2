"""Outgoing mail: SMTP when configured, else written to the mail folder and the log.

Mails are sent only after the transaction that caused them commits
(:func:`webapp.db.after_commit`), so a rolled-back invitation sends nothing.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy.orm import Session

from webapp.config import Settings
from webapp.db import after_commit
from webapp.i18n import force_locale

log = logging.getLogger(__name__)


def build_message(settings: Settings, to: str, template: str, locale: str, **context: object) -> EmailMessage:
    """Render ``emails/<template>.txt`` in ``locale``; its first line is the subject."""
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


def deliver(settings: Settings, msg: EmailMessage) -> None:
    """Send now: through SMTP if ``ECOUTE_SMTP_HOST`` is set, else into the mail folder."""
    if settings.smtp_host:
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
        log.info("mail sent: %s", msg["Subject"])
        return
    folder = Path(settings.mail_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = msg["Message-ID"].strip("<>").replace("@", "_")
    path = folder / f"{name}.eml"
    path.write_bytes(bytes(msg))
    log.info("mail written to %s (no SMTP server configured):\n%s", path, msg.get_content())


def send_after_commit(session: Session, to: str, template: str, locale: str, **context: object) -> None:
    """Render a mail now and deliver it once ``session`` commits."""
    settings: Settings = current_app.config["ECOUTE"]
    msg = build_message(settings, to, template, locale, **context)
    after_commit(session, lambda: deliver(settings, msg))
