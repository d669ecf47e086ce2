"""Queue benchmark: jobs claimed and completed per second by 1 to 8 worker processes on PostgreSQL,
and what repeated ``kill -9`` of workers loses or duplicates.

    .venv/bin/python benchmarks/job_queue.py [--jobs 2000] [--workers 1,2,4,8] [--backlog 10000]
                                         [--kills 10] [--kill-jobs 1000]

Everything runs on a throwaway PostgreSQL cluster (tests/support/pgcluster.py) with the app's
roles and migrations, and real ``ecoute worker`` processes (one claim loop each) running the
test-only job kinds of tests/support/job_handlers.py.

**Throughput.** For each worker count: start the workers and wait until they poll (every
50 ms here, ``ECOUTE_WORKER_POLL_S=0.05``), commit ``--jobs`` ``noop`` jobs of 4 tenants at
once, and wait until all are done. From the rows: claims per second (jobs / span of
``claimed_at``), completions per second (jobs / first claim to last ``finished_at``), and the
time a claim holds a job (claim to finish: the worker's overhead around a handler doing
nothing). ``--backlog``: the same with 4 workers and a deep queue of 20 tenants, one of them
holding 80 % of it (the fairness ordering reads every runnable job's tenant at each claim).

**Crashes.** 4 workers (2 s lease) run ``--kill-jobs`` ``sleep`` jobs of 20 ms; every half
second one worker that is running a job is killed with SIGKILL and a new one started, ``--kills``
times. At the end: *lost* = jobs not done; *finished twice* = jobs whose finish was accepted
more than once (from the workers' "done in" log lines). Both must be 0 (exit status 1
otherwise). Also counted, not errors: jobs run again after a kill (claimed twice), and jobs whose
handler ran to its end twice (killed after its effect, before the finish was recorded): the
queue is at-least-once, which is why handlers are idempotent (STYLE §5).

Results: a table on stdout, and ``benchmarks/results/queue-<UTC timestamp>.json`` plus
``queue-latest.json``. Every process and temporary folder is removed at the end.
"""

# ruff: noqa: E402 - sys.path is fixed before the other imports (below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where this file would hide the
# standard library's ``queue`` (which psycopg imports): the repository root goes there instead.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, text

from tests.support.pgcluster import PostgresCluster
from webapp import create_app, jobs, migrate, tenancy
from webapp.config import Settings
from webapp.models import Tenant

ECOUTE = str(Path(sys.executable).with_name("ecoute"))
RESULTS = ROOT / "benchmarks" / "results"
HANDLERS = "tests.support.job_handlers:registry"
DONE_LINE = re.compile(r"\[job=(\d+) kind=\S+ tenant=\d+\] \S+ worker: done in ")


class BenchError(Exception):
    pass


class Bench:
    """The cluster, the app on it, its tenants, and the worker processes started so far."""

    def __init__(self, stack: ExitStack, work: Path) -> None:
        cluster = stack.enter_context(PostgresCluster())
        owner_url, rw_url, ops_url = cluster.create_app_database()
        self.settings = Settings(data_dir=work / "data", database_url=rw_url, database_owner_url=owner_url,
                                 database_ops_url=ops_url, secret_key="bench", env="test").with_overrides({})  # noqa: S106
        migrate.upgrade(self.settings)
        self.app = create_app(settings=self.settings)
        self.owner: Engine = create_engine(owner_url)
        stack.callback(self.owner.dispose)
        self.work = work
        self.processes: list[subprocess.Popen[bytes]] = []
        stack.callback(self.kill_all)
        with self.app.app_context(), tenancy.all_tenants_session() as session:
            made = [Tenant(slug=f"bench-{i}", name=f"Bench {i}", default_locale="en") for i in range(20)]
            session.add_all(made)
            session.flush()
            self.tenants = [t.id for t in made]
        self.env = {
            "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ECOUTE_ENV": "test",
            "ECOUTE_DATA_DIR": str(self.settings.data_dir), "ECOUTE_SECRET_KEY": "bench",
            "ECOUTE_DATABASE_URL": rw_url, "ECOUTE_DATABASE_OWNER_URL": owner_url, "ECOUTE_LOG_LEVEL": "info",
            "ECOUTE_DATABASE_OPS_URL": ops_url,
            "ECOUTE_WORKER_HANDLERS": HANDLERS, "ECOUTE_WORKER_POLL_S": "0.05",
        }

    def start_worker(self, log: Path, **env: str) -> subprocess.Popen[bytes]:
        with log.open("ab") as sink:
            process = subprocess.Popen([ECOUTE, "worker"], env={**self.env, **env}, stdout=sink,  # noqa: S603
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def wait_ready(self, logs: list[Path]) -> None:
        deadline = time.monotonic() + 60
        while not all(log.exists() and "claim loop(s)" in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                raise BenchError("workers did not start:\n" + "\n".join(log.read_text()[-2000:] for log in logs))
            time.sleep(0.05)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        self.processes.clear()

    def empty_queue(self) -> None:
        with self.owner.begin() as conn:
            conn.execute(text("TRUNCATE jobs RESTART IDENTITY"))

    def enqueue(self, counts: dict[int, int], kind: str, payload: dict[str, Any]) -> None:
        """Commit ``counts[tenant]`` jobs per tenant, all at once (one transaction per tenant, workers wait)."""
        with self.app.app_context():
            for tenant_id, count in counts.items():
                with tenancy.tenant_session(tenant_id) as session:
                    for i in range(count):
                        jobs.enqueue(session, kind=kind, idempotency_key=f"{kind}:{i}", payload=payload,
                                     priority=jobs.PRIORITY_BULK)

    def scalar(self, sql: str) -> Any:
        with self.owner.connect() as conn:
            return conn.execute(text(sql)).scalar()

    def wait_all_done(self, total: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.scalar("SELECT count(*) FROM jobs WHERE status = 'done'") < total:
            if time.monotonic() > deadline:
                states = self.scalar("SELECT string_agg(status || ':' || n, ' ') FROM "
                                     "(SELECT status, count(*) n FROM jobs GROUP BY status) s")
                raise BenchError(f"not all {total} jobs done after {timeout} s: {states}")
            time.sleep(0.02)


def spread(total: int, tenants: list[int], weights: list[float]) -> dict[int, int]:
    counts = {t: int(total * w / sum(weights)) for t, w in zip(tenants, weights, strict=True)}
    counts[tenants[0]] += total - sum(counts.values())
    return counts


def measure_throughput(bench: Bench, workers: int, counts: dict[int, int], label: str) -> dict[str, Any]:
    total = sum(counts.values())
    bench.empty_queue()
    logs = [bench.work / f"{label}-w{workers}-{i}.log" for i in range(workers)]
    for log in logs:
        bench.start_worker(log)
    bench.wait_ready(logs)
    started = time.monotonic()
    bench.enqueue(counts, "noop", {})
    enqueued = time.monotonic()
    bench.wait_all_done(total, timeout=600)
    wall = time.monotonic() - enqueued
    bench.stop_all()
    with bench.owner.connect() as conn:
        first_claim, last_claim, last_finish = conn.execute(text(
            "SELECT min(claimed_at), max(claimed_at), max(finished_at) FROM jobs")).one()
        held = [float(row[0]) for row in conn.execute(text(
            "SELECT extract(epoch FROM finished_at - claimed_at) * 1000 FROM jobs"))]
        per_worker = sorted((row[0] for row in conn.execute(text(
            "SELECT count(*) FROM jobs GROUP BY locked_by"))), reverse=True)
        attempts = conn.execute(text("SELECT max(attempts) FROM jobs")).scalar()
    claim_span = (last_claim - first_claim).total_seconds()
    done_span = (last_finish - first_claim).total_seconds()
    held.sort()
    return {
        "label": label, "workers": workers, "jobs": total, "tenants": len(counts),
        "enqueue_s": round(enqueued - started, 3), "wall_s_after_commit": round(wall, 3),
        "claimed_per_s": round(total / claim_span, 1) if claim_span else None,
        "completed_per_s": round(total / done_span, 1) if done_span else None,
        "held_ms_median": round(statistics.median(held), 2), "held_ms_p95": round(held[int(0.95 * len(held))], 2),
        "jobs_per_worker": per_worker, "max_attempts_seen": attempts,
    }


def measure_kills(bench: Bench, kills: int, total: int) -> dict[str, Any]:
    bench.empty_queue()
    effects = bench.work / "kill-effects"
    env = {"ECOUTE_WORKER_LEASE_S": "2"}
    logs: list[Path] = []

    def start() -> subprocess.Popen[bytes]:
        logs.append(bench.work / f"kill-{len(logs)}.log")
        return bench.start_worker(logs[-1], **env)

    live = [start() for _ in range(4)]
    bench.wait_ready(logs)
    rng = random.Random(7)  # noqa: S311 - which worker dies, not a secret
    per_tenant = spread(total, bench.tenants[:4], [1, 1, 1, 1])
    bench.enqueue(per_tenant, "sleep", {"seconds": 0.02, "path": str(effects)})
    started = time.monotonic()
    killed = 0
    while killed < kills:
        time.sleep(0.5)
        with bench.owner.connect() as conn:
            holders = [row[0] for row in conn.execute(text(
                "SELECT locked_by FROM jobs WHERE status = 'running' AND locked_until > now()"))]
        pids = {int(holder.split(":")[1]) for holder in holders}
        victims = [p for p in live if p.pid in pids and p.poll() is None]
        if not victims:
            if bench.scalar("SELECT count(*) FROM jobs WHERE status <> 'done'") == 0:
                break  # all done before every kill was made
            continue
        victim = rng.choice(victims)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        live.remove(victim)
        live.append(start())
        killed += 1
    bench.wait_all_done(total, timeout=300)
    wall = time.monotonic() - started
    bench.stop_all()
    done_lines = Counter()
    for log in logs:
        done_lines.update(int(m.group(1)) for m in DONE_LINE.finditer(log.read_text(errors="replace")))
    effect_lines = effects.read_text().splitlines() if effects.exists() else []
    started_runs = Counter(int(line.split()[1]) for line in effect_lines if line.startswith("started "))
    ended_runs = Counter(int(line.split()[1]) for line in effect_lines if line.startswith("done "))
    with bench.owner.connect() as conn:
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all())
        ids = [row[0] for row in conn.execute(text("SELECT id FROM jobs WHERE status = 'done'"))]
    return {
        "workers": 4, "jobs": total, "kills": killed, "lease_s": 2, "wall_s": round(wall, 2),
        "statuses": statuses,
        "lost": total - statuses.get("done", 0),
        "finished_twice": sum(1 for n in done_lines.values() if n > 1),
        "finish_not_logged": sum(1 for i in ids if done_lines[i] == 0),
        "run_again_after_kill": sum(1 for n in started_runs.values() if n > 1),
        "handler_ended_twice": sum(1 for n in ended_runs.values() if n > 1),
    }


def print_table(rows: list[dict[str, Any]], kills: dict[str, Any] | None) -> None:
    print(f"\n{'run':<10} {'workers':>7} {'jobs':>6} {'claimed/s':>10} {'completed/s':>12} "
          f"{'held ms p50':>11} {'p95':>7}  jobs per worker")
    for r in rows:
        print(f"{r['label']:<10} {r['workers']:>7} {r['jobs']:>6} {r['claimed_per_s']:>10} {r['completed_per_s']:>12} "
              f"{r['held_ms_median']:>11} {r['held_ms_p95']:>7}  {r['jobs_per_worker']}")
    if kills:
        print(f"\nkill -9: {kills['kills']} kills of 4 workers over {kills['jobs']} jobs of 20 ms "
              f"({kills['wall_s']} s): lost {kills['lost']}, finished twice {kills['finished_twice']}; "
              f"run again after a kill {kills['run_again_after_kill']}, handler ended twice "
              f"{kills['handler_ended_twice']} (at-least-once: handlers are idempotent)")


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {name: version(name) for name in ("SQLAlchemy", "psycopg")}
    pg = shutil.which("postgres") or ""
    found["postgres"] = subprocess.run([pg or "postgres", "--version"], capture_output=True, text=True,  # noqa: S603
                                       check=False).stdout.strip() if pg else "?"
    return found


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ecoute-queue-bench-"))
    os.chmod(path, 0o755)  # noqa: S103 - the postgres user reads nothing here, but workers may run as others
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000, help="noop jobs per throughput run")
    parser.add_argument("--workers", default="1,2,4,8", help="worker process counts to measure")
    parser.add_argument("--backlog", type=int, default=10000, help="jobs of the deep-queue run (0: skip)")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of the crash run (0: skip)")
    parser.add_argument("--kill-jobs", type=int, default=1000, help="jobs of the crash run")
    args = parser.parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        with workdir() as work, ExitStack() as stack:
            bench = Bench(stack, work)
            rows = []
            for count in (int(n) for n in args.workers.split(",")):
                rows.append(measure_throughput(bench, count, spread(args.jobs, bench.tenants[:4], [1, 1, 1, 1]),
                                               "flat"))
                print(f"{count} worker(s): {rows[-1]['completed_per_s']} jobs/s", flush=True)
            if args.backlog:
                weights = [80.0] + [20.0 / 19] * 19
                rows.append(measure_throughput(bench, 4, spread(args.backlog, bench.tenants, weights), "backlog"))
                print(f"backlog of {args.backlog}: {rows[-1]['completed_per_s']} jobs/s", flush=True)
            kills = measure_kills(bench, args.kills, args.kill_jobs) if args.kills else None
        print_table(rows, kills)
        report = {
            "benchmark": "queue",
            "timestamp": stamp,
            "command": " ".join([".venv/bin/python", "benchmarks/job_queue.py", *sys.argv[1:]]),
            "machine": {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                                    * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                        "kernel": platform.release(), "platform": platform.platform()},
            "versions": versions(),
            "throughput": rows,
            "kill": kills,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"queue-{stamp}.json"
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")
        shutil.copyfile(path, RESULTS / "queue-latest.json")
        print(f"\nSaved {path.relative_to(ROOT)} (and queue-latest.json)")
        if kills and (kills["lost"] or kills["finished_twice"]):
            print("FAILED: jobs were lost or finished twice", file=sys.stderr)
            return 1
        return 0
    except BenchError as err:
        print(f"queue benchmark failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("queue benchmark interrupted; cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
