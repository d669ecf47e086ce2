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
