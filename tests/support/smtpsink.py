"""An SMTP server on 127.0.0.1 that keeps every message it receives, for mail tests.

The app is pointed at it with ``smtp_host="127.0.0.1"`` and ``smtp_port=sink.port``;
tests then read what was really sent over SMTP::

    with SmtpSink() as sink:
        ...
        msg = sink.wait_for(lambda m: m["To"] == "ana@example.com")
        assert "/reset/" in body_text(msg)
"""

from __future__ import annotations

import email
import socket
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

Predicate = Callable[[EmailMessage], bool]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def body_text(msg: EmailMessage) -> str:
    """The decoded text/plain body of ``msg`` (the plain part of a multipart mail)."""
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        raise ValueError(f"no text/plain part in message {msg['Subject']!r}")
    text: str = part.get_content()
    return text


class SmtpSink:
    """Start with :meth:`start` (or ``with SmtpSink() as sink:``), stop with :meth:`stop`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = 0
        self._messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    # aiosmtpd calls this on its own thread once per message, after the final "." of DATA.
    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=default_policy)
        with self._arrived:
            self._messages.append(msg)
            self._arrived.notify_all()
        return "250 OK"

    def start(self, port: int | None = None) -> SmtpSink:
        """Listen on ``port`` of 127.0.0.1 (a free one if None); returns self.

        A port lets a test start the server an app was told about later: "the mail server is back".
        """
        if self._controller is not None:
            raise RuntimeError("the sink is already started")
        self.port = port or _free_port()
        # server_hostname: otherwise aiosmtpd calls socket.getfqdn(), slow without DNS.
        controller = Controller(self, hostname=self.host, port=self.port, server_hostname="smtpsink.test")
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening; the messages already received stay readable."""
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        """A copy of the messages received so far, oldest first."""
        with self._arrived:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._arrived:
            self._messages.clear()

    def wait_for(self, predicate: Predicate | None = None, timeout: float = 10) -> EmailMessage:
        """The first message (oldest first) matching ``predicate`` (any message if None),
        waiting up to ``timeout`` seconds for it to arrive.

        Raises :class:`TimeoutError` listing the subjects received, when none matches.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for msg in self._messages:
                    if predicate is None or predicate(msg):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    subjects = [str(m["Subject"]) for m in self._messages]
                    raise TimeoutError(f"no matching mail within {timeout}s; received: {subjects}")
                self._arrived.wait(left)
