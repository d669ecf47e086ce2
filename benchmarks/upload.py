"""Upload benchmark: a large WAV through the running gunicorn app, to each storage backend.

    .venv/bin/python benchmarks/upload.py [--size-mib 1024] [--backends local,s3] [--repeat 3]

Each repeat, for each backend, starts from nothing: a fresh data directory, database, company
and quality manager (made with the ``ecoute`` CLI), a fresh moto S3 server for ``s3``, and
gunicorn started exactly as ``ecoute serve`` starts it, with one worker. The benchmark logs in
with a cookie jar, uploads a one-second warm-up file (so that lazy imports and the S3 client are
not counted), then streams the big file as the browser does (multipart form, Content-Length,
``HX-Request``), never holding it in memory, and times it until the whole response is read.
Meanwhile it samples the worker's VmRSS every 50 ms; VmHWM read at the end is a cross-check.

The reference is measured in the same run, before each repeat: a raw loopback copy of the same
bytes, sent over TCP to a receiver process that writes them to a file on the same disk and
fsyncs it. Targets (the issue): peak RSS growth <= 64 MiB, throughput >= 50 % of the raw copy.

The sampler also watches what the worker does from outside (its ffprobe/ffmpeg children, the
``ecoute-s3-*`` folder ``S3Storage.local_copy`` makes, its CPU time), which splits each upload
into phases: receive (body sent and parsed), store, copy back from S3, probe, finish.
``--components`` (on by default) then times the pieces alone, in this process, on the same file:
werkzeug's multipart parser, SHA-256, ``storage.write``, ``local_copy`` and ``audio.probe``.

Results: a table of medians on stdout, and ``benchmarks/results/upload-<UTC timestamp>.json``
plus ``upload-latest.json`` (the folder is git-ignored). Every process and temporary folder is
removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.s3server import CREDENTIALS, S3Server  # noqa: E402

VENV_BIN = Path(sys.executable).parent
ECOUTE = str(VENV_BIN / "ecoute")
RESULTS = ROOT / "benchmarks" / "results"
MIB = 1024 * 1024
CHUNK = MIB  # what the client and the raw copy send at a time (the app's storage.CHUNK_SIZE)
WAV_RATE = 16_000  # Hz, mono, s16le: 32,000 bytes a second, like a call recording
WAV_HEADER = 44
TARGET_RSS_MIB = 64
TARGET_RATIO = 0.5
HOST = "127.0.0.1"
BUCKET = "ecoute-bench"
EMAIL = "qualite@bench.example"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The receiving end of the raw copy: what any server must at least do with the bytes.
RECEIVER = """
import os, socket, sys, time
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
buf = bytearray(1 << 20)
view = memoryview(buf)
with open(sys.argv[1], "wb", buffering=0) as out:
    while n := conn.recv_into(buf):
        out.write(view[:n])
    start = time.perf_counter()
    os.fsync(out.fileno())
conn.sendall(f"ok {time.perf_counter() - start:.6f}".encode())
conn.close()
srv.close()
"""


class BenchError(Exception):
    """The benchmark could not measure what it should (the app refused the upload, a step failed)."""


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_wav(path: Path, size: int) -> Path:
    """Pink noise, 16 kHz mono s16le, of about ``size`` bytes (ffmpeg writes it, nothing in memory)."""
    seconds = (size - WAV_HEADER) / (2 * WAV_RATE)
    subprocess.run(  # noqa: S603
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi",  # noqa: S607
         "-i", f"anoisesrc=color=pink:amplitude=0.3:sample_rate={WAV_RATE}:seed=7", "-t", f"{seconds:.6f}",
         "-ac", "1", "-ar", str(WAV_RATE), "-c:a", "pcm_s16le", "-map_metadata", "-1",
         "-fflags", "+bitexact", "-flags:a", "+bitexact", str(path)],
        check=True, timeout=1800,
    )
    actual = path.stat().st_size
    if abs(actual - size) > size * 0.02 + 4096:
        raise BenchError(f"ffmpeg wrote {actual} bytes, {size} were asked for")
    return path


def read_chunks(path: Path) -> Iterator[memoryview]:
    """The file's bytes, 1 MiB at a time, through one reused buffer."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as src:
        while n := src.readinto(buf):
            yield view[:n]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in KiB (empty once it has gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def proc_stat(pid: int) -> tuple[int, int, list[str]] | None:
    """(ppid, process group, fields after the command name) of ``pid``, or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            raw = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = raw[raw.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[2]), rest


def proc_comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def children_of(pids: set[int]) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = proc_stat(int(name))
            if stat is not None and stat[0] in pids:
                found.append(int(name))
    return found


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own user+system, waited-for children's user+system) CPU seconds of ``pid``."""
    stat = proc_stat(pid)
    if stat is None:
        return 0.0, 0.0
    fields = stat[2]  # fields[0] is the state (field 3 of stat); utime is field 14
    own = int(fields[11]) + int(fields[12])
    kids = int(fields[13]) + int(fields[14])
    return own / CLK_TCK, kids / CLK_TCK


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def sync_disk() -> None:
    """Flush dirty pages so one measurement does not pay for the previous one's writes."""
    os.sync()
    time.sleep(0.5)


# --- the worker sampler ----------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    rss_kib: int
    cpu_own: float
    cpu_children: float
    children: dict[int, tuple[str, int]]  # pid -> (comm, rss KiB)
    copy_dir: bool
    s3_cpu: float  # CPU seconds of the moto server so far (0 without one)


@dataclass
class Sampler:
    """Samples the gunicorn workers every ``interval`` seconds on a thread of its own."""

    workers: list[int]
    watch_dir: Path
    s3_pid: int | None = None
    interval: float = 0.05
    samples: list[Sample] = field(default_factory=list)
    t0: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> Sample:
        rss = sum(proc_status(pid).get("VmRSS", 0) for pid in self.workers)
        own = kids = 0.0
        for pid in self.workers:
            o, k = cpu_seconds(pid)
            own, kids = own + o, kids + k
        children = {pid: (comm, proc_status(pid).get("VmRSS", 0))
                    for pid in children_of(set(self.workers)) if (comm := proc_comm(pid))}
        copy_dir = any(p.name.startswith("ecoute-s3-") for p in self.watch_dir.iterdir())
        s3_cpu = sum(cpu_seconds(self.s3_pid)) if self.s3_pid else 0.0
        return Sample(time.perf_counter() - self.t0, rss, own, kids, children, copy_dir, s3_cpu)

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append(self.sample())


# --- the app under test ----------------------------------------------------------------------


class Client:
    """http.client with a cookie jar, one connection per request (as simple as a browser tab)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": f"{HOST}:{self.port}", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.msg.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=self._headers(headers))
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            self._keep_cookies(response)
            return response.status, text, dict(response.getheaders())
        finally:
            conn.close()

    def upload(self, path: Path, csrf: str) -> tuple[int, str, float, float]:
        """Stream ``path`` as the upload form does; (status, body, seconds to send, seconds to response).

        The clock starts before the request line and stops when the response is read in full.
        """
        boundary = "----ecoute-bench-" + secrets.token_hex(12)
        fields = {"csrf_token": csrf, "received_at": "", "channel": "phone", "agent": "Bench",
                  "product": "upload-benchmark", "customer_ref": "", "consent": "unknown", "language_hint": ""}
        head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in fields.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
                 "Content-Type: audio/wav\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + path.stat().st_size + len(tail)
        conn = http.client.HTTPConnection(HOST, self.port, timeout=1800)
        try:
            start = time.perf_counter()
            conn.putrequest("POST", "/calls/upload", skip_host=True, skip_accept_encoding=True)
            for name, value in self._headers({
                "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length),
                "HX-Request": "true", "X-CSRFToken": csrf, "Origin": f"http://{HOST}:{self.port}",
                "Referer": f"http://{HOST}:{self.port}/calls/upload",
            }).items():
                conn.putheader(name, value)
            conn.endheaders()
            try:
                conn.send(head)
                for chunk in read_chunks(path):
                    conn.send(chunk)
                conn.send(tail)
            except OSError as exc:  # the app answered early (413...) and closed: read what it said
                try:
                    response = conn.getresponse()
                    return response.status, response.read().decode("utf-8", "replace"), 0.0, 0.0
                except (OSError, http.client.HTTPException):
                    raise BenchError(f"the app closed the connection during the upload: {exc}") from exc
            sent = time.perf_counter() - start
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            done = time.perf_counter() - start
            return response.status, text, sent, done
        finally:
            conn.close()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise BenchError("no csrf_token in the page")
    return match.group(1)


@dataclass
class Env:
    """One backend's world: data dir, optional moto server, gunicorn; closed by the ExitStack."""

    backend: str
    folder: Path
    env: dict[str, str]
    port: int
    s3: S3Server | None = None
    gunicorn: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def tmp(self) -> Path:
        return Path(self.env["TMPDIR"])

    def cli(self, *args: str) -> str:
        done = subprocess.run([ECOUTE, *args], env=self.env, capture_output=True, text=True,  # noqa: S603
                              timeout=300, check=False)
        if done.returncode != 0:
            raise BenchError(f"ecoute {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def workers(self) -> list[int]:
        assert self.gunicorn is not None
        return sorted(children_of({self.gunicorn.pid}))

    def stored_sizes(self) -> list[int]:
        """Sizes of the objects the app stored (to check the big one is really there)."""
        if self.s3 is not None:
            pages = self.s3.admin.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            return [int(o["Size"]) for page in pages for o in page.get("Contents", [])]
        media = Path(self.env["ECOUTE_DATA_DIR"]) / "media"
        return [p.stat().st_size for p in media.rglob("*") if p.is_file()]


def _stop_gunicorn(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the master, its worker and their ffmpeg children
        process.wait(timeout=35)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def open_env(stack: ExitStack, backend: str, work: Path, size: int) -> Env:
    """A data dir, database, company, quality manager, S3 bucket if any, and gunicorn serving them."""
    folder = Path(tempfile.mkdtemp(prefix=f"{backend}-", dir=work))
    # Removed as soon as this upload is measured (the callback runs after gunicorn and moto have
    # stopped): the next measurement starts with the same free memory and disk as this one.
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    (folder / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOUTE_", "AWS_"))}
    port = free_port()
    env.update({
        "ECOUTE_DATA_DIR": str(folder / "data"),
        "ECOUTE_HOST": HOST,
        "ECOUTE_PORT": str(port),
        "ECOUTE_WEB_WORKERS": "1",
        "ECOUTE_MAX_UPLOAD_MB": str(size // MIB + 64),
        "ECOUTE_DEFAULT_LOCALE": "en",
        # werkzeug's upload spool files and S3Storage.local_copy go here: same disk as /tmp, and
        # the sampler can see local_copy's folder appear.
        "TMPDIR": str(folder / "tmp"),
    })
    result = Env(backend, folder, env, port)
    if backend == "s3":
        server = S3Server().start()
        stack.callback(server.stop)
        server.create_bucket(BUCKET)
        result.s3 = server
        env.update({
            "ECOUTE_STORAGE_URL": f"s3://{BUCKET}/media",
            "ECOUTE_S3_ENDPOINT_URL": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": CREDENTIALS["region_name"],
        })
    elif backend == "local":
        env["ECOUTE_STORAGE_URL"] = (folder / "data" / "media").as_uri()
    else:
        raise BenchError(f"unknown backend {backend!r} (local, s3)")
    result.cli("db", "upgrade")
    result.cli("tenant", "create", "bench", "--name", "Bench", "--admin-email", "direction@bench.example",
               "--locale", "en")
    said = result.cli("user", "create", "--tenant", "bench", "--email", EMAIL, "--role", "quality_manager",
                      "--password")
    match = re.search(r"one-time password: (\S+)", said)
    if not match:
        raise BenchError(f"no password in: {said!r}")
    env["BENCH_PASSWORD"] = match.group(1)  # not read by the app; kept with the rest

    result.log_path = folder / "gunicorn.log"
    log = stack.enter_context(result.log_path.open("wb"))
    # `ecoute serve` execs gunicorn with infra/gunicorn.conf.py: this pid is gunicorn's master.
    command = [ECOUTE, "serve"]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                               stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    stack.callback(_stop_gunicorn, process)
    result.gunicorn = process
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited ({process.returncode}):\n{result.log_tail()}")
        try:
            if Client(port).request("GET", "/healthz")[0] == 200 and result.workers():
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(f"gunicorn did not answer /healthz in 60 s:\n{result.log_tail()}")
        time.sleep(0.2)
    return result


def log_in(env: Env) -> tuple[Client, str]:
    """Log the quality manager in; returns the client and the upload form's CSRF token."""
    client = Client(env.port)
    status, page, _ = client.request("GET", "/login")
    if status != 200:
        raise BenchError(f"GET /login answered {status}")
    form = urllib.parse.urlencode({"csrf_token": csrf_of(page), "email": EMAIL,
                                   "password": env.env["BENCH_PASSWORD"]}).encode()
    status, page, _ = client.request("POST", "/login", form,
                                           {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 303:
        raise BenchError(f"POST /login answered {status}, not 303:\n{page[:500]}")
    status, page, _ = client.request("GET", "/calls/upload")
    if status != 200:
        raise BenchError(f"GET /calls/upload answered {status} after logging in")
    return client, csrf_of(page)


def check_stored(status: int, body: str, what: str) -> None:
    if status == 413 and what == "measured":
        raise BenchError("the app answered 413 Payload Too Large although the file is within ECOUTE_MAX_UPLOAD_MB")
    if status != 200 or 'class="upload-result ok"' not in body or "Already uploaded" in body:
        text = re.sub(r"<[^>]+>", " ", body)
        raise BenchError(f"the {what} upload was not stored: HTTP {status}: {' '.join(text.split())[:400]}")


# --- one measurement -------------------------------------------------------------------------


def measure_upload(stack: ExitStack, backend: str, audio: Path, warmup: Path, work: Path,
                   interval: float) -> dict[str, Any]:
    env = open_env(stack, backend, work, audio.stat().st_size)
    try:
        return _measure_upload(env, audio, warmup, interval)
    except BenchError as err:
        raise BenchError(f"{backend}: {err}\n--- end of the gunicorn log ---\n{env.log_tail()}") from err


def _measure_upload(env: Env, audio: Path, warmup: Path, interval: float) -> dict[str, Any]:
    backend = env.backend
    client, csrf = log_in(env)
    worker_pids = env.workers()
    cold = sum(proc_status(pid).get("VmRSS", 0) for pid in worker_pids)
    status, body, _, _ = client.upload(warmup, csrf)
    check_stored(status, body, "warm-up")
    sync_disk()
    if env.workers() != worker_pids:
        raise BenchError("the gunicorn worker changed during the warm-up (crashed or restarted?)")

    s3_process = getattr(env.s3, "_process", None)
    sampler = Sampler(worker_pids, env.tmp, s3_pid=s3_process.pid if s3_process else None, interval=interval)
    for _ in range(4):  # let the warm-up's last frees settle, then take the baseline
        time.sleep(interval)
        baseline = sampler.sample().rss_kib
    for pid in worker_pids:
        # Reset VmHWM (Linux >= 4.0), or it would show the login's argon2 peak (64 MiB by default).
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    sampler.start(time.perf_counter())
    try:
        status, body, sent, elapsed = client.upload(audio, csrf)
    finally:
        sampler.stop()
    check_stored(status, body, "measured")
    hwm = sum(proc_status(pid).get("VmHWM", 0) for pid in worker_pids)
    size = audio.stat().st_size
    if size not in env.stored_sizes():
        raise BenchError(f"no stored object of {size} bytes in the {backend} backend")
    leftovers = [p.name for p in env.tmp.iterdir()]
    peak = max(s.rss_kib for s in sampler.samples)
    run = {
        "seconds": elapsed,
        "send_seconds": sent,
        "mib_per_s": size / MIB / elapsed,
        "rss_baseline_mib": baseline / 1024,
        "rss_cold_mib": cold / 1024,
        "rss_peak_mib": peak / 1024,
        "rss_growth_mib": (peak - baseline) / 1024,
        "hwm_growth_mib": (hwm - baseline) / 1024,
        "children_peak_rss_mib": {comm: max(rss for s in sampler.samples for c, rss in s.children.values()
                                            if c == comm) / 1024
                                  for comm in {c for s in sampler.samples for c, _ in s.children.values()}},
        "samples": len(sampler.samples),
        "phases": phases(sampler.samples, sent, elapsed),
        "tmp_leftovers": leftovers,
    }
    return run


def phases(samples: list[Sample], sent: float, elapsed: float) -> dict[str, dict[str, float]]:
    """Split an upload into phases from what the sampler saw (to within one sampling interval).

    receive: until the client had sent the whole body (the app parses it into a spool file as it
    comes, then only the last socket buffers are left); store: until local_copy's folder (S3) or
    the first ffprobe appears; copy_back: S3 download for the probe; probe: ffprobe + ffmpeg
    children alive; finish: the rest (database, job, response).
    """
    def first(pred: Callable[[Sample], bool]) -> float | None:
        return next((s.t for s in samples if pred(s)), None)

    def last(pred: Callable[[Sample], bool]) -> float | None:
        return next((s.t for s in reversed(samples) if pred(s)), None)

    probing = lambda s: any(c in ("ffprobe", "ffmpeg") for c, _ in s.children.values())  # noqa: E731
    copy_start = first(lambda s: s.copy_dir)
    probe_start = first(probing)
    probe_end = last(probing)
    marks = [("receive", 0.0), ("store", sent)]
    if copy_start is not None:
        marks.append(("copy_back", copy_start))
    if probe_start is not None and probe_end is not None:
        marks.append(("probe", probe_start))
        marks.append(("finish", probe_end))
    marks.append(("end", elapsed))
    out: dict[str, dict[str, float]] = {}
    for (name, t_start), (_, t_end) in zip(marks, marks[1:], strict=False):
        inside = [s for s in samples if t_start <= s.t <= t_end]
        cpu = (inside[-1].cpu_own - inside[0].cpu_own) if len(inside) > 1 else 0.0
        kids = (inside[-1].cpu_children - inside[0].cpu_children) if len(inside) > 1 else 0.0
        moto = (inside[-1].s3_cpu - inside[0].s3_cpu) if len(inside) > 1 else 0.0
        out[name] = {"seconds": max(0.0, t_end - t_start), "worker_cpu_s": cpu, "children_cpu_s": kids,
                     "s3_server_cpu_s": moto, "peak_rss_mib": max((s.rss_kib for s in inside), default=0) / 1024}
    return out


def measure_raw(audio: Path, work: Path) -> dict[str, Any]:
    """Send the file over loopback TCP to a receiver process that writes and fsyncs it; time it."""
    folder = Path(tempfile.mkdtemp(prefix="raw-", dir=work))
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(folder / "copy.wav")],  # noqa: S603
                                stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        with socket.create_connection((HOST, port)) as sock:
            start = time.perf_counter()
            for chunk in read_chunks(audio):
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
            ack = sock.recv(64).decode()
            elapsed = time.perf_counter() - start
        if not ack.startswith("ok ") or receiver.wait(timeout=60) != 0:
            raise BenchError("the raw-copy receiver failed")
        if (folder / "copy.wav").stat().st_size != audio.stat().st_size:
            raise BenchError("the raw copy has the wrong size")
    finally:
        if receiver.poll() is None:
            receiver.kill()
        receiver.wait()
        if receiver.stdout is not None:
            receiver.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": elapsed, "mib_per_s": audio.stat().st_size / MIB / elapsed, "fsync_seconds": float(ack[3:])}


# --- components alone ------------------------------------------------------------------------


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    into[name] = time.perf_counter() - start


class _MultipartBody(io.RawIOBase):
    """The upload's multipart body, read from disk on demand (for werkzeug's parser alone)."""

    def __init__(self, head: bytes, path: Path, tail: bytes) -> None:
        self._parts = self._gen(head, path, tail)
        self._buffer = b""

    @staticmethod
    def _gen(head: bytes, path: Path, tail: bytes) -> Iterator[bytes]:
        yield head
        for chunk in read_chunks(path):
            yield bytes(chunk)
        yield tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._parts)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def measure_components(backends: list[str], audio: Path, work: Path) -> dict[str, Any]:
    """Each step of an upload alone, in this process, on the same file (one run each)."""
    from werkzeug.formparser import parse_form_data

    from webapp import audio as audio_mod
    from webapp import storage

    size = audio.stat().st_size
    out: dict[str, Any] = {}
    times: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="components-", dir=work))
    old_tmp = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        boundary = "bench"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                "Content-Type: audio/wav\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
                   "CONTENT_LENGTH": str(len(head) + size + len(tail)),
                   "wsgi.input": io.BufferedReader(_MultipartBody(head, audio, tail), CHUNK)}
        sync_disk()
        with timed(times, "werkzeug_multipart_parse_to_spool"):
            _stream, _form, files = parse_form_data(environ)
            upload = files["file"]
        for chunk_size in (64 * 1024, CHUNK):
            digest = hashlib.sha256()
            with timed(times, f"sha256_{chunk_size // 1024}k_chunks"), audio.open("rb", buffering=0) as src:
                while data := src.read(chunk_size):
                    digest.update(data)
        with timed(times, "read_spool_file"):
            upload.stream.seek(0)
            while upload.stream.read(CHUNK):
                pass
        upload.stream.seek(0)
        with timed(times, "probe_ffprobe_and_ffmpeg_demux"):
            audio_mod.probe(audio)
        with timed(times, "ffprobe_only"):
            subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",  # noqa: S603,S607
                            "-show_streams", str(audio)], capture_output=True, check=True)
        for backend in backends:
            with ExitStack() as stack:
                if backend == "local":
                    store: Any = storage.LocalStorage(folder / "media")
                else:
                    server = stack.enter_context(S3Server())
                    server.create_bucket(BUCKET)
                    store = storage.S3Storage(BUCKET, "media", client_kwargs=server.client_kwargs)
                    stack.callback(store.close)
                sync_disk()
                upload.stream.seek(0)
                with timed(times, f"{backend}_storage_write"):
                    store.write(storage.key_for(1, "calls", "bench"), upload.stream, content_type="audio/wav",
                                max_bytes=size + MIB)
                key = storage.key_for(1, "calls", "bench")
                with timed(times, f"{backend}_storage_local_copy"), store.local_copy(key):
                    pass
                store.delete(key)
                if backend == "s3":
                    # What this S3 server takes at best: boto3's transfer manager, 8 MiB parts, 4 at once.
                    from boto3.s3.transfer import TransferConfig

                    sync_disk()
                    config = TransferConfig(multipart_chunksize=8 * MIB, max_concurrency=4)
                    with timed(times, "s3_boto3_upload_fileobj_4_threads"), audio.open("rb") as src:
                        server.admin.upload_fileobj(src, BUCKET, "reference", Config=config)
                    server.admin.delete_object(Bucket=BUCKET, Key="reference")
        upload.close()
    finally:
        tempfile.tempdir = old_tmp
        shutil.rmtree(folder, ignore_errors=True)
    for name, seconds in times.items():
        out[name] = {"seconds": seconds, "mib_per_s": size / MIB / seconds if seconds else None}
    return out


# --- report ----------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {name: version(name) for name in ("werkzeug", "flask", "gunicorn", "boto3", "botocore", "moto")}
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False)  # noqa: S603,S607
    found["ffmpeg"] = ffmpeg.stdout.split("\n", 1)[0]
    found["python"] = platform.python_version()
    return found


def summarize(raw_runs: list[dict[str, Any]], runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per backend; the ratio is the median throughput over the median of every raw copy.

    Each upload also keeps its ratio to the mean of the raw copies made just before and just after
    it (``ratio_to_raw_around``): on a VM the raw copy's speed depends on what ran before it.
    """
    raw = {"runs": raw_runs,
           "median": {k: median([r[k] for r in raw_runs]) for k in ("seconds", "mib_per_s", "fsync_seconds")},
           "min_seconds": min(r["seconds"] for r in raw_runs), "max_seconds": max(r["seconds"] for r in raw_runs)}
    backends: dict[str, Any] = {}
    for backend, items in runs.items():
        for item in items:
            around = (item["raw_before"]["seconds"] + item["raw_after"]["seconds"]) / 2
            item["ratio_to_raw_around"] = around / item["seconds"]
        keys = ("seconds", "send_seconds", "mib_per_s", "ratio_to_raw_around", "rss_growth_mib", "hwm_growth_mib",
                "rss_baseline_mib", "rss_peak_mib")
        med: dict[str, Any] = {k: median([r[k] for r in items]) for k in keys}
        med["ratio_to_raw"] = med["mib_per_s"] / raw["median"]["mib_per_s"]
        names = list(dict.fromkeys(name for r in items for name in r["phases"]))
        med["phases_seconds"] = {n: median([r["phases"].get(n, {}).get("seconds", 0.0) for r in items])
                                 for n in names}
        backends[backend] = {
            "runs": items,
            "median": med,
            "worst": {"rss_growth_mib": max(r["rss_growth_mib"] for r in items),
                      "seconds": max(r["seconds"] for r in items)},
            "meets": {"rss": med["rss_growth_mib"] <= TARGET_RSS_MIB,
                      "throughput": med["ratio_to_raw"] >= TARGET_RATIO},
        }
    return {"raw_copy": raw, "backends": backends}


def print_table(size: int, repeat: int, summary: dict[str, Any], components: dict[str, Any] | None) -> None:
    print(f"\nUpload of {size / MIB:.0f} MiB ({size:,} bytes), median of {repeat} run(s); "
          f"targets: RSS growth <= {TARGET_RSS_MIB} MiB, throughput >= {TARGET_RATIO:.0%} of the raw copy\n")
    print(f"{'':<22}{'seconds':>9}{'MiB/s':>9}{'vs raw':>8}{'RSS +MiB':>10}{'(HWM)':>8}  verdict")
    raw = summary["raw_copy"]["median"]
    print(f"{'raw loopback copy':<22}{raw['seconds']:>9.2f}{raw['mib_per_s']:>9.1f}{'100%':>8}"
          f"{'':>18}  ({len(summary['raw_copy']['runs'])} copies, {summary['raw_copy']['min_seconds']:.2f}"
          f"-{summary['raw_copy']['max_seconds']:.2f} s, fsync {raw['fsync_seconds']:.2f} s)")
    for backend, data in summary["backends"].items():
        m, ok = data["median"], data["meets"]
        verdict = "ok" if all(ok.values()) else "MISSES " + " and ".join(k for k, v in ok.items() if not v)
        print(f"{backend:<22}{m['seconds']:>9.2f}{m['mib_per_s']:>9.1f}{m['ratio_to_raw']:>8.0%}"
              f"{m['rss_growth_mib']:>10.1f}{m['hwm_growth_mib']:>8.1f}  {verdict}")
    print("\nWhere the time goes (median seconds per phase):")
    for backend, data in summary["backends"].items():
        parts = ", ".join(f"{k} {v:.2f}" for k, v in data["median"]["phases_seconds"].items())
        print(f"  {backend:<8} {parts}")
    if components:
        print("\nEach step alone, in this process, on the same file:")
        for name, data in components.items():
            print(f"  {name:<36}{data['seconds']:>8.2f} s {data['mib_per_s'] or 0:>8.1f} MiB/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the WAV to upload (default 1024)")
    parser.add_argument("--backends", default="local,s3", help="comma list of local, s3 (default both)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per backend; medians are reported")
    parser.add_argument("--interval-ms", type=float, default=50, help="RSS sampling interval (default 50)")
    parser.add_argument("--components", action=argparse.BooleanOptionalAction, default=True,
                        help="also time each step alone (default on)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"local", "s3"}:
        parser.error("--backends takes local, s3 or both")
    if not 1 <= args.size_mib < 4000:  # a plain WAV cannot hold 4 GiB
        parser.error("--size-mib must be between 1 and 3999")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    size = args.size_mib * MIB

    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the finally blocks clean up.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = Path(tempfile.mkdtemp(prefix="ecoute-bench-upload-"))
    try:
        print(f"Making a {args.size_mib} MiB WAV with ffmpeg in {work} ...", flush=True)
        audio = make_wav(work / "bench-call.wav", size)
        warmup = make_wav(work / "warm-up.wav", WAV_HEADER + 2 * WAV_RATE)
        sync_disk()
        # Unmeasured: the first large write after making the file is often several times slower
        # on a VM disk (blocks written for the first time); the reference must not pay for it.
        measure_raw(audio, work)
        raw_runs: list[dict[str, Any]] = []
        runs_in_order: list[dict[str, Any]] = []
        runs: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
        for index in range(args.repeat):
            for backend in backends:
                # The reference right before each upload, in the same state of the machine.
                sync_disk()
                raw_runs.append(measure_raw(audio, work))
                if runs_in_order:
                    runs_in_order[-1]["raw_after"] = raw_runs[-1]
                print(f"[{index + 1}/{args.repeat}] raw copy: {raw_runs[-1]['seconds']:.2f} s, "
                      f"{raw_runs[-1]['mib_per_s']:.1f} MiB/s", flush=True)
                with ExitStack() as stack:
                    run = measure_upload(stack, backend, audio, warmup, work, args.interval_ms / 1000)
                run["raw_before"] = raw_runs[-1]
                runs[backend].append(run)
                runs_in_order.append(run)
                print(f"[{index + 1}/{args.repeat}] {backend}: {run['seconds']:.2f} s, {run['mib_per_s']:.1f} MiB/s, "
                      f"RSS +{run['rss_growth_mib']:.1f} MiB (HWM +{run['hwm_growth_mib']:.1f}); phases: "
                      + ", ".join(f"{k} {v['seconds']:.2f}" for k, v in run["phases"].items()), flush=True)
        sync_disk()
        raw_runs.append(measure_raw(audio, work))  # brackets the last upload
        runs_in_order[-1]["raw_after"] = raw_runs[-1]
        print(f"raw copy: {raw_runs[-1]['seconds']:.2f} s, {raw_runs[-1]['mib_per_s']:.1f} MiB/s", flush=True)
        components = measure_components(backends, audio, work) if args.components else None
        summary = summarize(raw_runs, runs)
        print_table(audio.stat().st_size, args.repeat, summary, components)
        report = {
            "benchmark": "upload",
            "timestamp": stamp,
            "command": " ".join([".venv/bin/python", "benchmarks/upload.py", *sys.argv[1:]]),
            "size_bytes": audio.stat().st_size,
            "repeat": args.repeat,
            "targets": {"rss_growth_mib_max": TARGET_RSS_MIB, "ratio_to_raw_min": TARGET_RATIO},
            "machine": {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                                    * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                        "kernel": platform.release(), "platform": platform.platform()},
            "versions": versions(),
            **summary,
            "components": components,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"upload-{stamp}.json"
        path.write_text(json.dumps(report, indent=2) + "\n")
        shutil.copyfile(path, RESULTS / "upload-latest.json")
        print(f"\nSaved {path.relative_to(ROOT)} (and upload-latest.json)")
        return 0
    except BenchError as err:
        print(f"upload benchmark failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("upload benchmark interrupted; cleaned up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
