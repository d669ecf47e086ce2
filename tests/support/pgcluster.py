"""A throwaway PostgreSQL cluster for the test suite (STYLE §8: the tests start their own).

The cluster lives in a fresh temporary directory and listens only on a Unix socket in
that directory, so nothing else on the machine can reach it and two runs never collide.
PostgreSQL refuses to run as root: when we are root, every server binary runs as the
``postgres`` user, which then owns the directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import psycopg

INFRA = Path(__file__).resolve().parents[2] / "infra" / "postgres"
APP_DATABASE = "ecoute"
OWNER_ROLE = "ecoute_owner"
RW_ROLE = "ecoute_rw"
OPS_ROLE = "ecoute_ops"
LOCALE = ("-E", "UTF8", "--locale=C.UTF-8")
# The data is thrown away after the run: don't pay for crash safety.
DURABILITY_OFF = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def find_pg_bin() -> Path | None:
    """The directory holding ``pg_ctl``, ``initdb`` and ``postgres``, or None if absent.

    ``PATH`` is tried first, then Debian's ``/usr/lib/postgresql/<version>/bin`` (newest
    version first). Symlinks are resolved so that initdb finds its sibling binaries.
    """
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    # The server opens no TCP port; the number only names the socket file (.s.PGSQL.<port>).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresCluster:
    """Start with :meth:`start` (or ``with PostgresCluster() as pg:``), stop with :meth:`stop`."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_pg_bin()
        if found is None:
            raise RuntimeError("PostgreSQL binaries not found: run bin/setup (installs postgresql)")
        self.bin_dir = found
        self.port = _free_port()
        self.dir: Path | None = None
        self._as_postgres = os.geteuid() == 0

    @property
    def socket_dir(self) -> Path:
        if self.dir is None:
            raise RuntimeError("the cluster is not started")
        return self.dir

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # cwd: the postgres user may not be allowed into ours (e.g. /root).
        result = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self._log_tail()
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stderr}{log}")

    def _log_tail(self) -> str:
        log = self.dir / "postgres.log" if self.dir else None
        if log is None or not log.exists():
            return ""
        return "\n--- postgres.log ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])

    def start(self) -> PostgresCluster:
        """Create the cluster with initdb and start the server; returns self."""
        if self.dir is not None:
            raise RuntimeError("the cluster is already started")
        self.dir = Path(tempfile.mkdtemp(prefix="ecoute-pg-"))
        try:
            if self._as_postgres:
                user = pwd.getpwnam("postgres")
                os.chown(self.dir, user.pw_uid, user.pw_gid)
            data = str(self.dir / "data")
            self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", *LOCALE)
            options = f"-c listen_addresses='' -k {self.dir} -p {self.port} {DURABILITY_OFF}"
            # -l: without a log file the server would inherit our pipes and the call never returns.
            log = str(self.dir / "postgres.log")
            self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            raise
        return self

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and delete it."""
        if self.dir is None:
            return
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(
        self,
        user: str,
        password: str | None = None,
        dbname: str = APP_DATABASE,
        driver: str = "postgresql+psycopg",
    ) -> str:
        """A SQLAlchemy URL reaching this cluster through its socket, e.g.
        ``postgresql+psycopg://ecoute_rw@/ecoute?host=/tmp/ecoute-pg-x&port=54321``."""
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        query = urlencode({"host": str(self.socket_dir), "port": self.port}, safe="/")
        return f"{driver}://{auth}@/{quote(dbname, safe='')}?{query}"

    def psql(self, sql: str, dbname: str = "postgres", user: str = "postgres") -> list[tuple[Any, ...]]:
        """Run SQL (several statements allowed) in autocommit; return the last statement's rows."""
        with (
            psycopg.connect(
                host=str(self.socket_dir), port=self.port, user=user, dbname=dbname, autocommit=True
            ) as conn,
            conn.cursor() as cur,
        ):
            # No parameters: psycopg sends the text as one simple query, so DO blocks and
            # several statements separated by semicolons work as they do in psql. (Bytes,
            # because psycopg's types only accept literal strings as query text.)
            cur.execute(sql.encode())
            return cur.fetchall() if cur.description else []

    def create_app_database(self, dbname: str = APP_DATABASE) -> tuple[str, str, str]:
        """Create the ``ecoute`` database (or ``dbname``: one per xdist worker, in one cluster) and its
        roles as production does; return ``(owner_url, rw_url, ops_url)``: migrations run with the
        first, the app with the second, its cross-tenant work (login lookup, platform admin, claim)
        with the third.

        Runs ``infra/postgres/database.sql`` (unless the database exists: CREATE DATABASE
        cannot be made conditional in SQL) then ``infra/postgres/roles.sql`` inside it. The roles
        are the cluster's: call this from one process at a time (conftest: the xdist controller).
        """
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'")
        if not exists:
            create = (INFRA / "database.sql").read_text()
            named = create.replace(f"CREATE DATABASE {APP_DATABASE} ", f'CREATE DATABASE "{dbname}" ')
            if dbname != APP_DATABASE and named == create:
                raise RuntimeError("infra/postgres/database.sql no longer reads CREATE DATABASE ecoute ...")
            self.psql(named)
        self.psql((INFRA / "roles.sql").read_text(), dbname=dbname)
        return self.url(OWNER_ROLE, dbname=dbname), self.url(RW_ROLE, dbname=dbname), self.url(OPS_ROLE, dbname=dbname)
