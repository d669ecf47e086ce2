"""Reading links out of the mails the SMTP sink received, once the worker has sent them.

Mail is a job (webapp/mail.py): :func:`mail_to` first runs the queued ``send_mail`` jobs with
the worker's own handler, as ``ecoute worker`` would, against the test's app (set by the
``app`` fixture through :func:`use_app`).
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from flask import Flask

from tests.support.smtpsink import SmtpSink, body_text

_apps: list[Flask] = []


def use_app(app: Flask) -> None:
    """The app whose queued mails :func:`mail_to` sends (the ``app`` fixture calls it)."""
    _apps[:] = [app]


def run_mail_jobs(app: Flask | None = None) -> None:
    """Run the mail jobs that are due (``password_reset``, ``send_mail``) with the worker's handlers."""
    from worker.handlers import password_reset, send_mail
    from worker.loop import Worker

    target = app or (_apps[0] if _apps else None)
    assert target is not None, "no app: use the app fixture"
    handlers = {send_mail.KIND: send_mail.Handler(), password_reset.KIND: password_reset.Handler()}
    Worker(target, handlers, once=True).run()


def link_in(msg: EmailMessage, kind: str) -> str:
    """The path of the first ``/<kind>/...`` link in a mail (``invitation`` or ``password/reset``)."""
    match = re.search(rf"https?://[^/\s]+(/{kind}/\S+)", body_text(msg))
    assert match, f"no {kind} link in: {body_text(msg)}"
    return match.group(1)


def mail_to(smtp: SmtpSink, address: str) -> EmailMessage:
    """The first mail the sink received for ``address``, once the queued mails were sent."""
    run_mail_jobs()
    return smtp.wait_for(lambda m: m["To"] == address, timeout=5)
