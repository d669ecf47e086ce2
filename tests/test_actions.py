"""Improvement actions (issue #16, item 4): proposing, the life cycle and who may do what
(webapp/services/actions.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.conftest import TenantSet
from webapp import mail, tenancy
from webapp.errors import NotFound, UserError
from webapp.jobs import Job
from webapp.models import (
    ActionEvent,
    ActionLink,
    ActionOrigin,
    ActionStatus,
    AuditEvent,
    ImprovementAction,
    Role,
    Tag,
    TagKind,
    User,
)
from webapp.services import actions, register


def make_action(t: TenantSet, *, owner: Role | None = Role.STAFF, title: str = "Raccourcir l'attente") -> int:
    """An action proposed by the company's quality manager, owned by its staff member (by default); its id."""
    with tenancy.tenant_session(t.id) as session:
        manager = _user(session, t.users[Role.QUALITY_MANAGER].id)
        return actions.propose(session, manager, title=title, origin=ActionOrigin.MANUAL, topic="delays",
                               owner_id=t.users[owner].id if owner else None).id


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


def _propose(tenant: TenantSet, *, owner: Role | None = None) -> int:
    with tenancy.tenant_session(tenant.id) as session:
        manager = _user(session, tenant.users[Role.QUALITY_MANAGER].id)
        action = actions.propose(session, manager, title="Raccourcir l'attente", origin="manual", topic="delays",
                                 owner_id=tenant.users[owner].id if owner else None)
        return action.id


def _move(tenant: TenantSet, role: Role, action_id: int, to: str, **kwargs: Any) -> None:
    with tenancy.tenant_session(tenant.id) as session:
        user = _user(session, tenant.users[role].id)
        actions.move(session, user, actions.get_action(session, user, action_id), to, **kwargs)


def test_the_life_cycle_runs_from_proposed_to_verified_and_reopens(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        action_id = _propose(a, owner=Role.STAFF)
        for to in ("accepted", "in_progress", "done"):
            _move(a, Role.STAFF, action_id, to)  # the owner moves their own action
        with pytest.raises(actions.TransitionRefused):
            _move(a, Role.STAFF, action_id, "verified")
        with pytest.raises(actions.TransitionRefused):  # no evidence yet: it was done a moment ago
            _move(a, Role.QUALITY_MANAGER, action_id, "verified")
        with tenancy.tenant_session(a.id) as session:
            action = session.get(ImprovementAction, action_id)
            assert action is not None and action.done_at is not None
            action.done_at -= timedelta(days=2)
        _move(a, Role.QUALITY_MANAGER, action_id, "verified")
        with tenancy.tenant_session(a.id) as session:
            action = session.get(ImprovementAction, action_id)
            assert action is not None and action.status is ActionStatus.VERIFIED
            assert action.done_at is not None and action.verified_by_id == a.users[Role.QUALITY_MANAGER].id
            assert action.version == 5
        _move(a, Role.TENANT_ADMIN, action_id, "in_progress", comment="Les appels reviennent.")
        with tenancy.tenant_session(a.id) as session:
            action = session.get(ImprovementAction, action_id)
            assert action is not None and action.status is ActionStatus.IN_PROGRESS
            assert action.done_at is None and action.verified_at is None
            moves = [(line.event.detail.get("from"), line.event.detail.get("to"))
                     for line in actions.timeline(session, action)]
            assert moves[-1] == ("verified", "in_progress") and len(moves) == 6
            # the owner and the proposer were told of each move they did not make (mail jobs)
            mails = session.scalars(select(Job).where(Job.kind == "send_mail")).all()
            assert {m.payload["template"] for m in mails} == {"action_status", "action_assigned"}


def test_impossible_moves_are_refused_with_the_reason(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        action_id = _propose(a)
        with pytest.raises(actions.TransitionRefused):
            _move(a, Role.QUALITY_MANAGER, action_id, "done")
        with pytest.raises(actions.TransitionRefused):
            _move(a, Role.QUALITY_MANAGER, action_id, "rejected")
        _move(a, Role.QUALITY_MANAGER, action_id, "rejected", reason="Déjà fait par le service client.")
        with pytest.raises(actions.TransitionRefused):
            _move(a, Role.QUALITY_MANAGER, action_id, "accepted")


def test_a_stale_form_is_refused(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        action_id = _propose(a)
        _move(a, Role.QUALITY_MANAGER, action_id, "accepted", version=1)
        with pytest.raises(actions.StaleAction):
            _move(a, Role.TENANT_ADMIN, action_id, "rejected", version=1, reason="Trop tard")


def test_staff_see_only_what_they_proposed_or_own(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        action_id = _propose(a)
        with tenancy.tenant_session(a.id) as session:
            staff = _user(session, a.users[Role.STAFF].id)
            with pytest.raises(NotFound):
                actions.get_action(session, staff, action_id)
            assert actions.list_actions(session, actions.ActionFilters(), staff).total == 0
            manager = _user(session, a.users[Role.QUALITY_MANAGER].id)
            action = actions.get_action(session, manager, action_id)
            actions.plan(session, manager, action, owner_id=staff.id, due_on=date(2026, 1, 5))
            with pytest.raises(actions.TransitionRefused):
                actions.plan(session, staff, action, owner_id=None, due_on=None)
        with tenancy.tenant_session(a.id) as session:
            staff = _user(session, a.users[Role.STAFF].id)
            action = actions.get_action(session, staff, action_id)
            actions.comment(session, staff, action, "Je m'en occupe.")
            page = actions.list_actions(session, actions.ActionFilters.from_args({"due": "overdue"}), staff)
            assert [row.action.id for row in page.items] == [action_id] and page.items[0].overdue


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_owners_mails_render_with_the_title_and_statuses_only(app: Flask, locale: str) -> None:
    with app.app_context():
        settings = app.config["ECOUTE"]
        assigned = mail.build_message(settings, "x@example.test", actions.ASSIGNED_TEMPLATE, locale,
                                      title="Raccourcir l'attente", action_id=7, due="2026-12-24",
                                      tenant_name="Acme", base_url="https://ecoute.test")
        assert "Raccourcir" in str(assigned["Subject"]) and "/actions/7" in assigned.get_content()
        # the due day in words, in the owner's language (it was "2026-12-24")
        due = {"fr": "jeudi 24 décembre 2026", "en": "Thursday, December 24, 2026"}[locale]
        assert due in assigned.get_content().replace("\u202f", " ") and "2026-12-24" not in assigned.get_content()
        moved = mail.build_message(settings, "x@example.test", actions.STATUS_TEMPLATE, locale, title="Agir",
                                   action_id=7, status="done", previous="in_progress", tenant_name="Acme",
                                   base_url="https://ecoute.test")
        assert "Agir" in str(moved["Subject"]) and "/actions/7" in moved.get_content()


def test_a_manager_starts_an_action_from_a_complaint_and_its_owner_moves_it(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"]
    with app.app_context():
        complaint_id = factories.make_complaint(a.id)
    manager = login_as("a", Role.QUALITY_MANAGER)
    form = manager.get(f"/actions/new?complaint_id={complaint_id}")
    assert form.status_code == 200 and f'name="complaint_id" value="{complaint_id}"' in form.text
    assert 'name="origin" value="complaint"' in form.text
    created = manager.post("/actions/new", {"title": "Réparer les fours", "origin": "complaint",
                                            "complaint_id": str(complaint_id), "topic": "delays",
                                            "owner_id": str(a.users[Role.STAFF].id), "due_on": "2026-12-24"})
    assert created.status_code == 303
    page = manager.get(created.headers["Location"])
    assert "Réparer les fours" in page.text and f"/complaints/{complaint_id}" in page.text
    action_id = int(created.headers["Location"].rsplit("/", 1)[1])
    owner = login_as("a", Role.STAFF)
    assert owner.post(f"/actions/{action_id}/status", {"status": "accepted", "version": "1"}).status_code == 303
    stale = owner.post(f"/actions/{action_id}/status", {"status": "in_progress", "version": "1"})
    assert stale.status_code == 409 and 'id="form-error"' in stale.text
    refused = owner.post(f"/actions/{action_id}/status", {"status": "rejected", "version": "2", "reason": "Non"})
    assert refused.status_code == 422
    assert owner.post(f"/actions/{action_id}/comment", {"comment": "C'est parti."}).status_code == 303
    assert "C&#39;est parti." in owner.get(f"/actions/{action_id}").text
    assert owner.post(f"/actions/{action_id}/plan", {"owner_id": ""}).status_code == 403
    assert "Réparer les fours" in owner.get("/actions").text


def test_staff_do_not_reach_actions_of_others(app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    with app.app_context():
        action_id = make_action(tenants["a"], owner=None)
    staff = login_as("a", Role.STAFF)
    assert staff.get(f"/actions/{action_id}").status_code == 404
    assert staff.post(f"/actions/{action_id}/comment", {"comment": "?"}).status_code == 404
    assert "Raccourcir" not in staff.get("/actions").text
    assert staff.get("/actions/new").status_code == 403


def test_start_an_action_from_a_clip_a_register_entry_an_alert_and_a_dashboard_number(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = factories.make_clip(a.id, factories.make_ready_call(a.id))
        complaint_id = factories.make_complaint(a.id)
        alert_id = factories.make_alert(a.id)
        with tenancy.tenant_session(a.id) as session:
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.TOPIC, value="delays"))
            entry = register.entry_of(session, complaint_id=complaint_id)
            assert entry is not None
            entry_id = entry.id
    manager = login_as("a", Role.QUALITY_MANAGER)
    for page, start in ((f"/clips/{clip_id}", f"/actions/new?clip_id={clip_id}"),
                        (f"/complaints/{complaint_id}", f"/actions/new?complaint_id={complaint_id}"),
                        (f"/register/{entry_id}", f"/actions/new?register_entry_id={entry_id}"),
                        ("/alerts", f"/actions/new?alert_id={alert_id}")):
        assert start in manager.get(page).text.replace("&amp;", "&"), page
        assert manager.get(start).status_code == 200, start
    dashboard = manager.get("/insights").text.replace("&amp;", "&")
    assert "/actions/new?origin=dashboard" in dashboard and "topic=delays" in dashboard
    form = manager.get("/actions/new?origin=dashboard&topic=delays&origin_query=topic%3Ddelays").text
    assert 'name="topic" maxlength="60" value="delays"' in form and 'value="dashboard"' in form
    clip_form = manager.get(f"/actions/new?clip_id={clip_id}").text
    assert 'name="origin" value="clip"' in clip_form
    # staff see no "Start an action" where they may read (the dashboard)
    assert "/actions/new" not in login_as("a", Role.STAFF).get("/insights").text
