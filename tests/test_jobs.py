"""The queue (webapp.jobs): claim, leases, finish, fail with backoff, release, retry, fairness.

Time is a fake clock passed as ``now=``: leases run out and backoffs pass without sleeping.
Jobs are enqueued at the real time, so the clock starts a second after that.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import TenantSet
from webapp import jobs, tenancy
from webapp.db import utcnow
from webapp.jobs import PRIORITY_BULK, PRIORITY_INTERACTIVE, FailOutcome, Job, JobStatus

LEASE = 60


class Clock:
    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self, seconds: float = 0.0) -> datetime:
        """Move on by ``seconds`` and tell the time."""
        self.now += timedelta(seconds=seconds)
        return self.now

    def catch_up(self) -> None:
        """Move past the jobs just queued (their ``run_after`` is the real time when they were added): queuing
        hundreds of jobs may take longer than the clock's second of slack on a loaded machine."""
        self.now = max(self.now, utcnow() + timedelta(seconds=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def add(tenant_id: int, key: str, *, kind: str = "record", priority: int = PRIORITY_INTERACTIVE,
        max_attempts: int = 5, payload: dict[str, Any] | None = None) -> int:
    with tenancy.tenant_session(tenant_id) as session:
        job = jobs.enqueue(session, kind=kind, idempotency_key=key, payload=payload or {"n": key},
                           priority=priority, max_attempts=max_attempts)
        session.flush()
        return job.id


def add_many(tenant_id: int, count: int, prefix: str, **kwargs: Any) -> list[int]:
    with tenancy.tenant_session(tenant_id) as session:
        added = [jobs.enqueue(session, kind="record", idempotency_key=f"{prefix}{i}", payload={}, **kwargs)
                 for i in range(count)]
        session.flush()
        return [job.id for job in added]


def row(tenant_id: int, job_id: int) -> Job:
    with tenancy.tenant_session(tenant_id) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_claim_leases_the_job_to_one_worker(app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        job_id = add(a, "one", payload={"call_id": 7})
        claimed = jobs.claim("host:1:0", LEASE, now=clock())
        assert claimed is not None
        assert (claimed.id, claimed.kind, claimed.tenant_id, claimed.payload, claimed.attempt,
                claimed.max_attempts) == (job_id, "record", a, {"call_id": 7}, 1, 5)
        stored = row(a, job_id)
        assert (stored.status, stored.attempts, stored.locked_by) == (JobStatus.RUNNING, 1, "host:1:0")
        assert stored.locked_until == clock.now + timedelta(seconds=LEASE) == claimed.locked_until
        assert stored.claimed_at == clock.now
        assert jobs.claim("host:2:0", LEASE, now=clock(LEASE - 1)) is None  # leased: nobody else gets it

        assert jobs.finish(claimed, now=clock())
        done = row(a, job_id)
        assert (done.status, done.finished_at, done.locked_until) == (JobStatus.DONE, clock.now, None)
        assert jobs.claim("host:2:0", LEASE, now=clock(3600)) is None


def test_expired_lease_is_claimed_again_and_the_old_holder_can_no_longer_write(
        app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        job_id = add(a, "one")
        first = jobs.claim("dead:1:0", LEASE, now=clock())
        assert first is not None
        assert jobs.claim("live:2:0", LEASE, now=clock(LEASE)) is None  # at the lease's end, not yet
        second = jobs.claim("live:2:0", LEASE, now=clock(1))
        assert second is not None and second.id == job_id and second.attempt == 2

        # The first worker comes back to life: every write of its outdated claim is refused.
        assert not jobs.renew(first, LEASE, now=clock())
        assert not jobs.finish(first, now=clock())
        assert jobs.fail(first, "late", permanent=True, now=clock()) is FailOutcome.LOST
        assert not jobs.release(first, now=clock())
        stored = row(a, job_id)
        assert (stored.status, stored.locked_by, stored.attempts, stored.last_error) == \
            (JobStatus.RUNNING, "live:2:0", 2, "")

        assert jobs.finish(second, now=clock())
        assert row(a, job_id).status is JobStatus.DONE


def test_same_worker_id_cannot_finish_a_claim_it_lost(app: Flask, tenants: dict[str, TenantSet],
                                                       clock: Clock) -> None:
    """A claim is fenced by its attempt too: a loop's outdated claim cannot finish its own later one."""
    a = tenants["a"].id
    with app.app_context():
        add(a, "one")
        old = jobs.claim("host:1:0", LEASE, now=clock())
        new = jobs.claim("host:1:0", LEASE, now=clock(LEASE + 1))
        assert old is not None and new is not None and new.attempt == 2
        assert not jobs.finish(old, now=clock())
        assert jobs.finish(new, now=clock())


def test_renewed_lease_keeps_the_job(app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        job_id = add(a, "one")
        claimed = jobs.claim("host:1:0", LEASE, now=clock())
        assert claimed is not None
        for _beat in range(5):
            assert jobs.renew(claimed, LEASE, now=clock(LEASE / 3))
        assert row(a, job_id).locked_until == clock.now + timedelta(seconds=LEASE)
        assert jobs.claim("host:2:0", LEASE, now=clock(LEASE - 1)) is None
        assert jobs.claim("host:2:0", LEASE, now=clock(2)) is not None  # no more beats: the lease runs out


def test_backoff_doubles_from_10_s_up_to_an_hour_with_20_percent_jitter() -> None:
    rng = random.Random(42)  # noqa: S311 - a fixed sequence for the test
    for attempt, nominal in [(1, 10), (2, 20), (3, 40), (4, 80), (9, 2560), (10, 3600), (11, 3600), (60, 3600)]:
        delays = [jobs.backoff(attempt, rng) for _ in range(200)]
        assert all(0.8 * nominal <= d <= 1.2 * nominal for d in delays), (attempt, min(delays), max(delays))
        assert min(delays) < 0.85 * nominal and max(delays) > 1.15 * nominal  # jitter spreads them


def test_failures_are_retried_after_a_backoff_then_fail_for_good(app: Flask, tenants: dict[str, TenantSet],
                                                                 clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        job_id = add(a, "flaky", max_attempts=3)
        for attempt, nominal in [(1, 10), (2, 20)]:
            claimed = jobs.claim("host:1:0", LEASE, now=clock(1))
            assert claimed is not None and claimed.attempt == attempt
            failed_at = clock(1)
            assert jobs.fail(claimed, f"503 number {attempt}", permanent=False, now=failed_at) is FailOutcome.RETRYING
            stored = row(a, job_id)
            assert (stored.status, stored.attempts, stored.last_error, stored.locked_by) == \
                (JobStatus.QUEUED, attempt, f"503 number {attempt}", None)
            wait = (stored.run_after - failed_at).total_seconds()
            assert 0.8 * nominal <= wait <= 1.2 * nominal
            assert jobs.claim("host:1:0", LEASE, now=failed_at + timedelta(seconds=wait - 0.5)) is None
            clock.now = stored.run_after

        last = jobs.claim("host:1:0", LEASE, now=clock())
        assert last is not None and last.attempt == 3
        assert jobs.fail(last, "503 again", permanent=False, now=clock(1)) is FailOutcome.FAILED
        stored = row(a, job_id)
        assert (stored.status, stored.attempts, stored.last_error, stored.finished_at) == \
            (JobStatus.FAILED, 3, "503 again", clock.now)
        assert jobs.claim("host:1:0", LEASE, now=clock(86400)) is None


def test_permanent_error_fails_at_once(app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        job_id = add(a, "bad audio")
        claimed = jobs.claim("host:1:0", LEASE, now=clock())
        assert claimed is not None
        message = "This file can't be read as audio. Upload an MP3, WAV or MP4 file."
        assert jobs.fail(claimed, message, permanent=True, now=clock()) is FailOutcome.FAILED
        stored = row(a, job_id)
        assert (stored.status, stored.attempts, stored.last_error) == (JobStatus.FAILED, 1, message)


def test_release_puts_the_job_back_without_counting_the_attempt(app: Flask, tenants: dict[str, TenantSet],
                                                                clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        job_id = add(a, "one")
        claimed = jobs.claim("host:1:0", LEASE, now=clock())
        assert claimed is not None and jobs.release(claimed, now=clock())
        stored = row(a, job_id)
        assert (stored.status, stored.attempts, stored.locked_by, stored.locked_until) == \
            (JobStatus.QUEUED, 0, None, None)
        again = jobs.claim("host:2:0", LEASE, now=clock())
        assert again is not None and again.attempt == 1


def test_retry_queues_a_failed_job_with_attempts_reset(app: Flask, tenants: dict[str, TenantSet],
                                                       clock: Clock) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        job_id = add(a, "bad")
        done_id = add(a, "good")
        for _ in range(2):
            claimed = jobs.claim("host:1:0", LEASE, now=clock())
            assert claimed is not None
            if claimed.id == job_id:
                jobs.fail(claimed, "unreadable", permanent=True, now=clock())
            else:
                jobs.finish(claimed, now=clock())

        with tenancy.tenant_session(b) as session:  # another tenant's job is out of reach
            assert session.get(Job, job_id) is None
        with tenancy.tenant_session(a) as session:
            failed, done = session.get(Job, job_id), session.get(Job, done_id)
            assert failed is not None and done is not None
            assert jobs.retry(session, failed)
            assert (failed.status, failed.attempts) == (JobStatus.QUEUED, 0)
            assert not jobs.retry(session, failed)  # a second click changes nothing
            assert not jobs.retry(session, done)
        stored = row(a, job_id)
        assert (stored.status, stored.attempts, stored.last_error, stored.finished_at) == \
            (JobStatus.QUEUED, 0, "", None)
        assert row(a, done_id).status is JobStatus.DONE
        again = jobs.claim("host:1:0", LEASE, now=clock(1))
        assert again is not None and (again.id, again.attempt) == (job_id, 1)


def test_interactive_jobs_go_before_bulk_ones(app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        bulk = add(a, "bulk", priority=PRIORITY_BULK)
        upload = add(a, "upload", priority=PRIORITY_INTERACTIVE)
        order = [jobs.claim("host:1:0", LEASE, now=clock(0.001)) for _ in range(2)]
        assert [c.id for c in order if c] == [upload, bulk]


def _claim_all(count: int, clock: Clock, *, finish: bool) -> list[jobs.ClaimedJob]:
    claimed = []
    for _ in range(count):
        job = jobs.claim("host:1:0", LEASE, now=clock(0.001))
        assert job is not None
        claimed.append(job)
        if finish:
            assert jobs.finish(job, now=clock(0.001))
    return claimed


@pytest.mark.parametrize("finish", [True, False], ids=["one-at-a-time", "all-held"])
def test_a_tenants_backlog_does_not_starve_another_tenant(app: Flask, tenants: dict[str, TenantSet], clock: Clock,
                                                          finish: bool) -> None:
    """Tenant A queued 200 bulk jobs; B then uploads one call and imports another.

    Whether one worker finishes each job before the next (one-at-a-time) or many workers hold
    them (all-held), B's upload goes next and B's bulk job within the next two claims.
    """
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        backlog = add_many(a, 200, "import-", priority=PRIORITY_BULK)
        upload = add(b, "upload", priority=PRIORITY_INTERACTIVE)
        imported = add(b, "import", priority=PRIORITY_BULK)
        clock.catch_up()
        order = [job.id for job in _claim_all(6, clock, finish=finish)]
        assert order[0] == upload
        assert imported in order[1:3], order
        assert [i for i in order if i not in (upload, imported)] == backlog[:4]  # A's in their order


def test_tenants_take_turns(app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    """Three tenants with bulk backlogs of 100, 5 and 5: the first 15 claims serve each 5 times."""
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        from tests import factories

        c = factories.make_tenant()
        add_many(a, 100, "a-", priority=PRIORITY_BULK)
        add_many(b, 5, "b-", priority=PRIORITY_BULK)
        add_many(c, 5, "c-", priority=PRIORITY_BULK)
        clock.catch_up()
        served = Counter(job.tenant_id for job in _claim_all(15, clock, finish=True))
        assert served == {a: 5, b: 5, c: 5}
        rest = Counter(job.tenant_id for job in _claim_all(95, clock, finish=True))
        assert rest == {a: 95}


def test_claim_takes_only_the_kinds_asked_for(app: Flask, tenants: dict[str, TenantSet], clock: Clock) -> None:
    a = tenants["a"].id
    with app.app_context():
        add(a, "first", kind="transcribe")
        wanted = add(a, "second", kind="noop")
        claimed = jobs.claim("host:1:0", LEASE, kinds=["noop", "record"], now=clock())
        assert claimed is not None and claimed.id == wanted
        assert jobs.claim("host:1:0", LEASE, kinds=["noop"], now=clock()) is None


def test_concurrent_claims_never_take_the_same_job(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """Eight threads claim at once (SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        expected = set(add_many(a, 60, "a-")) | set(add_many(b, 60, "b-", priority=PRIORITY_BULK))
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        try:
            with app.app_context():
                while (job := jobs.claim(f"host:1:{n}", LEASE)) is not None:
                    with lock:
                        taken.append(job.id)
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(taken) == len(expected) and set(taken) == expected
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert set(session.scalars(select(Job.status))) == {JobStatus.RUNNING}
