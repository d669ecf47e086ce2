"""Job kinds for the worker's tests and the queue benchmark, never for the product.

A worker runs them with ``ECOUTE_WORKER_HANDLERS=tests.support.job_handlers:registry``
(and the repository root on ``PYTHONPATH``). Their effects go to plain files named in the
payload, appended a line at a time (``O_APPEND``: lines of concurrent writers never mix),
so a test can count how many times each job really ran to its end:

- ``noop``: nothing.
- ``record``: appends ``done <job id> <attempt> <pid>`` to ``payload["path"]``.
- ``sleep``: appends ``started ...``, sleeps ``payload["seconds"]``, then appends ``done ...``:
  a worker killed in its sleep leaves a ``started`` line and no ``done`` line.
- ``scratch``: writes ``payload["mb"]`` MB to a temporary file (``tempfile``, as the product's
  handlers do), appends ``started ...`` and ``temp <job id> <pid> <path>``, then sleeps like ``sleep``.
- ``retryable``, ``permanent``, ``boom``: raise ``RetryableError``, ``PermanentError`` or a
  ``RuntimeError``.

``failed`` appends ``failed <job id> <reason>`` to ``payload["path"]`` when there is one.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from webapp.errors import PermanentError, RetryableError
from worker.handlers import Handler, JobContext


def _append(ctx: JobContext, line: str) -> None:
    path = ctx.payload.get("path")
    if not path:
        return
    fd = os.open(Path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


class _Base:
    def run(self, ctx: JobContext) -> None:
        raise NotImplementedError

    def failed(self, ctx: JobContext, reason: str) -> None:
        _append(ctx, f"failed {ctx.job_id} {reason}")


class Noop(_Base):
    def run(self, ctx: JobContext) -> None:
        return None


class Record(_Base):
    def run(self, ctx: JobContext) -> None:
        _append(ctx, f"done {ctx.job_id} {ctx.attempt} {os.getpid()}")


class Sleep(_Base):
    def run(self, ctx: JobContext) -> None:
        _append(ctx, f"started {ctx.job_id} {ctx.attempt} {os.getpid()}")
        time.sleep(float(ctx.payload.get("seconds", 1.0)))
        _append(ctx, f"done {ctx.job_id} {ctx.attempt} {os.getpid()}")


class Scratch(_Base):
    def run(self, ctx: JobContext) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "copy.wav"
            path.write_bytes(b"\0" * int(float(ctx.payload.get("mb", 1)) * 1_000_000))
            _append(ctx, f"started {ctx.job_id} {ctx.attempt} {os.getpid()}")
            _append(ctx, f"temp {ctx.job_id} {os.getpid()} {path}")
            time.sleep(float(ctx.payload.get("seconds", 1.0)))
        _append(ctx, f"done {ctx.job_id} {ctx.attempt} {os.getpid()}")


class Retryable(_Base):
    def run(self, ctx: JobContext) -> None:
        raise RetryableError("the storage answered 503")


class Permanent(_Base):
    def run(self, ctx: JobContext) -> None:
        raise PermanentError("This file can't be read as audio.")


class Boom(_Base):
    def run(self, ctx: JobContext) -> None:
        raise RuntimeError("a bug in the handler")


def registry() -> dict[str, Handler]:
    return {"noop": Noop(), "record": Record(), "sleep": Sleep(), "scratch": Scratch(), "retryable": Retryable(),
            "permanent": Permanent(), "boom": Boom()}
