"""Improvement actions (issue #16, item 4): proposing, the life cycle and who may do what
(webapp/services/actions.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.errors import NotFound, UserError
from webapp.models import ActionEvent, ActionLink, ActionOrigin, ActionStatus, AuditEvent, ImprovementAction, Role, User
from webapp.services import actions


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user


def test_propose_creates_a_proposed_action_with_its_links_timeline_and_a_journal_without_words(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        call_id = factories.make_call(a.id)
        complaint_id = factories.make_complaint(a.id)
        with tenancy.tenant_session(a.id) as session:
            staff = _user(session, a.users[Role.STAFF].id)
            action = actions.propose(session, staff, title="  Rappeler   les clients  ",
                                     problem="Mme Dupont attend depuis trois semaines.",
                                     origin=ActionOrigin.COMPLAINT, topic="delays", call_id=call_id,
                                     complaint_id=complaint_id)
            action_id = action.id
        with tenancy.tenant_session(a.id) as session:
            stored = session.get(ImprovementAction, action_id)
            assert stored is not None
            action = stored
            assert action.status is ActionStatus.PROPOSED and action.origin is ActionOrigin.COMPLAINT
            assert action.title == "Rappeler les clients" and action.topic == "delays"
            assert action.created_by_id == a.users[Role.STAFF].id and action.version == 1
            links = session.scalars(select(ActionLink).where(ActionLink.action_id == action_id)).all()
            assert {(link.call_id, link.complaint_id) for link in links} == {(call_id, None), (None, complaint_id)}
            events = session.scalars(select(ActionEvent).where(ActionEvent.action_id == action_id)).all()
            assert [(e.kind, e.detail["to"]) for e in events] == [("status", "proposed")]
            journal = session.scalars(select(AuditEvent).where(AuditEvent.action == actions.PROPOSED)).one()
            assert journal.target == f"action:{action_id}"
            assert journal.details["links"] == {"call": call_id, "complaint": complaint_id}
            assert "Dupont" not in str(journal.details) and "Rappeler" not in str(journal.details)


def test_propose_refuses_another_companys_items_and_an_empty_title(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a, b = tenants["a"], tenants["b"]
    with app.app_context():
        theirs = factories.make_complaint(b.id)
        with tenancy.tenant_session(a.id) as session:
            manager = _user(session, a.users[Role.QUALITY_MANAGER].id)
            with pytest.raises(NotFound):
                actions.propose(session, manager, title="Agir", origin="complaint", complaint_id=theirs)
            with pytest.raises(UserError):
                actions.propose(session, manager, title="   ", origin="manual")
            with pytest.raises(UserError):
                actions.propose(session, manager, title="Agir", origin="nowhere")
            assert session.scalars(select(ImprovementAction)).all() == []
