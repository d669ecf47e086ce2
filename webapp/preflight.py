"""Start-up checks of ``ecoute serve``, ``ecoute worker`` and ``ecoute run``.

Each check answers None, or one line for the operator saying what is wrong and what to do. The
commands stop there (exit 1) instead of failing later on a customer's call: a database that
cannot be reached or is not migrated to this version, a media storage (bucket) that cannot be
written. (The Whisper model is the worker's own check: worker/speech/install.py.)
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from webapp import storage
from webapp.config import Settings

#: The migrations shipped with this code (as webapp/migrate.py, which imports Alembic: a second of start-up).
VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"

#: Seconds to wait for the database server to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10


def _first_line(err: BaseException) -> str:
    cause = getattr(err, "orig", None) or err
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def expected_revisions(versions: Path = VERSIONS) -> set[str]:
    """The head revision(s) of the migrations shipped with this code.

    Read from the files' ``revision`` and ``down_revision`` assignments with :mod:`ast` rather than
    with Alembic, whose import costs a second of every process start.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name not in ("revision", "down_revision"):
                    continue
                value = ast.literal_eval(node.value)
                found = {value} if isinstance(value, str) else set(value or ())
                (revisions if name == "revision" else parents).update(found)
    return revisions - parents


def _current_revisions(conn: Connection) -> set[str]:
    if not inspect(conn).has_table("alembic_version"):
        return set()
    return {str(row[0]) for row in conn.execute(text("SELECT version_num FROM alembic_version"))}


def _database_problem(url_text: str, variable: str, *, migrated: bool) -> str | None:
    try:
        url = make_url(url_text)
    except ArgumentError as err:
        return f"{variable} is not a database URL ({err})"
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(str(url.database)).is_file():
        if not migrated:
            return None  # `ecoute run` on a fresh install: its own migration creates the file next
        # Connecting would create an empty file (or fail on a missing folder): say what to run instead.
        return (f"no database at {url.database}: run `ecoute db upgrade` to create it, or check {variable} "
                "and ECOUTE_DATA_DIR")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = _current_revisions(conn) if migrated else set()
    except SQLAlchemyError as err:
        return (f"cannot reach the database {shown} ({_first_line(err)}): check {variable}, "
                "and that the server runs and accepts this role")
    finally:
        engine.dispose()
    if not migrated:
        return None
    expected = expected_revisions()
    if current != expected:
        return (f"the database {shown} is not migrated to this version of Écoute (it is at "
                f"{', '.join(sorted(current)) or 'no revision'}, this version needs {', '.join(sorted(expected))}): "
                "run `ecoute db upgrade` (with ECOUTE_DATABASE_OWNER_URL)")
    return None


def database_problem(settings: Settings, *, migrated: bool = True) -> str | None:
    """The runtime database (``ECOUTE_DATABASE_URL``) answers and, if ``migrated``, is at this code's
    revision; the URL of cross-tenant work (``ECOUTE_DATABASE_OPS_URL``), when it is another, answers too."""
    found = _database_problem(settings.database_url, "ECOUTE_DATABASE_URL", migrated=migrated)
    ops_url = str(getattr(settings, "database_ops_url", "") or "")
    if found is None and ops_url and ops_url != settings.database_url:
        found = _database_problem(ops_url, "ECOUTE_DATABASE_OPS_URL", migrated=False)
    return found


def storage_problem(settings: Settings) -> str | None:
    """The media storage (``ECOUTE_STORAGE_URL``: a folder or a bucket) takes an object and gives it back."""
    probe = b"ecoute start-up check\n"
    try:
        store = storage.get_storage(settings)
        key = storage.probe_key()
        store.write(key, io.BytesIO(probe), content_type="text/plain")
        try:
            if store.size(key) != len(probe):
                raise storage.StorageError("what was written did not come back")
        finally:
            store.delete(key)
    except (storage.StorageError, ValueError, OSError) as err:
        if settings.storage_url.startswith("s3://"):
            bucket = settings.storage_url.removeprefix("s3://").split("/", 1)[0]
            return (f"cannot write to the bucket {bucket} of {settings.storage_url} ({_first_line(err)}): create "
                    "the bucket, or check ECOUTE_STORAGE_URL, ECOUTE_S3_ENDPOINT_URL and the AWS credentials")
        return (f"cannot write to the media storage {settings.storage_url} ({_first_line(err)}): "
                "check ECOUTE_STORAGE_URL and the folder's owner and permissions")
    return None


def problems(settings: Settings, *, migrated: bool = True) -> list[str]:
    """Every start-up problem of the database and the media storage, one line each (none: all is well)."""
    found = [database_problem(settings, migrated=migrated), storage_problem(settings)]
    return [line for line in found if line is not None]
