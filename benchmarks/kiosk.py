"""Kiosk benchmark: N simulated kiosks against gunicorn, beside a bare Flask hello-world; then the
real player in Chromium (first audio from the cache, gaps between clips).

    .venv/bin/python benchmarks/kiosk.py [--kiosks 50] [--seconds 15] [--rounds 3] [--db sqlite|postgresql]
                                         [--workers 2] [--heartbeat-every 2] [--reloads 5] [--transitions 6]
                                         [--no-browser]

**Set-up.** A temporary data directory and database (SQLite by default; ``--db postgresql``
starts a throwaway cluster with tests/support/pgcluster.py, as benchmarks/job_queue.py does), the
app's migrations, one company and its admin, 6 rendered and approved clips of 3 s (generated
tones, satisfied and unhappy in turn, cut and rendered by the real ``render_clip`` job), one
playlist, and ``--kiosks`` + 1 kiosks paired through the service (the last one is Chromium's).

**HTTP.** Two gunicorns run side by side, both with ``-c infra/gunicorn.conf.py`` and the same
``ECOUTE_*`` environment (so the same workers, worker class and threads): the app, and a
hello-world Flask app generated in the temporary folder (``GET /`` answers ``hello``). The load
generator is this process: one thread per simulated kiosk, each with one keep-alive connection
and a minimal HTTP/1.1 client over a socket (lighter than http.client). A kiosk loops as fast as
it can: ``GET /kiosk/manifest.json`` with its device cookie and ``If-None-Match`` of the last
ETag (304 after its first), and every ``--heartbeat-every``-th request ``POST /kiosk/heartbeat``
(JSON: current clip, version, state and one play). Real kiosks poll and beat every 30 s each:
time is compressed, the mix (1:1 by default) is kept. Against the hello-world, the same number of
clients ``GET /``. The targets take turns, ``--rounds`` times (the order flips each round), each
``--seconds`` long after 2 s of warm-up; a request counts if it ended in the window.
Any answer other than 200, 204 or 304, or a broken connection, is an error. Reported: medians
over rounds of req/s, and of each endpoint's p50 and p99 latency; the ratio of the kiosk
endpoints' req/s to the hello-world's (target >= 0.50); CPU used by gunicorn and by the generator.

**Chromium.** Debian's ``/usr/bin/chromium`` (Playwright, headless, tests/browser/conftest.py's
arguments: autoplay allowed) opens ``/kiosk/`` with the device cookie already set and the page's
"paired" flag in localStorage, as a screen that was paired before. Measured from
``window.ecouteKiosk`` (kiosk/player.js): ``firstAudioMs`` (performance.now() at the first
"playing" event, so from the start of the navigation) on the first load (audio from the
network); then, once the service worker controls the page and every clip is in the cache,
``--reloads`` reloads, each one's ``firstAudioMs`` (audio from the cache; the access log shows
whether any clip was fetched again); then the gaps (one clip's "ended" to the next "playing")
over ``--transitions`` clip changes on the last page. Targets: first audio from the cache <= 1000 ms
(median of the reloads), median gap <= 300 ms.

Results: a table on stdout and ``benchmarks/results/kiosk-<UTC stamp>.json`` plus
``kiosk-latest.json``. Exit status 1 if a request failed or the benchmark could not run, else 0
(targets missed or not, they are marked in the table). Every process and temporary folder is
removed at the end, also on failure or Ctrl-C.
"""

# ruff: noqa: E402 - sys.path is fixed before the other imports (below)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where this file would hide the
# project's ``kiosk`` package (webapp/views/kiosk.py imports it): the repository root goes there.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.results import save

HOST = "127.0.0.1"
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "infra" / "gunicorn.conf.py"
TARGET_RATIO = 0.50
TARGET_FIRST_AUDIO_MS = 1000.0
TARGET_GAP_MS = 300.0
WARMUP_S = 2.0
CLIPS = 6
CLIP_SECONDS = 3.0
OK_STATUSES = {200, 204, 304}
CLK_TCK = os.sysconf("SC_CLK_TCK")
HELLO_MODULE = "ecoute_bench_hello"
HELLO_SOURCE = '''"""A bare Flask hello-world: the reference the kiosk endpoints are compared with."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
'''


class BenchError(Exception):
    """The benchmark could not measure what it should."""


# --- set-up: data made by the real app ---------------------------------------------------------


@dataclass
class World:
    """What the set-up made: the servers' environment, the kiosks' tokens, the clips."""

    env: dict[str, str]
    tokens: list[str]  #: device tokens of the simulated kiosks
    browser_kiosk: tuple[int, str, str]  #: (id, name, token) of the kiosk Chromium plays
    clip_ids: list[int]
    db: str


def build_world(stack: ExitStack, work: Path, db: str, kiosks: int) -> World:
    from tests import factories
    from webapp import create_app, migrate
    from webapp.config import Settings
    from webapp.db import get_database
    from webapp.models import Role

    data = work / "data"
    urls: dict[str, str] = {}
    if db == "postgresql":
        from tests.support.pgcluster import PostgresCluster

        cluster = stack.enter_context(PostgresCluster())
        owner_url, rw_url, ops_url = cluster.create_app_database()
        urls = {"database_url": rw_url, "database_owner_url": owner_url, "database_ops_url": ops_url}
    settings = Settings(env="test", data_dir=data, secret_key="bench-kiosk", default_locale="en",  # noqa: S106
                        argon2_time_cost=1, argon2_memory_kib=1024, **urls).with_overrides({})
    migrate.upgrade(settings)
    app = create_app(settings=settings)
    try:
        with app.app_context():
            tenant = factories.make_tenant(slug="bench", name="Bench", locale="en")
            factories.make_user(tenant, role=Role.TENANT_ADMIN, email="admin@bench.example")
            clip_ids = []
            for i in range(CLIPS):
                call = factories.make_ready_call(tenant, seconds=CLIP_SECONDS + 1)
                clip_ids.append(factories.make_clip(
                    tenant, call, start=0.0, end=CLIP_SECONDS, title=f"Bench clip {i + 1}",
                    sentiment="satisfied" if i % 2 == 0 else "unhappy", render=True, approve=True))
            playlist = factories.make_playlist(tenant, clip_ids, name="Bench playlist")
            refs = [factories.make_kiosk(tenant, playlist, name=f"Room {i + 1}") for i in range(kiosks + 1)]
    finally:
        get_database(app).dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOUTE_")}
    env.update({
        # Production-like: the same settings for both servers; only ECOUTE_PORT differs.
        "ECOUTE_ENV": "prod", "ECOUTE_SECRET_KEY": "bench-kiosk", "ECOUTE_DATA_DIR": str(settings.data_dir),
        "ECOUTE_DATABASE_URL": settings.database_url, "ECOUTE_DATABASE_OWNER_URL": settings.database_owner_url,
        "ECOUTE_DATABASE_OPS_URL": settings.database_ops_url,
        "ECOUTE_STORAGE_URL": settings.storage_url, "ECOUTE_DEFAULT_LOCALE": "en", "ECOUTE_HOST": HOST,
        "ECOUTE_LOG_LEVEL": "info",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(work)]),  # the hello-world module lives in ``work``
    })
    last = refs[-1]
    return World(env, [r.token for r in refs[:-1]], (last.id, f"Room {kiosks + 1}", last.token), clip_ids, db)


# --- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (gunicorn's master and workers)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                raw = Path(f"/proc/{name}/stat").read_text()
                if int(raw[raw.rindex(")") + 2:].split()[2]) == pgid:
                    found.append(int(name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with suppress(OSError, IndexError, ValueError):
            raw = Path(f"/proc/{pid}/stat").read_text()
            fields = raw[raw.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def system_ticks() -> tuple[int, int]:
    """(busy, iowait) CPU ticks of the whole machine, all CPUs together (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return sum(fields[:8]) - idle - iowait, iowait


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        return group_pids(self.process.pid)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def stop_server(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=35)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def start_server(stack: ExitStack, name: str, app_spec: str, env: dict[str, str], work: Path, ready_path: str,
                 workers: int) -> Server:
    """gunicorn -c infra/gunicorn.conf.py APP, in a process group of its own, stopped with the stack."""
    port = free_port()
    log = work / f"gunicorn-{name}.log"
    server_env = {**env, "ECOUTE_PORT": str(port)}
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, arguments as a list
            [str(VENV_BIN / "gunicorn"), "-c", str(GUNICORN_CONF), app_spec], env=server_env, cwd=ROOT,
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(name, port, process, log)
    stack.callback(stop_server, server)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise BenchError(f"gunicorn ({name}) exited with {process.returncode}:\n{server.log_tail()}")
        with suppress(OSError, ConnectionClosed):
            conn = Connection(port)
            status = conn.exchange(request_bytes("GET", ready_path, port))[0]
            conn.close()
            if status == 200 and len(server.pids()) >= workers + 1:
                return server
        if time.monotonic() > deadline:
            raise BenchError(f"gunicorn ({name}) did not answer {ready_path} in 60 s:\n{server.log_tail()}")
        time.sleep(0.2)


def gunicorn_settings(env: dict[str, str]) -> dict[str, Any]:
    """What infra/gunicorn.conf.py sets under this environment (read by a Python of its own)."""
    code = ("import json, runpy, sys; g = runpy.run_path(sys.argv[1]); "
            "print(json.dumps({k: g.get(k) for k in ('workers', 'worker_class', 'threads', 'timeout', "
            "'keepalive', 'preload_app', 'accesslog')}))")
    done = subprocess.run([sys.executable, "-c", code, str(GUNICORN_CONF)],  # noqa: S603
                          env={**env, "ECOUTE_PORT": "8000"}, cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise BenchError(f"cannot read {GUNICORN_CONF}: {done.stderr[-2000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if found.get("keepalive") is None:
        found["keepalive"] = "gunicorn's default (2 s)"
    return found


# --- a minimal keep-alive HTTP/1.1 client ------------------------------------------------------


class ConnectionClosed(Exception):
    """The server closed the connection before a whole response came."""


COMMON_HEADERS = "User-Agent: ecoute-bench-kiosk/1\r\nAccept: */*\r\nAccept-Language: en\r\n"


def request_bytes(method: str, path: str, port: int, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{COMMON_HEADERS}"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode("latin-1") + body


class Connection:
    """One persistent connection; ``exchange`` sends a request and reads the whole response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.reconnects = 0

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            with suppress(OSError):
                self.sock.close()
            self.sock = None

    def _fill(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionClosed()
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill()
        return self._take(end + 2)[:-2]

    def exchange(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """(status, headers in lower case, body); a connection the server had closed is reopened once."""
        fresh = self.sock is None
        if fresh:
            self.connect()
        try:
            return self._exchange(raw)
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            if fresh:
                raise
            # A keep-alive connection the server closed meanwhile: what browsers do, try again anew.
            self.reconnects += 1
            self.connect()
            return self._exchange(raw)

    def _exchange(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self.sock is not None
        self.sock.sendall(raw)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[:end + 4]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            while self._line():  # trailers, then the empty line
                pass
            body = b"".join(parts)
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        elif status in (204, 304) or raw.startswith(b"HEAD "):
            body = b""
        else:  # the body runs to the end of the connection
            with suppress(ConnectionClosed):
                while True:
                    self._fill()
            body, self.buf = bytes(self.buf), bytearray()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Simulated:
    """One simulated kiosk (or hello-world client) and what it keeps between requests."""

    index: int
    token: str = ""
    etag: str = ""
    sent: int = 0


Sample = tuple[float, float, str, int]  # (start, end, endpoint, status)


@dataclass
class Load:
    target: str  #: "kiosk" or "hello"
    port: int
    clients: list[Simulated]
    heartbeat_every: int
    clip_ids: list[int]
    stop: threading.Event = field(default_factory=threading.Event)
    samples: list[list[Sample]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reconnects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_request(self, client: Simulated) -> tuple[str, bytes]:
        client.sent += 1
        if self.target == "hello":
            return "hello", request_bytes("GET", "/", self.port)
        cookie = {"Cookie": f"ecoute_kiosk={client.token}"}
        if self.heartbeat_every and client.sent % self.heartbeat_every == 0:
            clip = self.clip_ids[client.sent % len(self.clip_ids)]
            at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            body = json.dumps({"clip_id": clip, "version": client.etag.strip('"'), "state": "playing",
                               "plays": [{"clip_id": clip, "at": at}]}).encode()
            return "heartbeat", request_bytes("POST", "/kiosk/heartbeat", self.port,
                                              {**cookie, "Content-Type": "application/json"}, body)
        if client.etag:
            cookie["If-None-Match"] = client.etag
        return "manifest", request_bytes("GET", "/kiosk/manifest.json", self.port, cookie)

    def drive(self, client: Simulated, out: list[Sample], gate: threading.Barrier) -> None:
        conn = Connection(self.port)
        try:
            try:
                conn.connect()
            except OSError as exc:
                self.problems.append(f"connect: {type(exc).__name__}: {exc}")
                gate.abort()
                return
            gate.wait()
            while not self.stop.is_set():
                endpoint, raw = self.next_request(client)
                start = time.perf_counter()
                try:
                    status, headers, body = conn.exchange(raw)
                except (OSError, ConnectionClosed, ValueError, IndexError) as exc:
                    out.append((start, time.perf_counter(), endpoint, 0))
                    if len(self.problems) < 20:
                        self.problems.append(f"{endpoint}: {type(exc).__name__}: {exc}")
                    conn.close()
                    time.sleep(0.05)
                    continue
                out.append((start, time.perf_counter(), endpoint, status))
                if endpoint == "manifest" and status == 200:
                    client.etag = headers.get("etag", "")
                elif status not in OK_STATUSES and len(self.problems) < 20:
                    self.problems.append(f"{endpoint}: HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
        except threading.BrokenBarrierError:
            pass
        finally:
            with self.lock:
                self.reconnects += conn.reconnects
            conn.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def run_round(load: Load, seconds: float, server: Server) -> dict[str, Any]:
    """Connect every client, run WARMUP_S unmeasured, then ``seconds`` measured; stop and summarise."""
    gate = threading.Barrier(len(load.clients) + 1)
    load.samples = [[] for _ in load.clients]
    threads = [threading.Thread(target=load.drive, args=(client, out, gate), daemon=True,
                                name=f"{load.target}-{client.index}")
               for client, out in zip(load.clients, load.samples, strict=True)]
    try:
        for thread in threads:
            thread.start()
        try:
            gate.wait(timeout=60)
        except threading.BrokenBarrierError:
            raise BenchError(f"{load.target}: the clients could not all connect: {load.problems[:3]}") from None
        time.sleep(WARMUP_S)
        pids = server.pids()
        server_cpu0, own_cpu0, (busy0, iowait0) = cpu_seconds(pids), time.process_time(), system_ticks()
        start = time.perf_counter()
        time.sleep(seconds)
        end = time.perf_counter()
        server_cpu, own_cpu = cpu_seconds(pids) - server_cpu0, time.process_time() - own_cpu0
        busy, iowait = (after - before for after, before in zip(system_ticks(), (busy0, iowait0), strict=True))
    finally:  # also on Ctrl-C: no client goes on hammering a server being stopped
        load.stop.set()
        gate.abort()
        for thread in threads:
            if thread.is_alive():
                thread.join(timeout=90)
    wall = end - start
    # Requests that ended in the window (those in flight at its edges are counted once, at their end).
    counted = [s for per in load.samples for s in per if start <= s[1] <= end]
    endpoints: dict[str, Any] = {}
    for name in sorted({s[2] for s in counted}):
        mine = [s for s in counted if s[2] == name]
        latencies = sorted((s[1] - s[0]) * 1000 for s in mine)
        statuses: dict[str, int] = {}
        for s in mine:
            statuses[str(s[3])] = statuses.get(str(s[3]), 0) + 1
        endpoints[name] = {
            "requests": len(mine), "req_per_s": len(mine) / wall,
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else float("nan"),
            "errors": sum(1 for s in mine if s[3] not in OK_STATUSES), "statuses": statuses,
        }
    latencies = sorted((s[1] - s[0]) * 1000 for s in counted)
    return {
        "target": load.target, "seconds": wall, "requests": len(counted), "req_per_s": len(counted) / wall,
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
        "errors": sum(e["errors"] for e in endpoints.values()), "endpoints": endpoints,
        # Percent of one CPU; "others" is every other process of the machine (the machine is shared).
        "server_cpu_percent": 100 * server_cpu / wall, "generator_cpu_percent": 100 * own_cpu / wall,
        "others_cpu_percent": max(0.0, 100 * (busy / CLK_TCK - server_cpu - own_cpu) / wall),
        "iowait_percent": 100 * iowait / CLK_TCK / wall, "load_average_1min": os.getloadavg()[0],
        "reconnects": load.reconnects, "problems": list(load.problems),
    }


def measure_http(servers: dict[str, Server], world: World, args: argparse.Namespace) -> dict[str, Any]:
    kiosks = [Simulated(i, token) for i, token in enumerate(world.tokens)]
    hellos = [Simulated(i) for i in range(len(world.tokens))]
    rounds: list[dict[str, Any]] = []
    for index in range(args.rounds):
        order = ("kiosk", "hello") if index % 2 == 0 else ("hello", "kiosk")
        for target in order:
            load = Load(target, servers[target].port, kiosks if target == "kiosk" else hellos,
                        args.heartbeat_every, world.clip_ids)
            result = run_round(load, args.seconds, servers[target])
            result["round"] = index + 1
            rounds.append(result)
            parts = ", ".join(f"{name} p50 {e['p50_ms']:.1f} p99 {e['p99_ms']:.1f} ms"
                              for name, e in result["endpoints"].items())
            print(f"[round {index + 1}/{args.rounds}] {target:<5} {result['req_per_s']:8.1f} req/s ({parts}); "
                  f"errors {result['errors']}; CPU gunicorn {result['server_cpu_percent']:.0f} %, "
                  f"generator {result['generator_cpu_percent']:.0f} %, other processes "
                  f"{result['others_cpu_percent']:.0f} %, iowait {result['iowait_percent']:.0f} %", flush=True)
    return summarise_http(rounds)


def summarise_http(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def med(values: list[float]) -> float:
        return float(statistics.median(values))

    targets: dict[str, Any] = {}
    for target in ("kiosk", "hello"):
        mine = [r for r in rounds if r["target"] == target]
        names = sorted({name for r in mine for name in r["endpoints"]})
        targets[target] = {
            "req_per_s": med([r["req_per_s"] for r in mine]),
            "p50_ms": med([r["p50_ms"] for r in mine]), "p99_ms": med([r["p99_ms"] for r in mine]),
            "errors": sum(r["errors"] for r in mine),
            "server_cpu_percent": med([r["server_cpu_percent"] for r in mine]),
            "generator_cpu_percent": med([r["generator_cpu_percent"] for r in mine]),
            "others_cpu_percent": med([r["others_cpu_percent"] for r in mine]),
            "iowait_percent": med([r["iowait_percent"] for r in mine]),
            "endpoints": {name: {
                "req_per_s": med([r["endpoints"].get(name, {}).get("req_per_s", 0.0) for r in mine]),
                "p50_ms": med([r["endpoints"][name]["p50_ms"] for r in mine if name in r["endpoints"]]),
                "p99_ms": med([r["endpoints"][name]["p99_ms"] for r in mine if name in r["endpoints"]]),
                "max_ms": max(r["endpoints"][name]["max_ms"] for r in mine if name in r["endpoints"]),
                "errors": sum(r["endpoints"].get(name, {}).get("errors", 0) for r in mine),
            } for name in names},
        }
    ratio = targets["kiosk"]["req_per_s"] / targets["hello"]["req_per_s"] if targets["hello"]["req_per_s"] else 0.0
    by_round = {}
    for r in rounds:
        by_round.setdefault(r["round"], {})[r["target"]] = r["req_per_s"]
    round_ratios = [v["kiosk"] / v["hello"] for v in by_round.values() if v.get("hello")]
    return {"median": targets, "ratio": ratio, "ratio_per_round": round_ratios, "meets": ratio >= TARGET_RATIO,
            "kiosks_at_real_cadence": kiosks_at_real_cadence(targets["kiosk"]["endpoints"]), "rounds": rounds}


def kiosks_at_real_cadence(endpoints: dict[str, Any]) -> int | None:
    """How many kiosks these rates would carry at their real pace (a manifest poll every POLL_SECONDS,
    a heartbeat every HEARTBEAT_SECONDS): whichever endpoint runs out first."""
    from webapp.services import kiosks

    if "manifest" not in endpoints or "heartbeat" not in endpoints:
        return None
    return int(min(endpoints["manifest"]["req_per_s"] * kiosks.POLL_SECONDS,
                   endpoints["heartbeat"]["req_per_s"] * kiosks.HEARTBEAT_SECONDS))


# --- where a kiosk request's time goes ------------------------------------------------------------


def measure_components(world: World, count: int = 200) -> dict[str, Any]:
    """Each request alone, one at a time, through the Flask test client in this process (no HTTP
    server, no concurrency): milliseconds, SQL statements and database connections per request."""
    from flask import Flask
    from sqlalchemy import event

    from webapp import create_app
    from webapp.config import load_settings
    from webapp.db import get_database

    app = create_app(settings=load_settings(world.env))
    hello = Flask("hello")
    hello.add_url_rule("/", "hello", lambda: "hello")
    engine = get_database(app).engine
    counts = {"statements": 0, "connections": 0}

    def on_statement(*_: Any) -> None:
        counts["statements"] += 1

    def on_connect(*_: Any) -> None:
        counts["connections"] += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "connect", on_connect)
    try:
        client = app.test_client()
        client.set_cookie("ecoute_kiosk", world.tokens[0], path="/kiosk")
        etag = client.get("/kiosk/manifest.json").headers.get("ETag", "")
        clip = world.clip_ids[0]

        def heartbeat() -> int:
            at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            return client.post("/kiosk/heartbeat", json={"clip_id": clip, "state": "playing", "version": "",
                                                         "plays": [{"clip_id": clip, "at": at}]}).status_code

        cases = {
            "hello-world GET /": lambda: hello.test_client().get("/").status_code,
            "app GET /healthz (no database)": lambda: client.get("/healthz").status_code,
            "GET /kiosk/manifest.json -> 304": lambda: client.get(
                "/kiosk/manifest.json", headers={"If-None-Match": etag}).status_code,
            "GET /kiosk/manifest.json -> 200": lambda: client.get("/kiosk/manifest.json").status_code,
            "POST /kiosk/heartbeat -> 204": heartbeat,
        }
        out: dict[str, Any] = {}
        for name, call in cases.items():
            for _ in range(20):
                call()
            counts.update(statements=0, connections=0)
            statuses = set()
            start = time.perf_counter()
            for _ in range(count):
                statuses.add(call())
            seconds = time.perf_counter() - start
            out[name] = {"ms_per_request": 1000 * seconds / count, "sql_statements": counts["statements"] / count,
                         "db_connections": counts["connections"] / count, "statuses": sorted(statuses)}
        return out
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "connect", on_connect)
        get_database(app).dispose()


# --- Chromium ----------------------------------------------------------------------------------

OBSERVED = "() => window.ecouteKiosk ? JSON.parse(JSON.stringify(window.ecouteKiosk)) : null"
FIRST_AUDIO = "() => !!(window.ecouteKiosk && window.ecouteKiosk.firstAudioMs !== null)"
ALL_CACHED = """(count) => !!(navigator.serviceWorker && navigator.serviceWorker.controller && window.ecouteKiosk
    && window.ecouteKiosk.cached.filter((url) => url.indexOf("/kiosk/media/") === 0).length >= count)"""
GAPS = "(count) => !!(window.ecouteKiosk && window.ecouteKiosk.gaps.length >= count)"
NAVIGATION = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return {dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
            response_end_ms: nav ? nav.responseEnd : null,
            controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller),
            screen: document.body ? document.body.dataset.screen : null};
}"""


def paired_key() -> str:
    """The localStorage key in which kiosk/player.js remembers that the screen is paired."""
    source = (ROOT / "kiosk" / "player.js").read_text()
    found = re.search(r'\bpaired:\s*"([^"]+)"', source)
    return found.group(1) if found else "ecoute-kiosk.paired"


def media_fetches(server: Server) -> int:
    return len(re.findall(r'"GET /kiosk/media/', server.log_text()))


def measure_chromium(server: Server, world: World, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    kiosk_id, kiosk_name, token = world.browser_kiosk
    url = f"http://{HOST}:{server.port}"
    out: dict[str, Any] = {"clips": len(world.clip_ids), "clip_seconds": CLIP_SECONDS, "reloads": args.reloads}
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            out["chromium"] = browser.version
            context = browser.new_context(base_url=url, locale="en-GB", viewport={"width": 1280, "height": 720})
            context.add_cookies([{"name": "ecoute_kiosk", "value": token, "domain": HOST, "path": "/kiosk",
                                  "httpOnly": True, "sameSite": "Strict"}])
            paired = json.dumps({"id": kiosk_id, "name": kiosk_name})
            context.add_init_script(f"try {{ localStorage.setItem({json.dumps(paired_key())}, "
                                    f"{json.dumps(paired)}); }} catch (e) {{}}")
            page = context.new_page()
            page.on("console", lambda m: m.type in ("error", "warning") and console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))

            def wait(script: str, arg: Any, seconds: float, what: str) -> None:
                try:
                    page.wait_for_function(script, arg=arg, timeout=seconds * 1000, polling=20)
                except PlaywrightError as exc:
                    state = page.evaluate(NAVIGATION)
                    seen = page.evaluate(OBSERVED)
                    raise BenchError(f"Chromium: {what} within {seconds:.0f} s failed (screen "
                                     f"{state.get('screen')!r}, window.ecouteKiosk {json.dumps(seen)[:600]}); "
                                     f"console: {console[-5:]}: {str(exc).splitlines()[0]}") from exc

            page.goto("/kiosk/")
            wait(FIRST_AUDIO, None, 30, "first audio (network)")
            first = page.evaluate(OBSERVED)
            out["first_load"] = {"first_audio_ms": first["firstAudioMs"], **page.evaluate(NAVIGATION)}
            print(f"Chromium: first load, first audio (network) at {first['firstAudioMs']:.0f} ms", flush=True)
            started = time.monotonic()
            wait(ALL_CACHED, len(world.clip_ids), 60, "service worker in control and every clip cached")
            out["seconds_until_all_cached"] = round(time.monotonic() - started, 2)
            reloads = []
            for _ in range(args.reloads):
                before = media_fetches(server)
                page.reload()
                wait(FIRST_AUDIO, None, 30, "first audio after a reload")
                seen = page.evaluate(OBSERVED)
                reloads.append({"first_audio_ms": seen["firstAudioMs"], **page.evaluate(NAVIGATION),
                                "media_fetched_from_server": media_fetches(server) - before})
                print(f"Chromium: reload, first audio (cache) at {seen['firstAudioMs']:.0f} ms", flush=True)
            out["reload_runs"] = reloads
            fetched_before_playing = media_fetches(server)
            values = [r["first_audio_ms"] for r in reloads]
            out["first_audio_from_cache_ms"] = {"median": statistics.median(values), "min": min(values),
                                                "max": max(values)} if values else None
            limit = args.transitions * (CLIP_SECONDS + 3) + 15
            wait(GAPS, args.transitions, limit, f"{args.transitions} clip transitions")
            seen = page.evaluate(OBSERVED)
            gaps = seen["gaps"]
            out["gaps_ms"] = gaps
            out["gap_ms"] = {"median": statistics.median(gaps), "max": max(gaps), "count": len(gaps)}
            out["plays_on_last_page"] = len(seen["plays"])
            out["media_fetched_while_playing"] = media_fetches(server) - fetched_before_playing
            out["cached_media"] = len([u for u in seen["cached"] if u.startswith("/kiosk/media/")])
            context.close()
        finally:
            browser.close()
    out["console"] = console
    cached_ms = out["first_audio_from_cache_ms"]["median"] if out.get("first_audio_from_cache_ms") else None
    out["meets"] = {"first_audio_from_cache": cached_ms is not None and cached_ms <= TARGET_FIRST_AUDIO_MS,
                    "gap": out["gap_ms"]["median"] <= TARGET_GAP_MS}
    return out


# --- report ------------------------------------------------------------------------------------

LOG_PROBLEM = re.compile(r"Traceback|\[ERROR\]| ERROR |database is locked|CRITICAL|WORKER TIMEOUT", re.IGNORECASE)


def log_problems(server: Server) -> list[str]:
    return [line for line in server.log_text().splitlines() if LOG_PROBLEM.search(line)][:40]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {name: version(name) for name in ("gunicorn", "flask", "werkzeug", "SQLAlchemy", "playwright")}
    found["python"] = platform.python_version()
    found["sqlite"] = __import__("sqlite3").sqlite_version
    return found


def print_report(report: dict[str, Any]) -> None:
    cfg, http = report["config"], report["http"]
    gun = cfg["gunicorn"]
    print(f"\nKiosk API vs a bare Flask hello-world on the same gunicorn settings ({gun['workers']} workers, "
          f"{gun['worker_class']}, {gun['threads']} threads), {cfg['kiosks']} simulated kiosks / clients, "
          f"{cfg['rounds']} rounds of {cfg['seconds']:.0f} s after {WARMUP_S:.0f} s of warm-up, "
          f"database {cfg['db']}; medians over rounds.")
    print(f"This machine has {report['machine']['cpus']} CPU(s): the load generator (this process) competes with "
          "gunicorn for them, and so does any other process (CPU columns: % of one CPU; 'others' = the rest of "
          f"the machine; load average {report['machine']['load_average_at_start']:.1f} at the start).\n")
    print(f"{'target':<12}{'endpoint':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
          f"{'CPU gunicorn':>14}{'generator':>11}{'others':>8}{'iowait':>8}")
    labels = {"manifest": "GET /kiosk/manifest.json", "heartbeat": "POST /kiosk/heartbeat", "hello": "GET /"}
    for target in ("kiosk", "hello"):
        t = http["median"][target]
        print(f"{target:<12}{'all':<26}{t['req_per_s']:>9.1f}{t['p50_ms']:>9.1f}{t['p99_ms']:>9.1f}{'':>9}"
              f"{t['errors']:>8}{t['server_cpu_percent']:>13.0f}%{t['generator_cpu_percent']:>10.0f}%"
              f"{t['others_cpu_percent']:>7.0f}%{t['iowait_percent']:>7.0f}%")
        if target == "kiosk":
            for name, e in t["endpoints"].items():
                print(f"{'':<12}{labels.get(name, name):<26}{e['req_per_s']:>9.1f}{e['p50_ms']:>9.1f}"
                      f"{e['p99_ms']:>9.1f}{e['max_ms']:>9.1f}{e['errors']:>8}")
    verdict = "PASS" if http["meets"] else "MISS"
    per_round = ", ".join(f"{r:.2f}" for r in http["ratio_per_round"])
    print(f"\nkiosk req/s / hello-world req/s = {http['ratio']:.2f} (per round: {per_round}); "
          f"target >= {TARGET_RATIO:.2f}: {verdict}")
    print("Every client sends its next request as soon as the last is answered: at saturation, latency is about "
          "clients / req/s (queueing), not the cost of one request (below).")
    if http["kiosks_at_real_cadence"]:
        print(f"At the real pace (a manifest poll and a heartbeat every 30 s per kiosk), these rates would carry "
              f"about {http['kiosks_at_real_cadence']} kiosks.")
    if report["server_log_problems"]:
        print(f"\nThe app's gunicorn log has {len(report['server_log_problems'])} problem line(s), first ones:")
        for line in report["server_log_problems"][:8]:
            print(f"  {line[:200]}")
    for r in http["rounds"]:
        for problem in r["problems"][:3]:
            print(f"  round {r['round']} {r['target']}: {problem[:200]}")
    if report.get("components"):
        print("\nOne request at a time in this process (Flask test client, no HTTP server):")
        for name, c in report["components"].items():
            print(f"  {name:<34}{c['ms_per_request']:>7.2f} ms{c['sql_statements']:>6.1f} SQL statements"
                  f"{c['db_connections']:>5.1f} database connections opened")
    chromium = report.get("chromium")
    if chromium is None:
        return
    print()
    if "error" in chromium:
        print(f"Chromium: not measured: {chromium['error']}")
        return
    cache, gap = chromium["first_audio_from_cache_ms"], chromium["gap_ms"]
    ok = chromium["meets"]
    fetched = sum(r["media_fetched_from_server"] for r in chromium["reload_runs"])
    print(f"Chromium {chromium['chromium']} ({chromium['clips']} clips of {CLIP_SECONDS:.0f} s):")
    print(f"  first load, page load to first audio (network):     {chromium['first_load']['first_audio_ms']:7.0f} ms")
    print(f"  reload, page load to first audio from the cache:    {cache['median']:7.0f} ms median of "
          f"{chromium['reloads']} ({cache['min']:.0f}-{cache['max']:.0f}); clips fetched from the server "
          f"meanwhile: {fetched}; target <= {TARGET_FIRST_AUDIO_MS:.0f} ms: "
          f"{'PASS' if ok['first_audio_from_cache'] else 'MISS'}")
    print(f"  gap between clips ({gap['count']} transitions):          {gap['median']:7.0f} ms median, "
          f"{gap['max']:.0f} ms max (clips fetched from the server meanwhile: "
          f"{chromium['media_fetched_while_playing']}); "
          f"target median <= {TARGET_GAP_MS:.0f} ms: {'PASS' if ok['gap'] else 'MISS'}")
    if chromium["console"]:
        print(f"  console errors/warnings: {chromium['console'][:5]}")


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ecoute-kiosk-bench-"))
    os.chmod(path, 0o755)  # noqa: S103 - the postgres user (when we are root) reaches nothing else here
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=50, help="simulated kiosks (and hello-world clients)")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per target and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the two targets take turns in each")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite (the embedded default) or a throwaway PostgreSQL cluster")
    parser.add_argument("--workers", type=int, default=2,
                        help="ECOUTE_WEB_WORKERS for both gunicorns (the app's default: 2)")
    parser.add_argument("--heartbeat-every", type=int, default=2,
                        help="every n-th request of a kiosk is a heartbeat (2: one per manifest poll, as real "
                             "kiosks; 0: none)")
    parser.add_argument("--reloads", type=int, default=5, help="Chromium reloads measured (first audio from cache)")
    parser.add_argument("--transitions", type=int, default=6, help="clip changes whose gaps are measured")
    parser.add_argument("--components", action=argparse.BooleanOptionalAction, default=True,
                        help="also time each request alone in this process, with its SQL statements (default on)")
    parser.add_argument("--browser", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the player in Chromium (default on)")
    args = parser.parse_args(argv)
    if args.kiosks < 1 or args.rounds < 1 or args.seconds <= 0 or args.workers < 1 or args.heartbeat_every < 0:
        parser.error("--kiosks, --rounds, --workers must be at least 1, --seconds above 0")
    if args.reloads < 1 or args.transitions < 1:
        parser.error("--reloads and --transitions must be at least 1")
    signal.signal(signal.SIGTERM, interrupt)  # a CI timeout or kill unwinds like Ctrl-C: the stack cleans up
    threading.stack_size(512 * 1024)  # hundreds of client threads, each with a small stack
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        with workdir() as work, ExitStack() as stack:
            began, load_at_start = time.monotonic(), os.getloadavg()[0]
            print(f"Set-up in {work}: {args.db}, migrations, {CLIPS} rendered clips, {args.kiosks + 1} kiosks ...",
                  flush=True)
            world = build_world(stack, work, args.db, args.kiosks)
            (work / f"{HELLO_MODULE}.py").write_text(HELLO_SOURCE)
            world.env["ECOUTE_WEB_WORKERS"] = str(args.workers)
            gunicorn = gunicorn_settings(world.env)
            servers = {
                "kiosk": start_server(stack, "app", "webapp:create_app()", world.env, work, "/healthz",
                                      args.workers),
                "hello": start_server(stack, "hello", f"{HELLO_MODULE}:app", world.env, work, "/", args.workers),
            }
            print(f"Set-up done in {time.monotonic() - began:.0f} s; gunicorn: {gunicorn}", flush=True)
            http = measure_http(servers, world, args)
            components = measure_components(world) if args.components else None
            chromium: dict[str, Any] | None = None
            if args.browser:
                try:
                    chromium = measure_chromium(servers["kiosk"], world, args)
                except Exception as err:  # any failure here leaves the HTTP figures to report
                    chromium = {"error": f"{type(err).__name__}: {err}"}
                    print(f"Chromium part not measured: {err}", file=sys.stderr, flush=True)
            report = {
                "benchmark": "kiosk",
                "timestamp": stamp,
                "command": " ".join([".venv/bin/python", "benchmarks/kiosk.py", *(argv or sys.argv[1:])]),
                "machine": {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                                        * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                            "kernel": platform.release(), "platform": platform.platform(),
                            "load_average_at_start": load_at_start},
                "versions": versions(),
                "config": {"kiosks": args.kiosks, "seconds": args.seconds, "rounds": args.rounds,
                           "warmup_seconds": WARMUP_S, "db": args.db, "heartbeat_every": args.heartbeat_every,
                           "gunicorn": gunicorn, "clips": CLIPS, "clip_seconds": CLIP_SECONDS},
                "targets": {"kiosk_to_hello_ratio_min": TARGET_RATIO,
                            "first_audio_from_cache_ms_max": TARGET_FIRST_AUDIO_MS, "gap_ms_median_max": TARGET_GAP_MS},
                "http": http,
                "components": components,
                "chromium": chromium,
                "server_log_problems": log_problems(servers["kiosk"]),
                "wall_seconds": round(time.monotonic() - began, 1),
            }
        print_report(report)
        path = save("kiosk", report)
        print(f"\nSaved {path.relative_to(ROOT)} (and kiosk-latest.json); {report['wall_seconds']:.0f} s in all")
        errors = http["median"]["kiosk"]["errors"] + http["median"]["hello"]["errors"]
        if errors:
            print(f"FAILED: {errors} request(s) failed (see the problems above and in the JSON)", file=sys.stderr)
            return 1
        return 0
    except BenchError as err:
        print(f"kiosk benchmark failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kiosk benchmark interrupted; cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
