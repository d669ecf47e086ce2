"""The insight dashboard's daily roll-ups (issue #15, item 3; webapp/services/insight_days.py): on the same
seeded data, the figures read from roll-ups equal the figures counted live, for every period and reader;
every kind of write marks its day, so that no dashboard ever reads a stale roll-up; the periodic build
is queued once per window and runs idempotently; the tables match their migration."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, insert, literal, select, update

from tests.conftest import TenantSet
from tests.support.migrations import differences
from tests.test_insights import END, _at, _seed, _voice
from webapp import tenancy
from webapp.db import utcnow
from webapp.models import (
    Call,
    Channel,
    Complaint,
    InsightDay,
    InsightMark,
    Product,
    Role,
    Source,
    Tag,
    TagKind,
    User,
)
from webapp.services import erasure, ingestion, insight_days, insights, tags

TODAY = utcnow().date()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today is read when each test starts, not when the module is collected: a run that crosses midnight
    would otherwise date its ratings and windows a day behind the code under test."""
    global TODAY  # noqa: PLW0603 - the module's helpers read it
    TODAY = utcnow().date()
TOPICS = ("delivery", "billing", "product", "staff", "waiting")
PRODUCTS = ("Oven", "Fridge", "Hob", "")
AGENTS = ("Alice", "Bob", "")


def _spread(tenant_id: int, *, seed: int = 7, voices: int = 240) -> None:
    """Voices over the 400 days before today, today included: every product, channel and agent, one or two
    topics, passing mentions, reasons, rejected tags and tags the dashboard does not count (personal data,
    complaint expressions)."""
    rng = random.Random(seed)  # noqa: S311 - test data
    with tenancy.tenant_session(tenant_id) as session:
        for _ in range(voices):
            day = TODAY - timedelta(days=rng.randint(0, 400))
            model = rng.choice([Call, Complaint])
            found: list[tuple[TagKind, str, bool]] = [(TagKind.SENTIMENT, rng.choice(["unhappy", "satisfied",
                                                                                   "neutral"]), False)]
            found += [(TagKind.TOPIC, t, False) for t in rng.sample(TOPICS, rng.choice([1, 2]))]
            if rng.random() < .3:
                found.append((TagKind.TOPIC, "website", True))
            if rng.random() < .3:
                found.append((TagKind.REASON, rng.choice(["late", "broken"]), False))
            if rng.random() < .1:
                found.append((TagKind.PII, "phone", False))
            voice_id = _voice(session, model, day, product=rng.choice(PRODUCTS), agent=rng.choice(AGENTS),
                              channel=rng.choice(list(Channel)), tags=tuple(found))
            if rng.random() < .15:  # a person rejected one of its topics
                owner = Tag.call_id if model is Call else Tag.complaint_id
                session.flush()
                tag = session.scalars(select(Tag).where(owner == voice_id, Tag.kind == TagKind.TOPIC)).first()
                assert tag is not None
                tag.rejected = True


@pytest.fixture
def seeded(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, int]:
    with app.app_context():
        ids = _seed(tenants["a"].id, tenants["b"].id)
        _spread(tenants["a"].id)
        _spread(tenants["b"].id, seed=8, voices=40)
        staff = tenants["a"].users[Role.STAFF]
        with tenancy.tenant_session(tenants["a"].id) as session:
            session.add(Product(name="Oven", owner_id=staff.id))
            session.add(Product(name="Hob", owner_id=staff.id))
        return ids


def _build(app: Flask, tenant_id: int) -> int:
    with app.app_context():
        return insight_days.run_build(tenant_id, utcnow())


def _figures(board: insights.Dashboard) -> dict[str, Any]:
    def rows(figures: list[insights.Figure] | None) -> Any:
        if figures is None:
            return None
        return [(f.key, f.label, f.calls, f.complaints, f.base_calls, f.base_complaints, f.change, f.selection,
                 f.base_selection) for f in figures]

    return {"series": [(p.start, p.end, p.calls, p.complaints, p.current) for p in board.series],
            **{name: rows(getattr(board, name)) for name in ("totals", "sentiments", "topics", "mentions", "reasons",
                                                             "products", "channels", "agents")}}


def _both_ways(app: Flask, tenant: TenantSet, role: Role, period: insights.Period, end: date,
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    with app.app_context(), tenancy.tenant_session(tenant.id) as session:
        user = session.get(User, tenant.users[role].id)
        assert user is not None
        rolled = insights.dashboard(session, user, period, end, "en")
        live = insights.dashboard(session, user, period, end, "en", rollups=False)
    return _figures(rolled), _figures(live)


def _assert_fresh(app: Flask, tenant: TenantSet, roles: tuple[Role, ...] = (Role.TENANT_ADMIN,),
                  ends: tuple[date, ...] | None = None) -> None:
    for role in roles:
        for period in insights.Period:
            for end in ends or (END, TODAY):
                rolled, live = _both_ways(app, tenant, role, period, end)
                assert rolled == live, (role, period, end)


def _plan(app: Flask, tenant_id: int, period: insights.Period, end: date) -> insight_days.Plan:
    win = insights.window(period, end)
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return insight_days.plan(session, win.base_start, win.end, TODAY, win.start)


def test_rollups_give_the_live_figures_for_every_period_and_reader(
        app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    a = tenants["a"]
    assert _plan(app, a.id, insights.Period.SEMESTER, END).rolled_end is None  # every day marked: all live
    assert _build(app, a.id) > 150 and _build(app, a.id) == 0  # the second build finds no mark
    for period in insights.Period:  # the days before today come from the roll-ups alone now
        rolled = _plan(app, a.id, period, END)
        assert (rolled.rolled_end, rolled.marked, rolled.live) == (END, (), ())
        today = _plan(app, a.id, period, TODAY)
        assert today.live == ((TODAY, TODAY),) and today.rolled_end == TODAY - timedelta(days=1)
    # 30 November 2025 to 30 November 2026, split on 31 May: whole months but May from month rows
    months = _plan(app, a.id, insights.Period.SEMESTER, END).months
    assert months == (date(2025, 12, 1), *(date(2026, m, 1) for m in (1, 2, 3, 4, 6, 7, 8, 9, 10, 11)))
    _assert_fresh(app, a, roles=(Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF))
    rolled, _live = _both_ways(app, a, Role.STAFF, insights.Period.SEMESTER, TODAY)
    assert {key for key, *_rest in rolled["products"]} == {"Oven", "Hob"}
    assert rolled["totals"][0][2] > 50 and rolled["topics"] and rolled["reasons"] and rolled["mentions"]
    # company B's roll-ups are its own (and unbuilt: counted live, the same figures)
    _assert_fresh(app, tenants["b"], ends=(TODAY,))
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        assert session.scalar(select(func.count()).select_from(InsightDay)) == 0


def _write(app: Flask, tenant: TenantSet, change: Any) -> None:
    with app.app_context(), tenancy.tenant_session(tenant.id) as session:
        actor = session.get(User, tenant.users[Role.QUALITY_MANAGER].id)
        change(session, actor)


def _marked(app: Flask, tenant_id: int) -> set[date]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return set(session.scalars(select(InsightMark.day)))


def test_every_write_marks_its_day_and_the_dashboard_never_reads_a_stale_rollup(
        app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    a = tenants["a"]
    _build(app, a.id)
    old, older = END - timedelta(days=3), END - timedelta(days=40)
    call_id = seeded["call3"]  # received on END - 3 (the seeded week)
    call_day = _at(END - timedelta(days=3)).date()
    writes: list[tuple[str, Any, set[date]]] = [
        ("a new call on an old day", lambda s, _u: _voice(s, Call, older, product="Oven", agent="Alice",
                                                         tags=((TagKind.TOPIC, "staff", False),)), {older}),
        ("a topic rejected", lambda s, u: tags.set_label(s, u, tags.Target(call_id=call_id), "topic", "delivery",
                                                         False), {call_day}),
        ("a sentiment corrected", lambda s, u: tags.set_sentiment(s, u, tags.Target(call_id=call_id), "neutral"),
         {call_day}),
        ("a bulk update of tags", lambda s, _u: s.execute(update(Tag).where(Tag.call_id == call_id,
                                                                            Tag.kind == TagKind.TOPIC)
                                                          .values(mention=True)), {call_day}),
        ("a bulk insert of tags", lambda s, _u: s.execute(insert(Tag), [{"tenant_id": a.id, "call_id": call_id,
                                                                          "kind": "reason", "value": "late"}]),
         {call_day}),
        ("a call's day and product changed", lambda s, _u: _move(s, call_id, older), {call_day, older}),
        ("a complaint deleted", lambda s, _u: s.delete(s.scalars(select(Complaint).where(
            Complaint.received_at >= _at(old, 0), Complaint.received_at < _at(old, 23))).first()), {old}),
        ("a call erased", lambda s, u: erasure.erase_call(s, u, s.get(Call, seeded["call10"]), "not_needed"),
         {END - timedelta(days=3)}),
        ("a CSV import of old dates", lambda s, u: ingestion.import_complaints_csv(
            s, f"text;received_at;product\nLe four est en panne;{older:%d/%m/%Y};Oven\n".encode(),
            ingestion.Origin(Source.CSV, user=u)), {older}),
    ]
    for name, change, days in writes:
        _write(app, a, change)
        assert days <= _marked(app, a.id), name
        _assert_fresh(app, a, ends=(END,))
        _build(app, a.id)
        assert _marked(app, a.id) == set(), name
    _assert_fresh(app, a, roles=(Role.TENANT_ADMIN, Role.STAFF))


def _move(session: Any, call_id: int, day: date) -> None:
    session.commit()  # the call is loaded again, expired: its old day is read from the database
    call = session.get(Call, call_id)
    call.received_at = _at(day)
    call.product = "Hob"


def test_a_write_while_a_build_runs_leaves_its_day_marked(
        app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    a = tenants["a"]
    _build(app, a.id)
    day = END - timedelta(days=5)
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        _voice(session, Call, day, product="Oven")
        marks = list(session.scalars(select(InsightMark.id)))
        assert insight_days.build(session, TODAY) == 1
        assert list(session.scalars(select(InsightMark.id))) == []
        _voice(session, Call, day, product="Oven")  # after the build read its marks
        assert set(session.scalars(select(InsightMark.day))) == {day} and marks
    _assert_fresh(app, a, ends=(END,))


def test_scattered_marks_count_the_whole_window_live(app: Flask, tenants: dict[str, TenantSet],
                                                     seeded: dict[str, int]) -> None:
    a = tenants["a"]
    _build(app, a.id)
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        for i in range(insight_days.MAX_LIVE_RANGES + 1):
            session.add(InsightMark(day=END - timedelta(days=2 * i)))
    win = insights.window(insights.Period.SEMESTER, END)
    assert _plan(app, a.id, insights.Period.SEMESTER, END).live == ((win.base_start, END),)
    every_other = tuple((END - timedelta(days=2 * i),) * 2 for i in range(17, -1, -1))  # the week's 35 days
    assert _plan(app, a.id, insights.Period.WEEK, END).live == every_other
    _assert_fresh(app, a, ends=(END,))


def test_runs_of_days() -> None:
    d = date(2026, 3, 1)
    assert insight_days.runs([d + timedelta(days=n) for n in (5, 0, 1, 2, 7, 6, 9)]) == [
        (d, d + timedelta(days=2)), (d + timedelta(days=5), d + timedelta(days=7)),
        (d + timedelta(days=9), d + timedelta(days=9))]
    assert insight_days.runs([]) == []


def test_the_build_is_queued_once_per_window_and_runs_idempotently(
        app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    from webapp.services import periodic
    from worker.handlers import JobContext, registry

    now = datetime.combine(TODAY, time(12), tzinfo=UTC)
    with app.app_context():
        first = insight_days.schedule_builds(now)
        again = insight_days.schedule_builds(now)
    assert first == 2 and again == 0  # companies A and B (marked by the seed), not the platform
    schedule = next(s for s in periodic.SCHEDULES if s.name == "insight_days")
    assert schedule.kinds == {insight_days.BUILD} and insight_days.BUILD in registry()
    handler = registry()[insight_days.BUILD]
    context = JobContext(job_id=0, kind=insight_days.BUILD, tenant_id=tenants["a"].id, payload={},
                         attempt=1, max_attempts=1, settings=app.config["ECOUTE"])
    with app.app_context():
        handler.run(context)
        handler.run(context)
    assert {d for d in _marked(app, tenants["a"].id)} <= {TODAY}  # today's marks wait for the day to end
    _assert_fresh(app, tenants["a"], ends=(TODAY,))
    with app.app_context():
        assert insight_days.schedule_builds(now + timedelta(minutes=10)) == 1  # company B only


def test_the_rollup_tables_match_their_migration(database: Any) -> None:
    """The migrated database and the models agree on the roll-up tables (columns, types, indexes)."""
    assert differences(database.owner_url, "insight_") == []


def test_bulk_deletes_mark_their_days_and_an_insert_the_hook_cannot_read_is_refused(
        app: Flask, tenants: dict[str, TenantSet], seeded: dict[str, int]) -> None:
    from webapp.models.insight_days import UnmarkableStatement

    a = tenants["a"]
    older = END - timedelta(days=40)
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        _voice(session, Complaint, older, product="Oven", tags=((TagKind.REASON, "late", False),))
    _build(app, a.id)
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        session.execute(delete(Complaint).where(Complaint.received_at >= _at(older, 0),
                                                Complaint.received_at < _at(older, 23)))
    assert older in _marked(app, a.id)
    _assert_fresh(app, a, ends=(END,))
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        copy = select(Tag.tenant_id, Tag.call_id, Tag.kind, literal("billing")).where(Tag.call_id.is_not(None))
        with pytest.raises(UnmarkableStatement):
            session.execute(insert(Tag).from_select(["tenant_id", "call_id", "kind", "value"], copy))
