"""Engine, Base, and the one place that commits: once per request, after the view.

A request's Session is opened by :mod:`webapp.tenancy` (it decides which tenant it is
bound to); this module only owns the engine and the commit/rollback point.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, has_request_context, request
from sqlalchemy import DateTime, Dialect, Engine, MetaData, TypeDecorator, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from webapp import access, files
from webapp.context import current_context, end_context, peek_context

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use webapp.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def enum_values(enum_class: type[enum.Enum]) -> list[str]:
    """Store enums by value (``"tenant_admin"``), not by Python name."""
    return [str(member.value) for member in enum_class]


def utcnow() -> datetime:
    """The current time, aware and in UTC (the only clock the models use)."""
    return datetime.now(UTC)


#: Web threads (gunicorn's) and claim loops of one process share these; a writer waits for SQLite's lock anyway.
_SQLITE_POOL: dict[str, Any] = {"pool_size": 8, "max_overflow": 8, "pool_timeout": 30}


def private_sqlite_file(url: str, *, create: bool = False) -> None:
    """Make the SQLite database of ``url`` private: 0600, and with ``create`` (migrations), made so before
    SQLite first opens it, in a 0700 folder if there was none.

    SQLite creates its -wal, -shm and -journal files with the database file's own mode, so these
    are private too; those an earlier version left open are tightened.
    """
    database = make_url(url).database
    if not url.startswith("sqlite") or not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if create and not path.exists():
        files.private_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, files.FILE_MODE))  # SQLite takes an empty file as new
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        files.tighten(path.with_name(name), files.FILE_MODE)


def make_engine(url: str) -> Engine:
    """Create the engine; on SQLite, turn on foreign keys and WAL for every connection."""
    if url.startswith("sqlite"):
        # Connections are kept and reused (a pool per process), as on PostgreSQL: opening one, with its
        # pragmas, and closing it (which may checkpoint the WAL) cost more than a kiosk's whole request.
        # An in-memory database has nothing to share between connections: one each, opened as needed.
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               poolclass=NullPool if memory else QueuePool, **({} if memory else _SQLITE_POOL))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # Any: DB-API objects
            private_sqlite_file(url)  # before WAL mode makes the -wal and -shm files, with the database's mode
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the database and survives any crash of the app; only a
            # power cut may lose the last commits (fsync at checkpoints rather than at every commit).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A transaction that reads, then writes, fails at once in SQLite if another one wrote in
            # between (the busy timeout does not apply to that upgrade). Transactions that may
            # write take the write lock up front and wait their turn; page views read freely.
            conn.exec_driver_sql("BEGIN" if _is_read_only_request() else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _is_read_only_request() -> bool:
    """Whether this request only reads: a GET, unless its view declared that it may write
    (``writes_on_read``, webapp.access) or a step of it said so (the request context's ``writes``).

    A listen is journalled by a POST since issue #13, so no GET view writes any more.
    """
    if not has_request_context() or request.method not in ("GET", "HEAD", "OPTIONS"):
        return False
    declared = access.of_request()
    context = peek_context()
    return not (declared is not None and declared.writes_on_read) and not (context is not None and context.writes)


class Database:
    """The engines and session factories of one app: the runtime role's, and cross-tenant work's.

    On PostgreSQL they are two roles (infra/postgres/roles.sql): ``ecoute_rw``, which row-level
    security confines to the company a Session is opened for, and ``ecoute_ops`` (BYPASSRLS), which
    only :mod:`webapp.tenancy`'s all-tenants Sessions use. On SQLite (one URL) they are one engine.
    """

    def __init__(self, url: str, ops_url: str | None = None) -> None:
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.ops_engine = self.engine if ops_url in (None, "", url) else make_engine(ops_url or url)
        self.ops_sessionmaker = (self.sessionmaker if self.ops_engine is self.engine
                                 else sessionmaker(self.ops_engine, expire_on_commit=False))
        self._rls_key: bytes | None = None
        self._rls_key_lock = threading.Lock()

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def rls_key(self) -> bytes:
        """The key that signs a Session's tenant for row-level security (PostgreSQL; read once, as ecoute_ops).

        Raises RuntimeError, saying what to do, when the ops role cannot read it.
        """
        if self._rls_key is None:
            with self._rls_key_lock:
                if self._rls_key is None:
                    self._rls_key = _read_rls_key(self.ops_engine)
        return self._rls_key

    def dispose(self) -> None:
        self.engine.dispose()
        if self.ops_engine is not self.engine:
            self.ops_engine.dispose()


def _read_rls_key(engine: Engine) -> bytes:
    try:
        with engine.connect() as conn:
            key = conn.execute(text("SELECT key FROM ecoute_private.rls_key")).scalar()
    except DBAPIError as exc:
        if exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) not in ("42501", "3F000", "42P01"):
            raise  # not a missing grant, schema or table: the database is down, say
        key = None
    if not key:
        raise RuntimeError(
            f"row-level security: {engine.url.username or 'the ops role'} cannot read ecoute_private.rls_key; "
            "set ECOUTE_DATABASE_OPS_URL to the ecoute_ops role, run infra/postgres/roles.sql, then ecoute db upgrade")
    return bytes(key)


def get_database(app: Flask) -> Database:
    db: Database = app.extensions["ecoute.db"]
    return db


AfterCommit = Callable[[], None]


def after_commit(session: Session, action: AfterCommit) -> None:
    """Run ``action`` once this Session's transaction has committed (mails, for instance)."""
    session.info.setdefault("after_commit", []).append(action)


def after_rollback(session: Session, action: AfterCommit) -> None:
    """Run ``action`` if this Session's transaction is rolled back (e.g. delete an uploaded object)."""
    session.info.setdefault("after_rollback", []).append(action)


def commit(session: Session) -> None:
    """Commit, then run the actions registered with :func:`after_commit`.

    If the commit fails, the transaction is rolled back (see :func:`rollback`) and the error raised.
    """
    try:
        session.commit()
    except BaseException:
        rollback(session)
        raise
    session.info.pop("after_rollback", None)
    actions: list[AfterCommit] = session.info.pop("after_commit", [])
    for action in actions:
        action()


def rollback(session: Session) -> None:
    """Roll back, then run the actions registered with :func:`after_rollback` (best effort)."""
    session.rollback()
    session.info.pop("after_commit", None)
    actions: list[AfterCommit] = session.info.pop("after_rollback", [])
    for action in actions:
        try:
            action()
        except Exception:  # clean-up must not hide the error that caused the rollback
            log.exception("clean-up after rollback failed")


def mark_for_rollback() -> None:
    """Make this request roll back instead of committing (called by the error handlers)."""
    current_context().rollback = True


def init_app(app: Flask) -> None:
    settings = app.config["ECOUTE"]
    app.extensions["ecoute.db"] = Database(settings.database_url, settings.database_ops_url)

    @app.after_request
    def _commit(response: Response) -> Response:
        context = peek_context()
        session = context.session if context is not None else None
        if context is None or session is None:
            return response
        context.session = None
        try:
            if response.status_code < 500 and not context.rollback:
                commit(session)
            else:
                rollback(session)
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        context = end_context()
        session = context.session if context is not None else None
        if session is not None:
            rollback(session)
            session.close()
