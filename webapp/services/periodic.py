"""THE registry of periodic schedules: what the worker queues on its own, and how often.

Each :class:`Schedule` names a function that queues the jobs of the current window (a day, a
week, a half-year) and returns how many it queued. The worker's first claim loop runs
:meth:`Scheduler.run_due` before each claim; a schedule runs when its ``every`` has passed
since it last ran in this process (at once when the process starts).

A schedule's function must be idempotent over its window: each job it queues carries an
idempotency key naming the window (``reminders:2026-12-03``, ``digest:2026-W49``), queued
with :func:`webapp.jobs.enqueue_once`. Workers on many machines may then run the same
schedule at the same moment: the queue's unique key lets one insert win, so nothing is
queued twice and ``every`` is only how soon a new window (or a new company) is noticed.
The windows and the list of companies come from webapp/services/windows.py (this registry
imports every schedule's service, so they cannot import it).

To add one: write ``schedule_<thing>(now: datetime) -> int`` in your service and add a
:class:`Schedule` to :data:`SCHEDULES` naming the job kinds it queues (a worker without a
handler for them, as in tests and benchmarks, leaves it alone).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from webapp.config import Settings
from webapp.db import utcnow
from webapp.services import alerts, coverage, erasure, insight_days, reminders, review_packs, scorecards

log = logging.getLogger("worker.periodic")


@dataclass(frozen=True)
class Schedule:
    """One periodic schedule: ``queue(now)`` queues the jobs of ``now``'s window and says how many."""

    name: str
    #: How often a worker runs ``queue``; it queues nothing twice in a window, so this is only how soon it notices.
    every: timedelta
    #: The job kinds it queues: a worker without a handler for each of them does not run it.
    kinds: frozenset[str]
    queue: Callable[[datetime], int]
    #: A Settings field (seconds) that replaces ``every``; 0 there turns the schedule off.
    setting: str = ""

    def interval_s(self, settings: Settings) -> float:
        """Seconds between runs for these settings; 0: never."""
        if self.setting:
            return float(getattr(settings, self.setting))
        return self.every.total_seconds()


#: Every periodic schedule, by name.
SCHEDULES: tuple[Schedule, ...] = (
    Schedule("retention", timedelta(hours=1), frozenset({erasure.APPLY_RETENTION}), erasure.schedule_retention,
             setting="retention_check_s"),
    Schedule("reminders", timedelta(minutes=15), frozenset({reminders.SEND_REMINDERS}), reminders.schedule_reminders),
    Schedule("rating_rule", timedelta(hours=1), frozenset({scorecards.RATING_RULE}), scorecards.schedule_rating_rule),
    Schedule("alerts", timedelta(hours=1), frozenset({alerts.EVALUATE_ALERTS}), alerts.schedule_evaluations),
    # In a quarter's last month, people below the listening goal are reminded (once a quarter each).
    Schedule("listening_reminders", timedelta(hours=6), frozenset({coverage.LISTENING_REMINDERS}),
             coverage.schedule_listening_reminders),
    # The insight dashboard's daily roll-ups of the days writes have marked (counted live until then).
    Schedule("insight_days", timedelta(minutes=10), frozenset({insight_days.BUILD}), insight_days.schedule_builds),
    Schedule("alert_digests", timedelta(minutes=30), frozenset({alerts.ALERT_DIGEST}), alerts.schedule_digests),
    # Twice a year, each product's owner is mailed its review pack (queued in the first days of January and July).
    Schedule("review_packs", timedelta(hours=6), frozenset({review_packs.REVIEW_PACK_MAIL}),
             review_packs.schedule_review_packs),
    # The review packs' PDFs are kept a day (they hold customers' words): a daily purge deletes them.
    Schedule("review_pack_pdfs", timedelta(hours=6), frozenset({review_packs.REVIEW_PACK_PURGE}),
             review_packs.schedule_pdf_purge),
)


@dataclass
class Scheduler:
    """Runs the schedules that are due, in one worker process (its first claim loop).

    ``kinds``: the job kinds this worker handles; ``monotonic`` and ``clock`` are replaced by tests.
    """

    settings: Settings
    kinds: Collection[str]
    schedules: Iterable[Schedule] = SCHEDULES
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = utcnow
    #: When each schedule next runs (monotonic seconds); absent: at once.
    _next: dict[str, float] = field(default_factory=dict, init=False)

    def active(self) -> list[Schedule]:
        """The schedules this worker runs: switched on, and each of their kinds handled here."""
        if not self.settings.schedules:
            return []
        return [s for s in self.schedules if s.interval_s(self.settings) > 0 and s.kinds <= set(self.kinds)]

    def run_due(self) -> dict[str, int]:
        """Run each active schedule whose time has come; how many jobs each queued.

        A schedule that fails is logged and tried again after its ``every``; the others still run.
        """
        queued: dict[str, int] = {}
        for schedule in self.active():
            if self.monotonic() < self._next.get(schedule.name, 0.0):
                continue
            self._next[schedule.name] = self.monotonic() + schedule.interval_s(self.settings)
            try:
                queued[schedule.name] = count = schedule.queue(self.clock())
            except Exception:  # the database is down, most likely: the next run tries again
                log.exception("the %s schedule failed; trying again in %s", schedule.name, schedule.every)
                continue
            if count:
                log.info("%s: %d job(s) queued", schedule.name, count)
        return queued
