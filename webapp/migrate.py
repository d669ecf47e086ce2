"""Running the Alembic migrations (``ecoute db upgrade``, and the run command)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from webapp.config import Settings
from webapp.db import private_sqlite_file

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = settings.database_owner_url
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (creating the SQLite file, private, if needed)."""
    private_sqlite_file(settings.database_owner_url, create=True)
    command.upgrade(alembic_config(settings), revision)


def revision(settings: Settings, message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    command.revision(alembic_config(settings), message=message, autogenerate=True)
