"""The database layer: on SQLite, a request that writes takes the write lock up front.

A read transaction that then writes fails at once ("database is locked") if another transaction
committed in between: SQLite's busy timeout does not apply to that upgrade. Journalling a listen
reads (was it heard in the last half hour?) then writes; here another writer commits while that
request is between its read and its write, as the worker does when it finishes a job while someone
presses play.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import AuditEvent, Role
from webapp.services import audit


def test_listening_while_another_transaction_commits_is_journalled(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_call(a)
    qm = login_as("a", Role.QUALITY_MANAGER)
    real_record = audit.record
    writers: list[threading.Thread] = []

    def other_writer() -> None:
        with app.app_context(), tenancy.tenant_session(a) as session:
            session.add(AuditEvent(action="test.concurrent"))

    def record_after_another_commit(*args: Any, **kwargs: Any) -> AuditEvent:
        writer = threading.Thread(target=other_writer)
        writers.append(writer)
        writer.start()
        writer.join(timeout=1.0)  # done at once unless this request holds the write lock already
        return real_record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", record_after_another_commit)
    response = qm.raw.post(f"/calls/{call_id}/listened", headers={"X-CSRFToken": qm.csrf_token()})
    for writer in writers:
        writer.join(timeout=30)
    assert response.status_code == 204, response.text[:300]
    with app.app_context(), tenancy.tenant_session(a) as session:
        counts = dict(session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)).all())
    assert (counts.get("call.listened"), counts.get("test.concurrent")) == (1, 1)
