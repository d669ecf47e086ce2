"""Settings are parsed strictly; health probes answer."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import pytest

from tests.conftest import Client
from webapp.config import ConfigError, Settings, describe, load_settings


def test_defaults_give_the_embedded_mode(tmp_path: Path) -> None:
    settings = load_settings({"ECOUTE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'ecoute.sqlite3'}"
    assert settings.storage_url == f"file://{tmp_path / 'media'}"
    assert settings.default_locale == "fr"
    assert (tmp_path / "secret_key").read_text() == settings.secret_key  # kept across restarts
    assert load_settings({"ECOUTE_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key


def test_the_secret_key_is_kept_in_the_configured_data_dir_whatever_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings({"ECOUTE_DATA_DIR": str(tmp_path / "data")})
    assert (tmp_path / "data" / "secret_key").read_text() == settings.secret_key
    assert list(elsewhere.iterdir()) == []


def test_each_setting_is_declared_once_with_its_variable_parser_and_doc() -> None:
    """A new setting is one ``setting(default, parse, doc=...)`` field of Settings, nothing else: its variable
    (ECOUTE_ + the field's name in capitals), parser and doc come with it, and the parser takes its default."""
    assert all(set(f.metadata) == {"ecoute.parse", "ecoute.doc"} for f in fields(Settings)), "use setting(...)"
    for info in describe():
        assert info.env == f"ECOUTE_{info.name.upper()}" and info.doc.strip(), info.name
        raw = f"{info.default:g}" if isinstance(info.default, float) else str(info.default)
        if raw:
            assert info.parse(info.env, raw) == info.default, info.name


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ECOUTE_SMTP_STARTTLS", "ye", "ECOUTE_SMTP_STARTTLS='ye'"),
    ("ECOUTE_PORT", "eighty", "ECOUTE_PORT='eighty'"),
    ("ECOUTE_DEFAULT_LOCALE", "de", "ECOUTE_DEFAULT_LOCALE='de'"),
    ("ECOUTE_ENV", "staging", "ECOUTE_ENV='staging'"),
])
def test_bad_values_stop_start_up_naming_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"ECOUTE_DATA_DIR": str(tmp_path), name: value})


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ECOUTE_SECRET_KEY"):
        load_settings({"ECOUTE_DATA_DIR": str(tmp_path), "ECOUTE_ENV": "prod"})
    assert load_settings({"ECOUTE_DATA_DIR": str(tmp_path), "ECOUTE_SMTP_STARTTLS": "yes"}).smtp_starttls


def test_the_whisper_model_belongs_to_the_installation(tmp_path: Path) -> None:
    """Not to a data folder: a persistent volume for ECOUTE_DATA_DIR, or any current folder, finds the same model."""
    installed = Path(sys.prefix) / "share" / "ecoute" / "models" / "whisper-base"
    for data in (tmp_path / "volume", Path("relative-data")):
        settings = load_settings({"ECOUTE_DATA_DIR": str(data), "ECOUTE_SECRET_KEY": "k"})
        assert (settings.whisper_model_dir, settings.whisper_checkpoint) == (installed, installed / "openai-whisper.pt")
    chosen = load_settings({"ECOUTE_DATA_DIR": str(tmp_path), "ECOUTE_SECRET_KEY": "k",
                            "ECOUTE_WHISPER_MODEL_DIR": str(tmp_path / "mine")})
    assert chosen.whisper_model_dir == tmp_path / "mine"


def test_health_probes(client: Client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


def test_readyz_fails_when_the_database_is_unreachable(make_app, tmp_path: Path) -> None:
    broken = make_app(database_url=f"sqlite:///{tmp_path}/missing-dir/x/db.sqlite3")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503


def test_a_fresh_embedded_install_may_start_with_ecoute_run(tmp_path: Path) -> None:
    """`bin/run` on a new machine: no SQLite file yet. `ecoute run` migrates it into being, so its start
    check must not stop there; `ecoute serve` and `worker`, which do not migrate, still do."""
    from webapp import preflight

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'new' / 'ecoute.sqlite3'}")
    assert preflight.database_problem(settings, migrated=False) is None
    problem = preflight.database_problem(settings, migrated=True)
    assert problem is not None and problem.startswith("no database at ")
