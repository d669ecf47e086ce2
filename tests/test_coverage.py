"""Listening coverage (issue #16, item 6): per department and quarter, the share of people who reached the
company's goal from their own listening, workshops and room check-ins, managers apart, reactions and actions
that came from listening; each person's figure for the company admin only; the goal on company settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import update

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.models import (
    ActionOrigin,
    ImprovementAction,
    Listen,
    ListenSource,
    Reaction,
    ReactionKind,
    Role,
    Tenant,
    User,
    UserStatus,
)
from webapp.services import coverage, listing
from webapp.services.listening import Quarter

Q2 = Quarter(2026, 2)
LONG_AGO = datetime(2026, 1, 5, tzinfo=UTC)


def _at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _person(tenant_id: int, *, department: str = "", manager: bool = False,
            joined: datetime = LONG_AGO, status: UserStatus = UserStatus.ACTIVE) -> int:
    ref = factories.make_user(tenant_id)
    with tenancy.tenant_session(tenant_id) as session:
        user = session.get(User, ref.id)
        assert user is not None
        user.department, user.is_manager, user.created_at, user.status = department, manager, joined, status
    return ref.id


def _listen(session: object, user_id: int, minutes: float, at: datetime,
            source: ListenSource = ListenSource.OWN) -> None:
    session.add(Listen(user_id=user_id, source=source, at=at, seconds=minutes * 60))  # type: ignore[attr-defined]


@pytest.fixture
def company(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, int]:
    return seed_company(app, tenants)


def seed_company(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, int]:
    """Company A in Paris, goal 20 minutes; in Q2 2026: two salespeople, one of them reaching the goal from his
    own listening and a workshop, a sales manager short of it, a person without a department exactly at the
    goal; someone who joined in June, a deactivated person; listening just before the quarter; company B's."""
    a = tenants["a"].id
    with app.app_context():
        clip = factories.make_clip(a, factories.make_ready_call(a))
        ids = {"seller": _person(a, department="Ventes"), "idle": _person(a, department="Ventes"),
               "boss": _person(a, department="Ventes", manager=True), "loner": _person(a),
               "newcomer": _person(a, department="Ventes", joined=_at(6, 2)),
               "gone": _person(a, department="Ventes", status=UserStatus.DEACTIVATED)}
        theirs = _person(tenants["b"].id, department="Ventes")
        with tenancy.tenant_session(a) as session:
            fixture_people = [u.id for u in tenants["a"].users.values()]
            session.execute(update(User).where(User.id.in_(fixture_people)).values(created_at=LONG_AGO))
            tenant = session.get(Tenant, a)
            assert tenant is not None
            tenant.timezone, tenant.listening_goal_minutes = "Europe/Paris", 20
            _listen(session, ids["seller"], 15, _at(4, 10))
            _listen(session, ids["seller"], 6, _at(5, 20), ListenSource.WORKSHOP)
            _listen(session, ids["idle"], 19, _at(3, 31, 21))  # 23:00 in Paris on 31 March: the first quarter
            _listen(session, ids["idle"], 1, _at(3, 31, 22, ), ListenSource.ROOM)  # midnight in Paris: the second
            _listen(session, ids["boss"], 5, _at(6, 30))
            _listen(session, ids["loner"], 20, _at(5, 1), ListenSource.ROOM)
            _listen(session, ids["newcomer"], 30, _at(6, 10))
            _listen(session, ids["gone"], 30, _at(5, 10))
            for who, at in (("seller", _at(4, 10)), ("seller", _at(4, 11)), ("boss", _at(5, 1)), ("idle", _at(3, 1))):
                session.add(Reaction(clip_id=clip, user_id=ids[who], kind=ReactionKind.ACT, created_at=at))
            for origin, at in ((ActionOrigin.REACTION, _at(4, 10)), (ActionOrigin.WORKSHOP, _at(5, 20)),
                               (ActionOrigin.MANUAL, _at(5, 20)), (ActionOrigin.REACTION, _at(7, 2))):
                session.add(ImprovementAction(title="Rappeler", origin=origin, created_by_id=ids["seller"],
                                              created_at=at))
        with tenancy.tenant_session(tenants["b"].id) as session:
            _listen(session, theirs, 60, _at(5, 1))
    return ids


def _report(app: Flask, tenant_id: int, quarter: Quarter = Q2) -> coverage.Coverage:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        return coverage.compute(session, tenant, quarter)


def test_coverage_per_department_managers_apart(app: Flask, tenants: dict[str, TenantSet],
                                                company: dict[str, int]) -> None:
    report = _report(app, tenants["a"].id)
    assert [d.department for d in report.departments] == ["Ventes", ""]  # "no department" last
    sales, none = report.departments
    # Staff: the seller (15 + 6 = 21 min) reached it; "idle" has 1 minute in Q2. Not counted: the newcomer
    # (joined in June), the deactivated person.
    assert (sales.staff.people, sales.staff.reached) == (2, 1) and sales.staff.share == 0.5
    assert (sales.managers.people, sales.managers.reached) == (1, 0)
    assert sales.everyone.seconds == pytest.approx((21 + 1 + 5) * 60)
    assert (sales.reactions, sales.actions) == (3, 2)  # March's reaction, July's and the manual action are out
    # No department: the fixture's three people (no listening) and the loner, exactly at the goal.
    assert (none.staff.people, none.staff.reached) == (4, 1) and none.managers.share is None
    assert (report.total.staff.people, report.total.staff.reached, report.total.managers.people) == (6, 2, 1)
    assert report.goal_minutes == 20


def test_the_first_quarter_and_another_company(app: Flask, tenants: dict[str, TenantSet],
                                               company: dict[str, int]) -> None:
    q1 = _report(app, tenants["a"].id, Quarter(2026, 1))
    sales = q1.departments[0]
    assert sales.department == "Ventes" and sales.everyone.seconds == pytest.approx(19 * 60)
    assert (sales.staff.reached, sales.reactions) == (0, 1)
    theirs = _report(app, tenants["b"].id)
    assert [(d.department, d.everyone.people, d.everyone.reached) for d in theirs.departments if d.department] == [
        ("Ventes", 1, 1)]


def test_below_goal_lists_who_to_remind(app: Flask, tenants: dict[str, TenantSet], company: dict[str, int]) -> None:
    a = tenants["a"].id
    with app.app_context(), tenancy.tenant_session(a) as session:
        tenant = session.get(Tenant, a)
        assert tenant is not None
        below = {p.user_id for p in coverage.below_goal(session, tenant, Q2)}
    assert company["idle"] in below and company["boss"] in below
    assert not below & {company["seller"], company["loner"], company["newcomer"], company["gone"]}


def test_the_page_per_department_for_admins_and_quality_managers(
        company: dict[str, int], login_as: object) -> None:
    qm: Client = login_as("a", Role.QUALITY_MANAGER)  # type: ignore[operator]
    page = qm.get("/coverage?quarter=2026-Q2")
    assert page.status_code == 200
    assert "<caption>Couverture d'écoute par service, T2 2026</caption>" in page.text
    assert "Ventes" in page.text and re.search(r">50\s%<", page.text) and "Sans service" in page.text
    assert "/coverage/people" not in page.text  # a person's figure: the admin's only
    assert qm.get("/coverage/people").status_code == 403
    unknown = qm.get("/coverage?quarter=1999-Q1")  # not offered: the current quarter
    assert unknown.status_code == 200
    admin: Client = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    people = admin.get("/coverage/people?quarter=2026-Q2")
    assert people.status_code == 200 and "Seller" not in people.text
    assert people.text.count("<tr>") == 7 + 1  # the counted people and the header
    assert "21.0" in people.text and "50%" in admin.get("/coverage?quarter=2026-Q2").text


def test_the_per_person_list_pages_filters_by_department_and_finds_a_name_or_an_address(
        app: Flask, tenants: dict[str, TenantSet], company: dict[str, int], login_as: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """At 10,000 people the whole table took 2.7 s (benchmarks/coverage.py): it comes a page at a time, in the
    same order as before, and a department or words of a name or an e-mail address narrow it."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        seller = session.get(User, company["seller"])
        loner = session.get(User, company["loner"])
        tenant = session.get(Tenant, tenants["a"].id)
        assert seller is not None and loner is not None and tenant is not None
        seller.name = "Marc Vendeur"
        session.flush()
        everyone = [p.name or p.email for p in coverage.per_person(session, tenant, Q2)]
        loner_email = loner.email
    admin: Client = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]

    def names(url: str, **kwargs: object) -> list[str]:
        answer = admin.get(url, **kwargs)
        assert answer.status_code == 200
        return re.findall(r'<th scope="row">([^<]*)</th>', answer.text)

    first = admin.get("/coverage/people?quarter=2026-Q2")
    assert "7 people counted in Q2 2026" in first.text and "Page 1 of 3" in first.text
    assert "/coverage/people?quarter=2026-Q2&amp;page=2" in first.text  # the pager keeps the quarter
    pages = [names(f"/coverage/people?quarter=2026-Q2&page={n}") for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [3, 3, 1] and sum(pages, []) == everyone
    sales = names("/coverage/people?quarter=2026-Q2&department=Ventes")
    assert len(sales) == 3 and "Marc Vendeur" in sales  # seller, idle and boss: the newcomer is not counted
    assert names("/coverage/people?quarter=2026-Q2&q=VENDEUR") == ["Marc Vendeur"]
    assert names(f"/coverage/people?quarter=2026-Q2&q={loner_email}") == [loner_email.split("@")[0].title()]
    results = admin.get("/coverage/people?quarter=2026-Q2&q=vendeur", headers={"HX-Request": "true"})
    assert "<h1>" not in results.text and "1 person counted in Q2 2026" in results.text and "21.0" in results.text
    nobody = admin.get("/coverage/people?quarter=2026-Q2&department=Nowhere")
    assert "Nobody matches these filters" in nobody.text and 'value="Nowhere" selected' in nobody.text


def test_the_admin_sets_the_goal_on_company_settings(app: Flask, tenants: dict[str, TenantSet],
                                                     login_as: object) -> None:
    admin: Client = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    assert 'id="listening-goal"' in admin.get("/settings/company").text
    assert admin.post("/coverage/goal", {"goal": "30"}).status_code == 303
    refused = admin.post("/coverage/goal", {"goal": "0"})
    assert refused.status_code == 422 and "from 1 to 6000" in refused.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None and tenant.listening_goal_minutes == 30
    staff: Client = login_as("a", Role.STAFF)  # type: ignore[operator]
    assert staff.post("/coverage/goal", {"goal": "5"}).status_code == 403
    assert staff.get("/coverage").status_code == 403


def _remind(app: Flask, smtp: object, now: datetime, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Move the clock to ``now``: the schedule queues the quarter's job, the worker runs it and sends the mails."""
    from tests.support.smtpsink import SmtpSink
    from worker.handlers import Handler, listening_reminders, send_mail
    from worker.loop import Worker

    assert isinstance(smtp, SmtpSink)
    smtp.clear()
    monkeypatch.setattr(listening_reminders, "utcnow", lambda: now)
    with app.app_context():
        coverage.schedule_listening_reminders(now)
        handlers: dict[str, Handler] = {listening_reminders.KIND: listening_reminders.Handler(),
                                        send_mail.KIND: send_mail.Handler()}
        Worker(app, handlers, once=True).run()
    return list(smtp.messages)


def test_people_below_the_goal_are_reminded_once_in_the_quarters_last_month(
        app: Flask, tenants: dict[str, TenantSet], company: dict[str, int], smtp: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.smtpsink import body_text

    assert _remind(app, smtp, _at(5, 31, 12), monkeypatch) == []  # May: not the quarter's last month yet
    june = _remind(app, smtp, _at(6, 1, 8), monkeypatch)  # 1 June, 10:00 in Paris
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        emails = {u.id: u.email for u in session.query(User)}
    to = sorted(str(m["To"]) for m in june)  # type: ignore[index]
    a_people = {emails[company["idle"]], emails[company["boss"]]} | {u.email for u in tenants["a"].users.values()}
    assert set(to) >= a_people and emails[company["seller"]] not in to and emails[company["loner"]] not in to
    assert emails[company["newcomer"]] not in to and emails[company["gone"]] not in to
    (idle,) = [m for m in june if m["To"] == emails[company["idle"]]]  # type: ignore[index]
    text = body_text(idle)  # type: ignore[arg-type]
    assert "T2 2026" in text and "20 minutes" in text and "1,0" in text and "/room" in text
    assert _remind(app, smtp, _at(6, 15), monkeypatch) == []  # once a quarter
    assert _remind(app, smtp, _at(7, 1), monkeypatch) == []  # the third quarter's last month is September


def test_the_listening_reminders_schedule_is_registered() -> None:
    from webapp.services import periodic
    from worker.handlers import registry

    (schedule,) = [s for s in periodic.SCHEDULES if s.name == "listening_reminders"]
    assert schedule.kinds == {coverage.LISTENING_REMINDERS} and coverage.LISTENING_REMINDERS in registry()
