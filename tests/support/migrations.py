"""What the migration tests share: an empty database of the run's engine to migrate step by step, and
the differences between a migrated database and the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from webapp.db import Base


def fresh_database(engine_name: str, owner_url: str, tmp_path: Path, name: str) -> tuple[str, str]:
    """An empty database ``name`` of the run's engine: (owner URL for migrating, superuser URL for seeding
    and reading, which row-level security does not bind). On SQLite, one file under ``tmp_path``."""
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        return url, url
    owner = make_url(owner_url)
    admin = owner.set(username="postgres", database="postgres")
    engine = create_engine(admin.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER {owner.username}"))
    engine.dispose()
    return (owner.set(database=name).render_as_string(hide_password=False),
            admin.set(database=name).render_as_string(hide_password=False))


def differences(url: str, fragment: str) -> list[Any]:
    """What autogenerate finds between the database at ``url`` and the models (columns, types, indexes),
    among the differences whose description names ``fragment`` (e.g. a table's name)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    return [d for d in diff if fragment in repr(d)]
