"""The periodic schedules (webapp/services/periodic.py) with the clock moved: each window queued once,
whatever the number of workers, a schedule run only when due and only by a worker that handles its jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import TenantSet
from webapp import jobs, tenancy
from webapp.config import Settings
from webapp.services import periodic, windows
from webapp.services.periodic import Schedule, Scheduler

KIND = "record"


class Clocks:
    """The monotonic clock the scheduler waits on and the wall clock that names the window, moved together."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)

    def move(self, delta: timedelta) -> None:
        self.seconds += delta.total_seconds()
        self.now += delta


def _daily(now: datetime) -> int:
    """A schedule as a service writes one: one job per company and day."""
    day = windows.day_window(now)
    return sum(jobs.enqueue_once(t, kind=KIND, idempotency_key=f"record:{day}", payload={"day": day})
               for t in windows.company_ids())


def _scheduler(settings: Settings, clocks: Clocks, **kwargs: Any) -> Scheduler:
    schedule = Schedule("daily-record", timedelta(hours=1), frozenset({KIND}), _daily)
    options: dict[str, Any] = {"kinds": {KIND}, "schedules": (schedule,), **kwargs}
    return Scheduler(settings.with_overrides({"schedules": True}), monotonic=lambda: clocks.seconds,
                     clock=lambda: clocks.now, **options)


def _keys(tenant_id: int) -> list[str]:
    with tenancy.tenant_session(tenant_id) as session:
        return list(session.scalars(select(jobs.Job.idempotency_key).where(jobs.Job.kind == KIND)
                                    .order_by(jobs.Job.id)))


def test_each_window_is_queued_once_whatever_the_number_of_workers(
        app: Flask, tenants: dict[str, TenantSet], settings: Settings) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    clocks = Clocks()
    here, there = _scheduler(settings, clocks), _scheduler(settings, clocks)  # two workers, two machines
    with app.app_context():
        assert here.run_due() == {"daily-record": 2}  # at once when the worker starts: one per company
        assert there.run_due() == {"daily-record": 0}  # the other worker finds them queued
        assert here.run_due() == {}  # not due again before an hour
        clocks.move(timedelta(hours=1))
        assert here.run_due() == {"daily-record": 0}  # due, but the day's window is queued already
        clocks.move(timedelta(days=1))
        assert there.run_due() == {"daily-record": 2} and here.run_due() == {"daily-record": 0}
        assert _keys(a) == _keys(b) == ["record:2026-12-03", "record:2026-12-04"]


def test_a_worker_without_the_handlers_or_with_schedules_off_queues_nothing(
        app: Flask, tenants: dict[str, TenantSet], settings: Settings) -> None:
    clocks = Clocks()
    with app.app_context():
        assert _scheduler(settings, clocks, kinds={"process_call"}).run_due() == {}
        off = _scheduler(settings, clocks)
        off.settings = settings.with_overrides({"schedules": False})
        assert off.run_due() == {}
        assert _keys(tenants["a"].id) == []


def test_a_failing_schedule_leaves_the_others_running_and_is_tried_again(
        app: Flask, tenants: dict[str, TenantSet], settings: Settings) -> None:
    clocks = Clocks()
    calls: list[datetime] = []

    def broken(now: datetime) -> int:
        calls.append(now)
        raise RuntimeError("the database is down")

    schedules = (Schedule("broken", timedelta(minutes=10), frozenset({KIND}), broken),
                 Schedule("daily-record", timedelta(hours=1), frozenset({KIND}), _daily))
    with app.app_context():
        scheduler = _scheduler(settings, clocks, schedules=schedules)
        assert scheduler.run_due() == {"daily-record": 2}
        clocks.move(timedelta(minutes=10))
        assert scheduler.run_due() == {}
        assert len(calls) == 2


def test_the_registry_names_each_schedule_once_with_kinds_the_worker_knows() -> None:
    from worker.handlers import registry

    names = [s.name for s in periodic.SCHEDULES]
    assert len(names) == len(set(names)) and "retention" in names
    assert all(s.kinds and s.kinds <= set(registry()) for s in periodic.SCHEDULES)
    assert all(s.every >= timedelta(minutes=1) for s in periodic.SCHEDULES)


def test_retention_keeps_its_own_setting_and_zero_turns_it_off(settings: Settings) -> None:
    (retention,) = [s for s in periodic.SCHEDULES if s.name == "retention"]
    on = settings.with_overrides({"schedules": True, "retention_check_s": 600.0})
    assert retention.interval_s(on) == 600.0
    kinds = set(retention.kinds)
    assert Scheduler(on, kinds=kinds).active() == [retention]
    assert retention not in Scheduler(on.with_overrides({"retention_check_s": 0.0}), kinds=kinds).active()


def test_window_keys() -> None:
    now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert windows.day_window(now) == "2026-12-31"
    assert windows.week_window(now) == "2026-W53"
    assert windows.week_window(datetime(2027, 1, 4, tzinfo=UTC)) == "2027-W01"
