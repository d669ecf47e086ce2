"""The ``ecoute`` operator command, run as an operator runs it: a real process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import Client, TenantSet
from tests.mail import link_in, mail_to
from tests.support.smtpsink import SmtpSink
from webapp.config import Settings

ECOUTE = str(Path(sys.executable).with_name("ecoute"))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ecoute(settings: Settings, app: Flask):  # type: ignore[no-untyped-def]
    env = {
        "PATH": "/usr/bin:/bin", "ECOUTE_DATA_DIR": str(settings.data_dir), "ECOUTE_ENV": "test",
        "ECOUTE_DATABASE_URL": settings.database_url, "ECOUTE_DATABASE_OWNER_URL": settings.database_owner_url,
        "ECOUTE_DATABASE_OPS_URL": settings.database_ops_url,
        "ECOUTE_SECRET_KEY": settings.secret_key, "ECOUTE_SMTP_HOST": settings.smtp_host,
        "ECOUTE_SMTP_PORT": str(settings.smtp_port), "ECOUTE_BASE_URL": settings.base_url,
        "ECOUTE_ARGON2_TIME_COST": "1", "ECOUTE_ARGON2_MEMORY_KIB": "1024", "ECOUTE_DEFAULT_LOCALE": "en",
    }

    def run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ECOUTE, *args], env={**env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=60, check=False)

    return run


def test_tenant_create_list_and_duplicate(ecoute, smtp: SmtpSink, tenants: dict[str, TenantSet]) -> None:
    done = ecoute("tenant", "create", "acme", "--name", "Acme SA", "--admin-email", "boss@acme.test")
    assert done.returncode == 0, done.stderr
    assert "boss@acme.test" in mail_to(smtp, "boss@acme.test")["To"]
    listing = ecoute("tenant", "list")
    assert re.search(r"acme\s+Acme SA\s+fr\s+1 people\s+active", listing.stdout), listing.stdout
    again = ecoute("tenant", "create", "acme", "--name", "Other", "--admin-email", "x@acme.test")
    assert again.returncode == 1
    assert "already uses the short name" in again.stderr


def test_user_create_prints_a_working_link_or_password(app: Flask, ecoute, smtp: SmtpSink,
                                                       tenants: dict[str, TenantSet]) -> None:
    invited = ecoute("user", "create", "--tenant", "tenant-a", "--email", "new@a.test", "--role", "staff")
    assert invited.returncode == 0, invited.stderr
    printed = re.search(r"(/invitation/\S+)", invited.stdout)
    assert printed and printed.group(1) == link_in(mail_to(smtp, "new@a.test"), "invitation")
    assert Client(app.test_client()).get(printed.group(1)).status_code == 200
    direct = ecoute("user", "create", "--tenant", "tenant-b", "--email", "qm@b.test", "--role", "quality_manager",
                    "--password")
    password = re.search(r"one-time password: (\S+)", direct.stdout)
    assert password, direct.stdout
    # One time only: every login with it leads to choosing one's own password, and nothing else opens.
    for _ in range(2):
        first = Client(app.test_client())
        assert first.login("qm@b.test", password.group(1)).headers["Location"] == "/password/change"
        assert first.get("/calls").headers["Location"] == "/password/change"
    own = "qm's very own password"
    done = first.post("/password/change", {"current_password": password.group(1), "password": own,
                                           "password_confirm": own})
    assert done.status_code == 303 and done.headers["Location"] == "/calls"
    assert first.get("/calls").status_code == 200
    assert Client(app.test_client()).post("/login", {"email": "qm@b.test", "password": password.group(1)}
                                          ).status_code == 422
    assert Client(app.test_client()).login("qm@b.test", own).headers["Location"] == "/calls"


def test_platform_admin_create_and_demo(app: Flask, ecoute, tenants: dict[str, TenantSet]) -> None:
    created = ecoute("platform-admin", "create", "--email", "ops@ecoute.test")
    password = re.search(r"password: (\S+)", created.stdout)
    assert password, created.stdout + created.stderr
    assert Client(app.test_client()).login("ops@ecoute.test", password.group(1)).headers["Location"] == \
        "/password/change"  # a one-time password, like user create's
    demo = ecoute("demo")
    assert demo.returncode == 0, demo.stderr
    logins = re.findall(r"(\S+@\S+)\s+(\w{4}-\w{4}-\w{4}-\w{4})", demo.stdout)
    assert len(logins) == 4
    homes = set()
    for email, pw in logins:
        homes.add(Client(app.test_client()).login(email, pw).headers["Location"])
    assert homes == {"/admin/tenants", "/people", "/calls", "/room"}


def test_tenant_retention_erases_what_expired_now(app: Flask, ecoute, tenants: dict[str, TenantSet]) -> None:
    from datetime import timedelta

    from sqlalchemy import select, update

    from tests import factories
    from webapp import tenancy
    from webapp.db import utcnow
    from webapp.models import Call

    with app.app_context():
        old, recent = factories.make_call(tenants["a"].id), factories.make_call(tenants["a"].id)
        with tenancy.tenant_session(tenants["a"].id) as session:
            session.execute(update(Call).where(Call.id == old).values(received_at=utcnow() - timedelta(days=181)))
    done = ecoute("tenant", "retention", "tenant-a")
    assert done.returncode == 0, done.stderr
    assert "tenant-a: 1 call(s) and 0 complaint(s) erased" in done.stdout
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert list(session.scalars(select(Call.id))) == [recent]
    assert ecoute("tenant", "retention", "nope").returncode == 1


def test_bad_arguments_and_settings_fail_clearly(ecoute, tenants: dict[str, TenantSet]) -> None:
    missing = ecoute("user", "create", "--tenant", "nope", "--email", "a@b.test", "--role", "staff")
    assert missing.returncode == 1 and "No company has the short name 'nope'" in missing.stderr
    bad_role = ecoute("user", "create", "--tenant", "tenant-a", "--email", "a@b.test", "--role", "boss")
    assert bad_role.returncode == 2 and "Invalid value for '--role'" in bad_role.stderr
    bad_env = ecoute("tenant", "list", extra_env={"ECOUTE_PORT": "eighty"})
    assert bad_env.returncode == 2 and "ECOUTE_PORT='eighty'" in bad_env.stderr
    prod = ecoute("demo", extra_env={"ECOUTE_ENV": "prod"})
    assert prod.returncode == 2 and "refusing" in prod.stderr


# --- start-up: the model, the database and the bucket are checked before anything runs ----


def _bare(*args: str, cwd: Path, timeout: float = 60, program: tuple[str, ...] = (ECOUTE,),
          **env: str) -> subprocess.CompletedProcess[str]:
    """``ecoute <args>`` as an operator runs it from ``cwd``: no database needed, no model folder named."""
    base = {"PATH": "/usr/bin:/bin", "ECOUTE_ENV": "test", "ECOUTE_SECRET_KEY": "k", "ECOUTE_DEFAULT_LOCALE": "en"}
    try:
        return subprocess.run([*program, *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"`ecoute {' '.join(args)}` was still running after {timeout} s: it started "
                             f"instead of refusing ({err.stderr!r})") from None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused start says (and that it was refused)."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    said = done.stderr.strip().splitlines()
    assert len(said) == 1, done.stderr
    return said[0]


def test_transcribe_finds_the_installed_model_from_any_folder_and_data_dir(tmp_path: Path) -> None:
    """Set-up installs the model once, for the installation: a command run from another folder,
    with a data folder on another volume, finds it (nothing under either folder)."""
    from tests.audio import speech

    setup_place, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    setup_place.mkdir()
    elsewhere.mkdir()
    installed = _bare("models", "install", cwd=setup_place, ECOUTE_DATA_DIR=str(setup_place / "var"))
    assert installed.returncode == 0, installed.stderr
    call = speech(tmp_path / "call.wav", "Hello, my washing machine broke down after two weeks.")
    done = _bare("transcribe", "--language", "en", str(call), cwd=elsewhere, timeout=180,
                 ECOUTE_DATA_DIR=str(tmp_path / "volume"))
    assert done.returncode == 0, done.stderr
    assert "washing machine" in done.stdout.lower()
    assert not list(setup_place.rglob("model.bin")) and not list(tmp_path.glob("volume/**/model.bin"))


def test_worker_and_run_refuse_to_start_without_the_model(tmp_path: Path) -> None:
    data, nowhere = tmp_path / "data", tmp_path / "no-model"
    settings = {"ECOUTE_DATA_DIR": str(data), "ECOUTE_WHISPER_MODEL_DIR": str(nowhere),
                "ECOUTE_DATABASE_URL": f"sqlite:///{data / 'ecoute.sqlite3'}"}
    migrated = _bare("db", "upgrade", cwd=tmp_path, **settings)
    assert migrated.returncode == 0, migrated.stderr
    line = _one_line(_bare("worker", "--once", cwd=tmp_path, **settings))
    assert f"no Whisper model in {nowhere}" in line and "ecoute models install" in line, line
    # python -m worker is ecoute worker (it hands over to the ecoute package, which the worker never imports)
    assert _one_line(_bare("--once", cwd=tmp_path, program=(sys.executable, "-m", "worker"), **settings)) == line
    line = _one_line(_bare("run", "--no-demo-room", cwd=tmp_path, timeout=30, ECOUTE_PORT=str(_free_port()),
                           **settings))
    assert f"no Whisper model in {nowhere}" in line, line


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_start_stops_on_an_unreachable_or_unmigrated_database(tmp_path: Path, command: str) -> None:
    port = str(_free_port())
    nowhere = f"postgresql+psycopg://ecoute_rw:s3cret@127.0.0.1:{_free_port()}/ecoute"
    unreachable = _bare(command, cwd=tmp_path, ECOUTE_DATA_DIR=str(tmp_path), ECOUTE_PORT=port,
                        ECOUTE_DATABASE_URL=nowhere, ECOUTE_DATABASE_OPS_URL=nowhere.replace("_rw:", "_ops:"),
                        ECOUTE_WORKER_HANDLERS="tests.support.job_handlers:registry", PYTHONPATH=str(ROOT))
    line = _one_line(unreachable)
    assert "cannot reach the database" in line and "ECOUTE_DATABASE_URL" in line, line
    assert "s3cret" not in line
    empty = tmp_path / "empty.sqlite3"
    empty.touch()  # an empty SQLite database: reachable, never migrated
    unmigrated = _bare(command, cwd=tmp_path, ECOUTE_DATA_DIR=str(tmp_path), ECOUTE_PORT=port,
                       ECOUTE_DATABASE_URL=f"sqlite:///{empty}",
                       ECOUTE_WORKER_HANDLERS="tests.support.job_handlers:registry", PYTHONPATH=str(ROOT))
    line = _one_line(unmigrated)
    assert "not migrated" in line and "ecoute db upgrade" in line, line


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_start_stops_on_a_missing_bucket(ecoute, s3_server, command: str) -> None:  # type: ignore[no-untyped-def]
    from tests.support.s3server import CREDENTIALS

    s3 = {"ECOUTE_STORAGE_URL": f"s3://missing-{command}/media", "ECOUTE_S3_ENDPOINT_URL": s3_server.endpoint_url,
          "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
          "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
          "AWS_DEFAULT_REGION": CREDENTIALS["region_name"], "ECOUTE_PORT": str(_free_port()),
          "ECOUTE_WORKER_HANDLERS": "tests.support.job_handlers:registry", "PYTHONPATH": str(ROOT)}
    line = _one_line(ecoute(command, extra_env=s3))
    assert f"missing-{command}" in line and "bucket" in line, line
    s3_server.create_bucket(f"missing-{command}")
    if command == "worker":  # the same worker starts once the bucket is there, and leaves nothing in it
        done = ecoute("worker", "--once", extra_env=s3)
        assert done.returncode == 0, done.stderr
        client = s3_server.client()
        try:
            assert client.list_objects_v2(Bucket="missing-worker").get("KeyCount") == 0
        finally:
            client.close()
