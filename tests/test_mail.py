"""Mail is a job: a request never talks to SMTP; the worker sends, retries and renders (issue #13, item 8).

The SMTP server is real (tests/support/smtpsink.py), "down" is a port where nothing listens,
and the worker's own handler sends the queued mails.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import Client, TenantSet
from tests.mail import link_in, mail_to, run_mail_jobs
from tests.support.smtpsink import SmtpSink, body_text
from webapp import jobs, tenancy
from webapp.db import utcnow
from webapp.jobs import Job, JobStatus
from webapp.mail import PASSWORD_RESET, SEND_MAIL
from webapp.models import Role, User, UserStatus
from worker.handlers import send_mail
from worker.loop import Worker


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _mail_jobs(app: Flask, tenant_id: int) -> list[Job]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        found = list(session.scalars(select(Job).where(Job.kind == SEND_MAIL).order_by(Job.id)))
        session.expunge_all()
        return found


class _Listener:
    """A TCP port that counts the connections made to it (and closes them): an SMTP server that says nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()


@contextmanager
def _listener() -> Iterator[_Listener]:
    listener = _Listener()
    listener._thread.start()
    try:
        yield listener
    finally:
        listener._stop.set()
        listener._thread.join()
        listener.sock.close()


def test_an_invitation_is_saved_while_smtp_is_down_and_sent_once_it_is_back(
        make_app: Any, tenants: dict[str, TenantSet]) -> None:
    port = _free_port()  # nothing listens there: the mail server is down
    app = make_app(smtp_port=port)
    admin = Client(app.test_client())
    assert admin.login(tenants["a"].users[Role.TENANT_ADMIN].email).status_code == 303
    invited = admin.post("/people/invite", {"email": "while.down@a.test", "role": "staff", "name": "Léa"})
    assert invited.status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        person = session.scalars(select(User).where(User.email == "while.down@a.test")).one()
        assert person.status == UserStatus.INVITED
    [job] = _mail_jobs(app, tenants["a"].id)
    assert job.status == JobStatus.QUEUED and job.payload["user_id"] == person.id

    run_mail_jobs(app)  # the worker tries: the server cannot be reached, the job waits for its next attempt
    [job] = _mail_jobs(app, tenants["a"].id)
    assert job.status == JobStatus.QUEUED and job.attempts == 1
    assert "cannot be reached" in job.last_error and job.run_after > utcnow()

    sink = SmtpSink().start(port)  # the server is back; the backoff has passed
    try:
        with app.app_context():
            claimed = jobs.claim("test:0", 60, kinds=[SEND_MAIL], now=job.run_after + timedelta(seconds=1))
            assert claimed is not None and claimed.id == job.id and claimed.attempt == 2
            Worker(app, {SEND_MAIL: send_mail.Handler()}).run_job(claimed)
        msg = sink.wait_for(lambda m: m["To"] == "while.down@a.test", timeout=5)
    finally:
        sink.stop()
    assert _mail_jobs(app, tenants["a"].id)[0].status == JobStatus.DONE
    link = link_in(msg, "invitation")
    assert Client(app.test_client()).get(link).status_code == 200
    # The job's row holds ids and plain values; the link's secret is in no table.
    assert link.rsplit(".", 1)[1] not in json.dumps(job.payload)


def test_password_forgot_does_the_same_work_and_no_smtp_whether_the_account_exists_or_not(
        make_app: Any, smtp: SmtpSink, tenants: dict[str, TenantSet]) -> None:
    known = tenants["b"].users[Role.STAFF].email
    with _listener() as smtp_server:
        app = make_app(smtp_port=smtp_server.port)
        client = Client(app.test_client())
        answers = []
        for email in (known, "nobody@nowhere.test"):
            answer = client.post("/password/forgot", {"email": email})
            answers.append((answer.status_code, answer.headers.get("Location")))
        time.sleep(0.3)
        assert smtp_server.connections == 0  # the request opened no SMTP connection, for either address
    assert answers[0] == answers[1] == (303, "/login")
    # One job each, alike: which addresses have an account is looked up by the worker.
    with app.app_context(), tenancy.all_tenants_session() as session:
        queued = [(j.kind, j.tenant_id, sorted(j.payload)) for j in session.scalars(select(Job).order_by(Job.id))]
    assert len(queued) == 2 and queued[0] == queued[1] and queued[0][::2] == (PASSWORD_RESET, ["email"])
    assert queued[0][1] not in (tenants["a"].id, tenants["b"].id)  # the platform's, whoever the address is
    run_mail_jobs()  # the worker: one reset mail, to the account that exists
    assert link_in(smtp.wait_for(lambda m: m["To"] == known, timeout=5), "password/reset")
    assert [m["To"] for m in smtp.messages] == [known]


def test_the_worker_renders_the_mail_in_the_recipients_language_when_it_sends(
        app: Flask, login_as: Any, smtp: SmtpSink, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    assert admin.post("/people/invite", {"email": "lang@a.test", "role": "staff"}).status_code == 303
    assert smtp.messages == []  # nothing is sent before the worker runs
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        person = session.scalars(select(User).where(User.email == "lang@a.test")).one()
        person.locale = "en" if person.tenant.default_locale == "fr" else "fr"
        expected = person.locale
    msg = mail_to(smtp, "lang@a.test")
    subject = {"en": "You are invited to join", "fr": "Invitation à rejoindre"}[expected]
    assert str(msg["Subject"]).startswith(subject), msg["Subject"]
    assert "Entreprise A" in body_text(msg)


def test_a_mail_whose_link_was_replaced_before_it_left_is_not_sent(
        app: Flask, login_as: Any, smtp: SmtpSink, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    assert admin.post("/people/invite", {"email": "twice@a.test", "role": "staff"}).status_code == 303
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        person_id = session.scalars(select(User.id).where(User.email == "twice@a.test")).one()
    assert admin.post(f"/people/{person_id}/resend").status_code == 303
    link = link_in(mail_to(smtp, "twice@a.test"), "invitation")
    assert [m["To"] for m in smtp.messages] == ["twice@a.test"]  # the first link was dead: only the second left
    assert Client(app.test_client()).get(link).status_code == 200
    assert [j.status for j in _mail_jobs(app, tenants["a"].id)] == [JobStatus.DONE, JobStatus.DONE]


class _Refusing:
    """An SMTP server that refuses every recipient for good (550)."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        return "550 5.1.1 No such user here"


def test_a_mail_the_server_refuses_for_good_fails_at_once(make_app: Any, login_as: Any,
                                                          tenants: dict[str, TenantSet]) -> None:
    from aiosmtpd.controller import Controller

    port = _free_port()
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=port, server_hostname="refusing.test")
    controller.start()
    try:
        app = make_app(smtp_port=port)
        admin = Client(app.test_client())
        assert admin.login(tenants["a"].users[Role.TENANT_ADMIN].email).status_code == 303
        assert admin.post("/people/invite", {"email": "gone@a.test", "role": "staff"}).status_code == 303
        run_mail_jobs(app)
    finally:
        controller.stop()
    [job] = _mail_jobs(app, tenants["a"].id)
    assert job.status == JobStatus.FAILED and job.attempts == 1  # no retry: the address does not exist
    assert "refused" in job.last_error
