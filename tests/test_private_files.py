"""What Écoute leaves on disk and in browsers' caches stays private.

- The data folder, the SQLite database (with its -wal and -shm files), the mail folder and the media
  folders are readable by Écoute's own user only: folders 0700, files 0600, whatever the umask.
- Every signed-in page answers ``Cache-Control: no-store`` (a shared computer's cache keeps no
  customer's words); static files and the kiosk's content-addressed media keep theirs.
- Every cell of an export that a spreadsheet would run as a formula is neutralised, by the one
  helper every export uses (webapp/exports.py).
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from flask import Flask

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import create_app, exports, mail, migrate, storage
from webapp.config import Settings
from webapp.db import get_database
from webapp.models import Role

ROOT = Path(__file__).resolve().parent.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a typical login shell, which makes new files 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _embedded(data: Path) -> Settings:
    """The settings of an embedded install in ``data``: SQLite, local media, mail in a folder."""
    return Settings(env="test", data_dir=data, smtp_host="", argon2_time_cost=1, argon2_memory_kib=1024,
                    mail_dir=data / "mail").with_overrides({})


def _use(settings: Settings) -> None:
    """What an install does at its start and in its first minutes: migrate, serve, write to the database,
    store a recording, write a mail."""
    migrate.upgrade(settings)
    app = create_app(settings=settings)
    try:
        assert app.test_client().get("/readyz").status_code == 200
        with app.app_context():
            tenant_id = factories.make_tenant()
        storage.get_storage(settings).write(storage.key_for(tenant_id, "calls", "a" * 32), io.BytesIO(b"RIFF"),
                                            content_type="audio/wav")
        message = EmailMessage()
        message["To"], message["Subject"], message["Message-ID"] = "someone@example.test", "Reset", make_msgid()
        message.set_content("https://ecoute.example/password/reset/a-live-secret\n")
        mail.deliver(settings, message)
        for name in ("ecoute.sqlite3-wal", "ecoute.sqlite3-shm"):  # they exist while a connection is open
            assert _mode(settings.data_dir / name) == 0o600, name
    finally:
        get_database(app).dispose()


def _private(data: Path) -> dict[str, int]:
    """Every file and folder of ``data`` that others could read or enter, with its mode."""
    found = {str(data): _mode(data)} if _mode(data) & 0o077 else {}
    for path in data.rglob("*"):
        if _mode(path) & 0o077:
            found[str(path.relative_to(data))] = _mode(path)
    return found


def test_a_new_install_keeps_its_files_private(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    settings = _embedded(data)
    _use(settings)
    names = {p.name for p in data.iterdir()}
    assert {"ecoute.sqlite3", "secret_key", "media", "mail"} <= names, names
    assert list((data / "mail").glob("*.eml")), "the reset mail was written to the mail folder"
    assert _private(data) == {}, {k: oct(v) for k, v in _private(data).items()}


def test_an_existing_install_is_made_private_at_start(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    settings = _embedded(data)
    _use(settings)
    # As left by an earlier version: everything readable by every local user.
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    app = create_app(settings=settings)
    try:
        assert app.test_client().get("/readyz").status_code == 200
        for name in ("ecoute.sqlite3", "ecoute.sqlite3-wal", "ecoute.sqlite3-shm", "secret_key"):
            if (data / name).exists():
                assert _mode(data / name) == 0o600, name
        for folder in (data, data / "mail", data / "media"):
            assert _mode(folder) == 0o700, folder
    finally:
        get_database(app).dispose()


# --- browsers' caches ---------------------------------------------------------------------------


def _pages(app: Flask) -> list[str]:
    """Every page a person reaches without an id in its address (not the API's, the kiosk's or static files)."""
    skip = ("/static/", "/kiosk", "/api/", "/logout", "/healthz", "/readyz", "/locale")
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in (rule.methods or ()) and not rule.arguments and not rule.rule.startswith(skip)})


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF, Role.PLATFORM_ADMIN])
def test_every_signed_in_page_is_never_stored_by_the_browser(app: Flask, tenants: dict[str, TenantSet],
                                                             role: Role) -> None:
    client = Client(app.test_client())
    home = tenants["platform"] if role == Role.PLATFORM_ADMIN else tenants["a"]
    client.login(home.users[role].email)
    pages = _pages(app)
    assert {"/calls", "/complaints", "/people", "/room", "/account"} <= set(pages)
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
        complaint_id = factories.make_complaint(tenants["a"].id)
    pages += [f"/calls/{call_id}", f"/calls/{call_id}/status", f"/complaints/{complaint_id}", "/calls?q=x"]
    for path in pages:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(path, headers=headers)
            assert "no-store" in response.headers.get("Cache-Control", ""), (path, headers, response.status_code)


def test_static_files_and_signed_out_pages_keep_their_caching(app: Flask, login_as, client: Client) -> None:
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    signed_in = login_as("a", Role.QUALITY_MANAGER)
    css = signed_in.get("/static/css/app.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")
    worker = signed_in.get("/kiosk/sw.js")
    assert worker.status_code == 200 and worker.headers["Cache-Control"] == "no-cache"


# --- exports --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("＝1+1", "'＝1+1"),  # the full-width sign, which some spreadsheets read as "="
    ("Très déçu = remboursé", "Très déçu = remboursé"),
    ("", ""),
    (42, "42"),
    (-16.5, "-16.5"),  # a number is written as a number
    (None, ""),
])
def test_a_cell_a_spreadsheet_would_run_is_neutralised(value: object, written: str) -> None:
    assert exports.cell(value) == written
    out = io.StringIO()
    exports.write_csv(out, ["column"], [[value]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["column"], [written]]


def test_headers_are_neutralised_too_and_rows_keep_their_order() -> None:
    out = io.StringIO()
    exports.write_csv(out, ["=cmd", "name"], [["a", "=b"], ["-c", "d"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=cmd", "name"], ["a", "'=b"], ["'-c", "d"]]


def test_every_export_goes_through_the_one_helper() -> None:
    """No module writes CSV (or a spreadsheet) but webapp/exports.py, so no export forgets to neutralise."""
    writers = re.compile(r"csv\.(writer|DictWriter)\b|openpyxl|xlsxwriter")
    offenders = []
    for folder in ("ecoute", "webapp", "worker"):
        for path in (ROOT / folder).rglob("*.py"):
            if path != ROOT / "webapp" / "exports.py" and writers.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
