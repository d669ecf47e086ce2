"""The worker: claim loops that run each job's handler, renew its lease and stop cleanly.

One process runs ``concurrency`` claim loops, each in its own thread with its own app
context and its own worker id (``host:pid:loop``): claim a job (:func:`webapp.jobs.claim`),
build its :class:`JobContext`, run its handler while a heartbeat thread renews the lease
every third of it, then record the outcome:

- the handler returned: :func:`webapp.jobs.finish`;
- ``RetryableError`` or any unexpected exception: :func:`webapp.jobs.fail` (retried after a
  backoff), logged with its traceback;
- ``PermanentError``: :func:`webapp.jobs.fail` with ``permanent=True``.

When a job ends failed for good (a permanent error, the last attempt, or workers lost
running it ``max_attempts`` times), the handler's ``failed`` is called with the reason.

Threads, not processes: a handler spends its time in I/O, ffmpeg or the speech model
(which releases the GIL), and threads share the model loaded once per process. Run more
processes (on more machines, with PostgreSQL) to go beyond one machine.

Stopping (SIGTERM or SIGINT, see :func:`serve`): the loops claim nothing more; running jobs
get ``worker_grace_s`` to finish. A job still running after that is put back in the queue
(:func:`webapp.jobs.release`, its attempt not counted) and the process exits 0 at once.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping
from types import FrameType, TracebackType
from typing import Any

from flask import Flask

from webapp import jobs
from webapp.config import Settings
from webapp.errors import AppError, PermanentError, RetryableError
from webapp.services import periodic
from worker import scratch
from worker.handlers.context import Handler, JobContext
from worker.logs import job_logging

log = logging.getLogger("worker")

#: How long a claim loop waits after the database failed it (an outage), at least.
ERROR_PAUSE_S = 5.0


def load_handlers(path: str) -> dict[str, Handler]:
    """Call the ``module:callable`` named by ``worker_handlers`` once and return its handlers by kind."""
    module_name, _, attribute = path.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    handlers: dict[str, Handler] = dict(factory())
    return handlers


def process_name() -> str:
    """``host:pid``, the start of each claim loop's worker id (``locked_by`` shows it)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _reason(err: BaseException) -> str:
    if isinstance(err, AppError) and err.message is not None:
        return str(err.message)
    return f"{type(err).__name__}: {err}"


class Heartbeat:
    """Renews a job's lease every third of it while the handler works (a thread of its own)."""

    def __init__(self, app: Flask, job: jobs.ClaimedJob, lease_s: float) -> None:
        self.app = app
        self.job = job
        self.lease_s = lease_s
        self.is_lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"{threading.current_thread().name}-heartbeat",
                                        daemon=True)

    def _beat(self) -> None:
        with self.app.app_context(), job_logging(self.job.id, self.job.kind, self.job.tenant_id):
            while not self._stop.wait(self.lease_s / 3):
                try:
                    if not jobs.renew(self.job, self.lease_s):
                        self.is_lost = True
                        log.warning("lease lost: the job ran past its lease and another worker took it")
                        return
                except Exception:  # a database blip: the next beat may get through before the lease ends
                    log.exception("renewing the lease failed; trying again")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    """``concurrency`` claim loops over one app; :meth:`run` until they stop, :meth:`stop` to ask them."""

    def __init__(self, app: Flask, handlers: Mapping[str, Handler], *, concurrency: int = 1,
                 once: bool = False) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.settings: Settings = app.config["ECOUTE"]
        self.concurrency = concurrency
        #: Stop when nothing is left to claim instead of polling (``--once``).
        self.once = once
        self.name = process_name()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        #: The job each loop is running, by worker id; read by the main thread when the grace period ends.
        self._running: dict[str, jobs.ClaimedJob] = {}
        #: Queues the periodic schedules' jobs (retention, reminders...), run by the first loop.
        self.scheduler = periodic.Scheduler(self.settings, kinds=frozenset(self.handlers))

    # --- one job ----------------------------------------------------------------------

    def claim(self, worker_id: str) -> jobs.ClaimedJob | None:
        """Claim the next job of a kind this worker has a handler for."""
        return jobs.claim(worker_id, self.settings.worker_lease_s, kinds=sorted(self.handlers))

    def run_job(self, job: jobs.ClaimedJob) -> None:
        """Run a claimed job's handler and record the outcome (needs an app context)."""
        handler = self.handlers[job.kind]
        ctx = JobContext(job_id=job.id, kind=job.kind, tenant_id=job.tenant_id, payload=job.payload,
                         attempt=job.attempt, max_attempts=job.max_attempts, settings=self.settings,
                         log_extra={"job_id": job.id, "kind": job.kind, "tenant_id": job.tenant_id})
        with job_logging(job.id, job.kind, job.tenant_id):
            if job.attempt > job.max_attempts:
                # Each earlier claim ended with its worker gone (killed, out of memory): don't try again.
                reason = f"the worker running this job stopped {job.attempt - 1} times before it finished"
                log.error("giving up: %s", reason)
                self._failed(handler, ctx, reason, jobs.fail(job, reason, permanent=True))
                return
            log.info("started, attempt %d of %d", job.attempt, job.max_attempts)
            started = time.monotonic()
            error: BaseException | None = None
            with Heartbeat(self.app, job, self.settings.worker_lease_s):
                try:
                    handler.run(ctx)
                except PermanentError as err:
                    error = err
                    log.info("permanent error: %s", _reason(err))
                except RetryableError as err:
                    error = err
                    log.warning("retryable error: %s", _reason(err), exc_info=True)
                except Exception as err:
                    error = err
                    log.exception("failed with an unexpected error")
            elapsed = time.monotonic() - started
            if error is None:
                if jobs.finish(job):
                    log.info("done in %.2f s", elapsed)
                else:
                    log.warning("done in %.2f s, but the lease was lost: the outcome of the worker that took "
                                "the job over stands", elapsed)
                return
            reason = _reason(error)
            self._failed(handler, ctx, reason, jobs.fail(job, reason, permanent=isinstance(error, PermanentError)))

    def _failed(self, handler: Handler, ctx: JobContext, reason: str, outcome: jobs.FailOutcome) -> None:
        if outcome is jobs.FailOutcome.RETRYING:
            log.info("queued again after a backoff")
        elif outcome is jobs.FailOutcome.LOST:
            log.warning("the lease was lost: the outcome of the worker that took the job over stands")
        else:
            log.warning("failed for good after attempt %d: %s", ctx.attempt, reason)
            try:
                handler.failed(ctx, reason)
            except Exception:  # the job stays failed either way; say that the handler could not record why
                log.exception("the handler could not record the failure")

    # --- claim loops ------------------------------------------------------------------

    def run_schedules(self) -> None:
        """Queue the jobs of the periodic schedules that are due (webapp/services/periodic.py).

        Only those whose job kinds this worker runs: a worker given other handlers (tests,
        benchmarks) leaves the queue alone. Each window's jobs are queued once whatever the
        number of workers (a unique key).
        """
        self.scheduler.run_due()

    def _loop(self, worker_id: str) -> None:
        poll_s = self.settings.worker_poll_s
        first = worker_id.endswith(":0")
        with self.app.app_context():
            while not self._stopping.is_set():
                try:
                    if first:
                        self.run_schedules()
                    job = self.claim(worker_id)
                    if job is None:
                        if self.once:
                            return
                        self._stopping.wait(poll_s)
                        continue
                    with self._lock:
                        self._running[worker_id] = job
                    try:
                        self.run_job(job)
                    finally:
                        with self._lock:
                            self._running.pop(worker_id, None)
                except Exception:  # the database is down, most likely: keep the loop, try again later
                    log.exception("the claim loop failed; trying again")
                    self._stopping.wait(max(poll_s, ERROR_PAUSE_S))

    def stop(self) -> None:
        """Ask the loops to claim nothing more (they finish their current job)."""
        self._stopping.set()

    @property
    def is_stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> int:
        """Run the claim loops until they end (``once``) or :meth:`stop` is called, then wait for them.

        Each loop gets ``worker_grace_s`` from the stop to finish its job; a job still
        running then is put back in the queue. Returns how many jobs were put back: when
        not 0, their threads are still running and the caller must end the process
        (``os._exit``), as :func:`serve` does.
        """
        threads = [
            threading.Thread(target=self._loop, args=(f"{self.name}:{i}",), name=f"loop-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        log.info("worker %s: %d claim loop(s), handlers: %s", self.name, len(threads), ", ".join(sorted(self.handlers)))
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads) and not self._stopping.wait(0.2):
            pass
        deadline = time.monotonic() + self.settings.worker_grace_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._running.values())
        for job in left:
            with self.app.app_context(), job_logging(job.id, job.kind, job.tenant_id):
                if jobs.release(job):
                    log.warning("still running after the %d s grace period: put back in the queue",
                                self.settings.worker_grace_s)
        return len(left)


def serve(app: Flask, handlers: Mapping[str, Handler], *, concurrency: int, once: bool) -> None:
    """Run a worker in this process until it is done (``once``) or SIGTERM/SIGINT stops it (main thread only).

    A second signal while stopping changes nothing: the grace period still applies. Exits
    the process at once (status 0) when jobs had to be put back, since their threads cannot
    be stopped.

    Every temporary file of the process goes to a folder of its own (worker/scratch.py), removed
    when it stops; one that a killed worker left is removed when the next worker starts.
    """
    with scratch.worker_folder() as folder:
        log.info("temporary files in %s", folder)
        released = _serve(app, handlers, concurrency=concurrency, once=once)
    if released:
        logging.shutdown()
        os._exit(0)


def _serve(app: Flask, handlers: Mapping[str, Handler], *, concurrency: int, once: bool) -> int:
    worker = Worker(app, handlers, concurrency=concurrency, once=once)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if worker.is_stopping:
            return
        log.info("%s received: claiming nothing more, %d s for running jobs to finish",
                 signal.Signals(signum).name, worker.settings.worker_grace_s)
        worker.stop()

    previous: dict[int, Any] = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        released = worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("worker %s stopped", worker.name)
    return released
