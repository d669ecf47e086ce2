"""The worker (worker.loop, ``ecoute worker``, ``ecoute run``): outcomes, heartbeat, crashes, signals.

The first tests run a worker inside the test process; the others start real ``ecoute worker``
processes on the test database, with the test-only job kinds of tests/support/job_handlers.py,
and kill or stop them as an operator or a crash would.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.conftest import DatabaseUnderTest, TenantSet
from tests.support import job_handlers
from webapp import jobs, tenancy
from webapp.config import ConfigError, Settings, load_settings
from webapp.db import utcnow
from webapp.jobs import Job, JobStatus
from worker.logs import JobContextFilter
from worker.loop import Worker

ROOT = Path(__file__).resolve().parent.parent
ECOUTE = str(Path(sys.executable).with_name("ecoute"))
HANDLERS = "tests.support.job_handlers:registry"
LEASE_S = 2  #: the subprocess workers' lease: a killed worker's job comes back within 2 s


def enqueue(tenant_id: int, kind: str, key: str, *, max_attempts: int = 5, **payload: Any) -> int:
    with tenancy.tenant_session(tenant_id) as session:
        job = jobs.enqueue(session, kind=kind, idempotency_key=key, payload=payload, max_attempts=max_attempts)
        session.flush()
        return job.id


def rows(tenant_ids: list[int]) -> dict[int, Job]:
    """Every job of these tenants by id, read as each tenant."""
    found: dict[int, Job] = {}
    for tenant_id in tenant_ids:
        with tenancy.tenant_session(tenant_id) as session:
            for job in session.scalars(select(Job)):
                session.expunge(job)
                found[job.id] = job
    return found


def lines(path: Path, word: str) -> list[list[str]]:
    """The lines of a job_handlers output file that start with ``word``, split."""
    if not path.exists():
        return []
    return [line.split(" ", 3) for line in path.read_text().splitlines() if line.startswith(word + " ")]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


# --- settings ----------------------------------------------------------------------------


def test_worker_settings_parse_strictly() -> None:
    parsed = load_settings({"ECOUTE_WORKER_LEASE_S": "90", "ECOUTE_WORKER_POLL_S": "0.25",
                            "ECOUTE_WORKER_GRACE_S": "0", "ECOUTE_WORKER_CONCURRENCY": "4",
                            "ECOUTE_WORKER_HANDLERS": "tests.support.job_handlers:registry",
                            "ECOUTE_DATA_DIR": "/nonexistent", "ECOUTE_SECRET_KEY": "x"})
    assert (parsed.worker_lease_s, parsed.worker_poll_s, parsed.worker_grace_s, parsed.worker_concurrency,
            parsed.worker_handlers) == (90, 0.25, 0, 4, HANDLERS)
    defaults = load_settings({"ECOUTE_DATA_DIR": "/nonexistent", "ECOUTE_SECRET_KEY": "x"})
    assert (defaults.worker_lease_s, defaults.worker_poll_s, defaults.worker_grace_s) == (60, 1.0, 30)
    for name, raw in [("WORKER_POLL_S", "0"), ("WORKER_POLL_S", "1s"), ("WORKER_POLL_S", "1e3"),
                      ("WORKER_POLL_S", "-1"), ("WORKER_LEASE_S", "0"), ("WORKER_LEASE_S", "1.5"),
                      ("WORKER_GRACE_S", "-1"), ("WORKER_CONCURRENCY", "0"), ("WORKER_HANDLERS", "worker.handlers"),
                      ("WORKER_HANDLERS", "os:system()")]:
        with pytest.raises(ConfigError, match=f"ECOUTE_{name}="):
            load_settings({f"ECOUTE_{name}": raw, "ECOUTE_DATA_DIR": "/nonexistent", "ECOUTE_SECRET_KEY": "x"})


# --- a worker in this process ------------------------------------------------------------


def _make_due(tenant_id: int) -> None:
    """Bring the retries of this tenant's queued jobs forward to now (their backoff passed)."""
    with tenancy.tenant_session(tenant_id) as session:
        session.execute(update(Job).where(Job.status == JobStatus.QUEUED).values(run_after=utcnow()))


def test_each_outcome_is_recorded_and_failed_for_good_is_told_once(
        app: Flask, tenants: dict[str, TenantSet], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    out = tmp_path / "effects"
    with app.app_context():
        ok = enqueue(a, "record", "ok", path=str(out))
        flaky = enqueue(a, "retryable", "flaky", max_attempts=2, path=str(out))
        unreadable = enqueue(b, "permanent", "unreadable", path=str(out))
        buggy = enqueue(b, "boom", "buggy", max_attempts=2, path=str(out))
        caplog.set_level(logging.INFO, logger="worker")
        caplog.handler.addFilter(JobContextFilter())

        assert Worker(app, job_handlers.registry(), once=True).run() == 0
        first = rows([a, b])
        assert first[ok].status is JobStatus.DONE
        assert (first[unreadable].status, first[unreadable].last_error) == \
            (JobStatus.FAILED, "This file can't be read as audio.")
        assert (first[flaky].status, first[flaky].attempts, first[flaky].last_error) == \
            (JobStatus.QUEUED, 1, "the storage answered 503")
        assert (first[buggy].status, first[buggy].attempts, first[buggy].last_error) == \
            (JobStatus.QUEUED, 1, "RuntimeError: a bug in the handler")
        assert first[flaky].run_after > utcnow() + timedelta(seconds=7)  # backoff: 10 s ± 20 %
        assert [line[:2] for line in lines(out, "done")] == [["done", str(ok)]]
        assert lines(out, "failed") == [["failed", str(unreadable), "This", "file can't be read as audio."]]

        crash = next(r for r in caplog.records if r.getMessage() == "failed with an unexpected error")
        assert (crash.levelname, crash.job_id, crash.kind, crash.tenant_id) == ("ERROR", buggy, "boom", b)
        assert crash.exc_info is not None and "a bug in the handler" in caplog.text
        started = [r for r in caplog.records if r.getMessage().startswith("started, attempt 1 of")]
        assert sorted((r.job_id, r.kind, r.tenant_id) for r in started) == sorted(
            [(ok, "record", a), (flaky, "retryable", a), (unreadable, "permanent", b), (buggy, "boom", b)])

        _make_due(a)
        _make_due(b)
        assert Worker(app, job_handlers.registry(), once=True).run() == 0  # their last attempts
        second = rows([a, b])
        assert (second[flaky].status, second[flaky].attempts) == (JobStatus.FAILED, 2)
        assert (second[buggy].status, second[buggy].attempts) == (JobStatus.FAILED, 2)
        told = sorted((int(line[1]), line[2] + " " + line[3]) for line in lines(out, "failed"))
        assert told == sorted([(unreadable, "This file can't be read as audio."),
                               (flaky, "the storage answered 503"), (buggy, "RuntimeError: a bug in the handler")])


def test_a_job_whose_workers_keep_dying_fails_for_good(app: Flask, tenants: dict[str, TenantSet],
                                                        tmp_path: Path) -> None:
    a = tenants["a"].id
    out = tmp_path / "effects"
    with app.app_context():
        job_id = enqueue(a, "record", "deadly", max_attempts=2, path=str(out))
        with tenancy.tenant_session(a) as session:  # two workers claimed it, and both died
            session.execute(update(Job).values(status=JobStatus.RUNNING, attempts=2, locked_by="gone:1:0",
                                               locked_until=utcnow() - timedelta(seconds=1)))
        assert Worker(app, job_handlers.registry(), once=True).run() == 0
        job = rows([a])[job_id]
        assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
        assert job.last_error == "the worker running this job stopped 2 times before it finished"
        assert lines(out, "done") == []  # not run a third time
        assert [line[1] for line in lines(out, "failed")] == [str(job_id)]


def test_heartbeat_keeps_a_job_longer_than_its_lease(make_app: Callable[..., Flask], tenants: dict[str, TenantSet],
                                                     tmp_path: Path) -> None:
    app = make_app(worker_lease_s=1, worker_poll_s=0.05)
    a = tenants["a"].id
    out = tmp_path / "effects"
    with app.app_context():
        job_id = enqueue(a, "sleep", "long", seconds=1.8, path=str(out))
        worker = Worker(app, job_handlers.registry(), once=True)
        thread = threading.Thread(target=worker.run)
        thread.start()
        wait_until(lambda: lines(out, "started"), 10, "the job to start")
        stolen = []
        while thread.is_alive():  # another worker keeps trying, past the 1 s lease
            stolen.append(jobs.claim("thief:1:0", 1))
            time.sleep(0.1)
        thread.join()
        assert len(stolen) > 10 and not any(stolen)
        job = rows([a])[job_id]
        assert (job.status, job.attempts) == (JobStatus.DONE, 1)
        assert len(lines(out, "done")) == 1


def test_the_default_handlers_process_an_uploaded_call(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """The registry of the product (ECOUTE_WORKER_HANDLERS' default) runs what an upload enqueues,
    and a job failing for good reaches the handler's ``failed`` (the call shows why)."""
    from tests import factories
    from webapp import storage
    from webapp.models import Call, CallStatus
    from worker.loop import load_handlers

    a = tenants["a"].id
    with app.app_context():
        handlers = load_handlers(app.config["ECOUTE"].worker_handlers)
        assert "process_call" in handlers
        good, broken = factories.make_call(a), factories.make_call(a)
        with tenancy.tenant_session(a) as session:
            key = session.get(Call, broken).storage_key  # type: ignore[union-attr]
        storage.get_storage(app.config["ECOUTE"]).write(key, io.BytesIO(b"\x00garbage" * 500),
                                                        content_type="application/octet-stream")
        assert Worker(app, handlers, once=True).run() == 0
        with tenancy.tenant_session(a) as session:
            calls = {c.id: (c.status, c.failure_reason) for c in session.scalars(select(Call))}
        final = rows([a])
    assert calls == {good: (CallStatus.READY, ""), broken: (CallStatus.FAILED, "undecodable")}
    assert sorted((job.kind, job.status, job.attempts, job.last_error) for job in final.values()) == [
        ("process_call", JobStatus.DONE, 1, ""), ("process_call", JobStatus.FAILED, 1, "undecodable")]


# --- real worker processes ---------------------------------------------------------------


class WorkerProcess:
    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        # Upper bound only: on a loaded 2-core CI box, four workers importing at once took over 20 s.
        wait_until(lambda: "claim loop(s)" in self.output() or self.popen.poll() is not None, 60,
                   "the worker to start")
        assert self.popen.poll() is None, self.output()

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout} s:\n{self.output()}") from None


@pytest.fixture
def spawn(app: Flask, settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``spawn("worker", "--once", ECOUTE_WORKER_GRACE_S="1")`` starts ``ecoute <args>`` on the test database."""
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ECOUTE_DATA_DIR": str(settings.data_dir),
        "ECOUTE_ENV": "test", "ECOUTE_DATABASE_URL": settings.database_url,
        "ECOUTE_DATABASE_OWNER_URL": settings.database_owner_url, "ECOUTE_SECRET_KEY": settings.secret_key,
        "ECOUTE_DATABASE_OPS_URL": settings.database_ops_url,
        "ECOUTE_SMTP_HOST": settings.smtp_host, "ECOUTE_SMTP_PORT": str(settings.smtp_port),
        "ECOUTE_ARGON2_TIME_COST": "1", "ECOUTE_ARGON2_MEMORY_KIB": "1024", "ECOUTE_LOG_LEVEL": "info",
        "ECOUTE_WORKER_HANDLERS": HANDLERS, "ECOUTE_WORKER_LEASE_S": str(LEASE_S), "ECOUTE_WORKER_POLL_S": "0.1",
        # As the settings fixture: no periodic jobs (retention...) among those counted.
        "ECOUTE_RETENTION_CHECK_S": "0", "ECOUTE_SCHEDULES": "0",
    }
    started: list[WorkerProcess] = []

    def _spawn(*args: str, **extra_env: str) -> WorkerProcess:
        log = tmp_path / f"process-{len(started)}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen([ECOUTE, *args], env={**env, **extra_env}, cwd=ROOT, stdout=sink,
                                     stderr=subprocess.STDOUT)
        started.append(WorkerProcess(popen, log))
        return started[-1]

    yield _spawn
    for process in started:  # before the app fixture empties the tables
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait()


def test_worker_processes_run_each_job_exactly_once(app: Flask, database: DatabaseUnderTest,
                                                    tenants: dict[str, TenantSet], spawn: Any,
                                                    tmp_path: Path) -> None:
    """200 jobs of two tenants, 4 worker processes on PostgreSQL (2 on SQLite, which has one writer)."""
    count = 4 if database.engine_name == "postgresql" else 2
    a, b = tenants["a"].id, tenants["b"].id
    out = tmp_path / "effects"
    workers = [spawn("worker") for _ in range(count)]
    for process in workers:
        process.wait_ready()
    with app.app_context():
        for tenant_id in (a, b):
            with tenancy.tenant_session(tenant_id) as session:
                for i in range(100):
                    jobs.enqueue(session, kind="record", idempotency_key=f"r{i}", payload={"path": str(out)})

        def all_done() -> bool:
            return all(job.status is JobStatus.DONE for job in rows([a, b]).values())

        wait_until(all_done, 30, "every job to be done")
        final = rows([a, b])
    for process in workers:
        process.popen.send_signal(signal.SIGTERM)
    for process in workers:
        assert process.wait(10) == 0
    done = lines(out, "done")
    runs = Counter(int(line[1]) for line in done)
    assert len(final) == 200 and set(runs) == set(final) and set(runs.values()) == {1}
    assert {job.attempts for job in final.values()} == {1}
    pids = {int(line[3]) for line in done}
    assert pids <= {p.pid for p in workers}
    if database.engine_name == "postgresql":
        assert len(pids) >= 2, "the jobs were not shared"
    some = final[min(final)]
    assert f"[job={some.id} kind=record tenant={some.tenant_id}]" in "".join(p.output() for p in workers)


def test_a_killed_workers_job_is_done_once_by_another(app: Flask, database: DatabaseUnderTest,
                                                      tenants: dict[str, TenantSet], spawn: Any,
                                                      tmp_path: Path) -> None:
    """kill -9 the worker running a 3 s job: once its 2 s lease runs out, another worker runs the
    job to the end, once. On PostgreSQL three workers run from the start (so two survive: the
    one not running the job must not take it while the other's heartbeat renews the lease); on
    SQLite one runs, and two more are started after the kill, as a supervisor would."""
    a = tenants["a"].id
    out = tmp_path / "effects"
    initial = 3 if database.engine_name == "postgresql" else 1
    workers = [spawn("worker") for _ in range(initial)]
    for process in workers:
        process.wait_ready()
    with app.app_context():
        job_id = enqueue(a, "sleep", "slow", seconds=3, path=str(out))
        first = wait_until(lambda: lines(out, "started"), 15, "the job to start")
        victim = int(first[0][3])
        assert victim in {p.pid for p in workers}
        os.kill(victim, signal.SIGKILL)
        if initial == 1:
            workers += [spawn("worker"), spawn("worker")]
        wait_until(lambda: rows([a])[job_id].status is JobStatus.DONE, 20, "the job to be done")
        job = rows([a])[job_id]
    started, done = lines(out, "started"), lines(out, "done")
    assert [(line[2], int(line[3]) == victim) for line in started] == [("1", True), ("2", False)]
    assert len(done) == 1 and done[0][1:3] == [str(job_id), "2"] and int(done[0][3]) != victim
    assert (job.status, job.attempts, job.locked_by.split(":")[1]) == (JobStatus.DONE, 2, done[0][3].strip())
    survivors = [p for p in workers if p.pid != victim]
    for process in survivors:
        process.popen.send_signal(signal.SIGTERM)
    for process in survivors:
        assert process.wait(10) == 0


@pytest.mark.parametrize(("grace", "seconds", "expected"), [(10, 1.5, "done"), (1, 60, "queued")],
                         ids=["finishes-within-grace", "put-back-after-grace"])
def test_sigterm_stops_claiming_and_leaves_nothing_running(app: Flask, tenants: dict[str, TenantSet], spawn: Any,
                                                           tmp_path: Path, grace: int, seconds: float,
                                                           expected: str) -> None:
    a = tenants["a"].id
    out = tmp_path / "effects"
    process = spawn("worker", ECOUTE_WORKER_GRACE_S=str(grace))
    process.wait_ready()
    with app.app_context():
        job_id = enqueue(a, "sleep", "slow", seconds=seconds, path=str(out))
        waiting = enqueue(a, "record", "next", path=str(out))  # queued behind: must not be started
        wait_until(lambda: lines(out, "started"), 15, "the job to start")
        signalled = time.monotonic()
        process.popen.send_signal(signal.SIGTERM)
        assert process.wait(grace + 5) == 0
        took = time.monotonic() - signalled
        final = rows([a])
    assert took < min(grace, seconds) + 2, took
    assert final[waiting].status is JobStatus.QUEUED and final[waiting].attempts == 0
    job = final[job_id]
    if expected == "done":
        assert (job.status, job.attempts) == (JobStatus.DONE, 1)
        assert [line[1] for line in lines(out, "done")] == [str(job_id)]
    else:
        assert (job.status, job.attempts, job.locked_by, job.locked_until) == (JobStatus.QUEUED, 0, None, None)
        assert lines(out, "done") == []
        assert "put back in the queue" in process.output()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a local test URL
            status: int = response.status
            return status
    except OSError:
        return None


def test_ecoute_run_serves_and_works_then_stops_both_on_sigterm(app: Flask, tenants: dict[str, TenantSet],
                                                                spawn: Any, tmp_path: Path) -> None:
    a = tenants["a"].id
    out = tmp_path / "effects"
    port = _free_port()
    with app.app_context():
        job_id = enqueue(a, "record", "before-start", path=str(out))
        # The demo room (a minute of speech and Whisper) has its own test: tests/test_demo_room.py.
        run = spawn("run", "--no-demo-room", ECOUTE_PORT=str(port), ECOUTE_WEB_WORKERS="1")
        wait_until(lambda: _http_status(f"http://127.0.0.1:{port}/healthz") == 200, 30, "the web app")
        wait_until(lambda: rows([a])[job_id].status is JobStatus.DONE, 20, "the worker to run the job")
    run.popen.send_signal(signal.SIGTERM)
    assert run.wait(20) == 0, run.output()
    assert _http_status(f"http://127.0.0.1:{port}/healthz") is None
    output = run.output()
    assert "Maison Démo" in output and "worker" in output and " stopped" in output
    assert f"[job={job_id} kind=record tenant={a}]" in output


def test_a_worker_killed_while_transcribing_leaves_one_result(app: Flask, settings: Settings,
                                                              tenants: dict[str, TenantSet], spawn: Any,
                                                              tmp_path: Path) -> None:
    """The product's own pipeline: kill -9 the worker once the call's renditions are stored, while
    Whisper runs; another worker started after it redoes what is missing, once. In the end: one
    transcript, each tag once, the original and its renditions in storage and nothing else, and
    the call ready (not *processing* forever)."""
    from tests.speech import speak
    from webapp import storage
    from webapp.models import Call, CallStatus, Source, Tag, Transcript
    from webapp.services import ingestion

    a = tenants["a"].id
    said = speak(tmp_path / "call.wav", "Bonjour, ma commande n'est toujours pas arrivée, je suis très déçu "
                 "et j'aimerais être remboursé rapidement s'il vous plaît.", "fr")
    real = {"ECOUTE_WORKER_HANDLERS": "worker.handlers:registry",
            "ECOUTE_WHISPER_MODEL_DIR": str(settings.whisper_model_dir)}
    with app.app_context():
        with said.open("rb") as stream, tenancy.tenant_session(a) as session:
            call = ingestion.ingest_call(session, settings, a, stream=stream, filename=said.name,
                                         meta=ingestion.clean_meta({}), origin=ingestion.Origin(Source.BROWSER)).call
            call_id, sha, original = call.id, call.sha256, call.storage_key
        keys = storage.rendition_keys(a, call_id, sha)
        store = storage.get_storage(settings)
        first = spawn("worker", **real)
        wait_until(lambda: all(store.exists(k) for k in keys.all()), 60, "the renditions (Whisper starts next)")
        first.popen.kill()  # SIGKILL, in the middle of the transcription
        first.popen.wait()
        with tenancy.tenant_session(a) as session:
            assert session.scalars(select(Transcript)).all() == []
            assert session.get(Call, call_id).status == CallStatus.PROCESSING  # type: ignore[union-attr]
        second = spawn("worker", **real)

        def ready() -> bool:
            with tenancy.tenant_session(a) as session:
                return session.get(Call, call_id).status == CallStatus.READY  # type: ignore[union-attr]

        wait_until(ready, 300, "the call to be ready")  # Whisper and the tagger on a loaded CPU: an upper bound
        # The handler marks the call ready, then the loop records the job done: wait for both.
        wait_until(lambda: next(iter(rows([a]).values())).status is JobStatus.DONE, 20, "the job to be done")
        with tenancy.tenant_session(a) as session:
            transcripts = session.scalars(select(Transcript)).all()
            tags = [(t.kind, t.value) for t in session.scalars(select(Tag))]
        job = next(iter(rows([a]).values()))
    assert len(transcripts) == 1 and "commande" in transcripts[0].text.lower()
    assert tags and len(tags) == len(set(tags))
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    local_root = settings.data_dir / "media"
    if local_root.exists():
        stored = sorted(str(p.relative_to(local_root)) for p in local_root.rglob("*") if p.is_file())
        assert stored == sorted([original, *keys.all()]), stored
    second.popen.send_signal(signal.SIGTERM)
    assert second.wait(20) == 0


def _temp_folders(root: Path) -> dict[str, Path]:
    """The worker folders under a temporary root, by the pid their name starts with."""
    return {p.name.split("-")[2]: p for p in root.iterdir() if p.name.startswith("ecoute-worker-")}


def test_a_killed_workers_temporary_files_are_removed_by_the_next_worker(app: Flask, tenants: dict[str, TenantSet],
                                                                         spawn: Any, tmp_path: Path) -> None:
    """kill -9 in the middle of a job leaves its temporary files (a call's copy, its recognition WAV);
    the next worker to start removes them, and leaves a live worker's folder alone."""
    a = tenants["a"].id
    out, root = tmp_path / "effects", tmp_path / "tmp"
    root.mkdir()
    victim = spawn("worker", TMPDIR=str(root))
    victim.wait_ready()
    with app.app_context():
        enqueue(a, "scratch", "big-copy", max_attempts=1, mb=5, seconds=60, path=str(out))
        temp = wait_until(lambda: lines(out, "temp"), 15, "the job to write its temporary file")[0]
    left = Path(temp[3])
    assert int(temp[2]) == victim.pid and left.stat().st_size == 5_000_000
    folders = _temp_folders(root)
    assert list(folders) == [str(victim.pid)], sorted(p.name for p in root.iterdir())
    assert left.is_relative_to(folders[str(victim.pid)]), left
    victim.popen.kill()  # SIGKILL: no clean-up of its own
    victim.popen.wait()
    assert left.exists()

    live = spawn("worker", TMPDIR=str(root))
    live.wait_ready()
    assert not left.exists() and set(_temp_folders(root)) == {str(live.pid)}
    later = spawn("worker", TMPDIR=str(root))
    later.wait_ready()
    assert set(_temp_folders(root)) == {str(live.pid), str(later.pid)}  # the live worker's folder stays
    for process in (live, later):
        process.popen.send_signal(signal.SIGTERM)
    for process in (live, later):
        assert process.wait(10) == 0
    assert list(root.iterdir()) == []  # a worker that stops cleanly removes its own folder


def test_a_missing_model_at_run_time_is_retried_and_never_shown_with_a_path(
        app: Flask, make_app: Callable[..., Flask], tenants: dict[str, TenantSet], tmp_path: Path,
        login_as: Any) -> None:
    """The model vanished after the worker started: the call is retried, then says, in the reader's
    language, that transcription is unavailable; the path and the operator's command stay in the log."""
    from tests import factories
    from webapp.models import Call, CallStatus, Role
    from worker.loop import load_handlers

    nowhere = tmp_path / "vanished-model"
    broken = make_app(whisper_model_dir=nowhere)
    b = tenants["b"].id
    with broken.app_context():
        handlers = load_handlers(broken.config["ECOUTE"].worker_handlers)
        call_id = factories.make_call(b, seconds=2.0)
        assert Worker(broken, handlers, once=True).run() == 0
        job = next(iter(rows([b]).values()))
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)
        assert str(nowhere) not in job.last_error and "models install" not in job.last_error
        with tenancy.tenant_session(b) as session:  # the last attempt, now
            session.execute(update(Job).values(max_attempts=2, run_after=utcnow()))
        assert Worker(broken, handlers, once=True).run() == 0
        with tenancy.tenant_session(b) as session:
            call = session.get(Call, call_id)
            assert call is not None
            status, reason = call.status, call.failure_reason
    assert status == CallStatus.FAILED and str(nowhere) not in reason
    page = login_as("b", Role.QUALITY_MANAGER).get(f"/calls/{call_id}")
    assert page.status_code == 200
    assert "Transcription is not available at the moment" in page.text
    assert str(nowhere) not in page.text and "ecoute models install" not in page.text
