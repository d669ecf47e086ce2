"""Reading links out of the mails the SMTP sink received."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.support.smtpsink import SmtpSink, body_text


def link_in(msg: EmailMessage, kind: str) -> str:
    """The path of the first ``/<kind>/...`` link in a mail (``invitation`` or ``password/reset``)."""
    match = re.search(rf"https?://[^/\s]+(/{kind}/\S+)", body_text(msg))
    assert match, f"no {kind} link in: {body_text(msg)}"
    return match.group(1)


def mail_to(smtp: SmtpSink, address: str) -> EmailMessage:
    return smtp.wait_for(lambda m: m["To"] == address, timeout=5)
