"""Settings: every knob of Écoute, parsed once from ``ECOUTE_*`` environment variables.

This is the only module that reads ``os.environ``. The defaults give the embedded mode:
a SQLite file and local folders under one data directory, nothing to install.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

LOCALES = ("fr", "en")
ENVS = ("dev", "test", "prod")
#: Whisper implementations (worker/whisper.py): CTranslate2 (faster-whisper) or PyTorch (openai-whisper).
WHISPER_ENGINES = ("faster-whisper", "openai-whisper")
#: Where Whisper runs: ``auto`` takes a CUDA device when the engine sees one, else the CPU.
WHISPER_DEVICES = ("auto", "cpu", "cuda")
#: CTranslate2 compute types that run on a CPU.
WHISPER_COMPUTE_TYPES = ("int8", "int8_float32", "float32")


class ConfigError(Exception):
    """A setting has a value that cannot be used; the message names the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected one of yes/no, true/false, on/off, 1/0")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


_SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?")
_IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


def _seconds(name: str, raw: str) -> float:
    """A positive duration in seconds, at most to the millisecond: ``1``, ``0.5``, ``2.25``."""
    value = raw.strip()
    if not _SECONDS.fullmatch(value) or float(value) <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds above 0, such as 1 or 0.25")
    return float(value)


def _factor(name: str, raw: str) -> float:
    """A positive multiplier, at most to the thousandth: ``4``, ``1.5``."""
    value = raw.strip()
    if not _SECONDS.fullmatch(value) or float(value) <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a number above 0, such as 4 or 1.5")
    return float(value)


def _import_path(name: str, raw: str) -> str:
    value = raw.strip()
    if not _IMPORT_PATH.fullmatch(value):
        raise ConfigError(f"{name}={raw!r}: expected module:attribute, such as worker.handlers:registry")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting with its default; built by :func:`load_settings`."""

    env: str = "dev"
    data_dir: Path = Path("var")
    secret_key: str = ""
    #: SQLAlchemy URL used at run time (on PostgreSQL: the ``ecoute_rw`` role, which owns nothing).
    database_url: str = ""
    #: URL used by migrations (on PostgreSQL: the owner role); defaults to ``database_url``.
    database_owner_url: str = ""
    #: URL of cross-tenant work: the login lookup, platform admin pages, the queue's claim, operator
    #: commands (on PostgreSQL: the ``ecoute_ops`` role, required); defaults to ``database_url`` on SQLite.
    database_ops_url: str = ""
    storage_url: str = ""
    s3_endpoint_url: str = ""
    proxy_hops: int = 0
    default_locale: str = "fr"
    #: Public base URL used in links sent by mail, e.g. ``https://ecoute.example.com``;
    #: defaults to ``http://<host>:<port>``.
    base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = 2
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "Écoute <no-reply@ecoute.local>"
    #: Where mails are written when no SMTP host is set (embedded mode).
    mail_dir: Path = Path("var/mail")
    invitation_ttl_hours: int = 72
    reset_ttl_minutes: int = 60
    #: Failed logins allowed to one account from one client IP, and from one client IP in all (much
    #: more: an office shares its address), within ``login_window_minutes``; past either, that key waits
    #: ``login_delay_s``, then twice as long after each further failure (at most the window).
    login_max_failures_account: int = 5
    login_max_failures_ip: int = 100
    login_window_minutes: int = 15
    login_delay_s: int = 30
    default_retention_days: int = 180
    #: Largest recording accepted, in megabytes (checked while the upload streams in).
    max_upload_mb: int = 500
    #: Longest recording accepted, in seconds of sound that actually decodes (checked at upload; 4 hours).
    max_recording_s: int = 14400
    #: How long a customer-room screen may play without a network and still have its plays journalled
    #: when it is back: plays timed earlier are dropped (hours).
    kiosk_offline_hours: int = 72
    #: Plays one screen may report per minute; more are dropped and counted (a screen of ours sends
    #: at most 50 per heartbeat, every 30 s).
    kiosk_max_plays_per_minute: int = 150
    log_level: str = "INFO"
    #: Argon2 cost; tests lower it so hashing does not dominate the suite.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    #: How long a worker holds a claimed job without renewing it (it renews every third of it);
    #: a job whose worker died is taken again by another once this has passed.
    worker_lease_s: int = 60
    #: How often an idle worker looks for a job, in seconds.
    worker_poll_s: float = 1.0
    #: On SIGTERM, how long a worker lets its current jobs finish before putting them back in the queue.
    worker_grace_s: int = 30
    #: How often a worker checks whether today's retention jobs are queued, in seconds (0: never).
    retention_check_s: float = 3600.0
    #: Claim loops (threads) of one worker process; ``ecoute worker --concurrency`` overrides it.
    worker_concurrency: int = 1
    #: ``module:callable`` returning the worker's handlers by job kind; tests and benchmarks
    #: point it at their own (``tests.support.job_handlers:registry``).
    worker_handlers: str = "worker.handlers:registry"
    #: Where ``ecoute models install`` puts the Whisper base model: the installation's, not the data's
    #: (default :func:`installed_models_dir` ``/whisper-base``), so any data folder and any current folder find it.
    whisper_model_dir: Path = Path("")
    #: ``faster-whisper`` (CTranslate2) or ``openai-whisper`` (PyTorch); both give the same words at float32.
    whisper_engine: str = "faster-whisper"
    #: ``int8`` measured about 1.4x faster than ``float32`` on a 2-core CPU for the same words (worker/whisper.py).
    #: faster-whisper only: openai-whisper computes in float32 on a CPU, float16 on CUDA.
    whisper_compute_type: str = "int8"
    #: ``auto``, ``cpu`` or ``cuda``; ``auto`` is the CPU unless a CUDA device is present.
    whisper_device: str = "auto"
    #: openai-whisper's weights: a checkpoint file, or a CTranslate2 model directory converted in memory
    #: at load. Default ``<whisper_model_dir>/openai-whisper.pt``, converted from the model on first use.
    whisper_checkpoint: Path = Path("")
    #: CPU threads one transcription uses (CTranslate2's, or PyTorch's for the whole process).
    whisper_threads: int = 2
    whisper_beam_size: int = 5
    #: Wall-clock limit of one transcription: this many seconds per second of audio, but never less
    #: than ``whisper_time_limit_min_s`` (language detection and the first window take time whatever the length).
    whisper_time_limit_factor: float = 4.0
    whisper_time_limit_min_s: float = 120.0

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """Return a copy with some fields replaced (used by tests instead of the environment)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        return _finish(replace(self, **dict(overrides)))


def installed_models_dir() -> Path:
    """Where set-up installs the speech models: in the Python installation (the virtualenv's
    ``share/ecoute/models``), beside the code that uses them, whatever the data folder."""
    return Path(sys.prefix) / "share" / "ecoute" / "models"


def _secret_from_file(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    from webapp import files

    files.private_dir(data_dir)
    key = secrets.token_urlsafe(48)
    files.write_private(path, key.encode())
    return key


def _finish(settings: Settings) -> Settings:
    """Fill the defaults that depend on other settings and check the production rules."""
    data = settings.data_dir.resolve()
    changes: dict[str, Any] = {"data_dir": data}
    if not settings.database_url:
        changes["database_url"] = f"sqlite:///{data / 'ecoute.sqlite3'}"
    if not settings.database_owner_url:
        changes["database_owner_url"] = changes.get("database_url", settings.database_url)
    if not settings.database_ops_url:
        database_url = changes.get("database_url", settings.database_url)
        if not database_url.startswith("sqlite"):
            raise ConfigError("ECOUTE_DATABASE_OPS_URL is required with PostgreSQL: cross-tenant work (login, "
                              "platform admin, the queue's claim, operator commands) connects as ecoute_ops")
        changes["database_ops_url"] = database_url
    if not settings.base_url:
        changes["base_url"] = f"http://{settings.host}:{settings.port}"
    if not settings.storage_url:
        changes["storage_url"] = f"file://{data / 'media'}"
    if settings.whisper_model_dir == Path(""):
        changes["whisper_model_dir"] = installed_models_dir() / "whisper-base"
    else:
        changes["whisper_model_dir"] = settings.whisper_model_dir.resolve()
    if settings.whisper_checkpoint == Path(""):
        changes["whisper_checkpoint"] = changes["whisper_model_dir"] / "openai-whisper.pt"
    else:
        changes["whisper_checkpoint"] = settings.whisper_checkpoint.resolve()
    if settings.mail_dir == Path("var/mail"):
        changes["mail_dir"] = data / "mail"
    if not settings.secret_key:
        if settings.env == "prod":
            raise ConfigError("ECOUTE_SECRET_KEY is required when ECOUTE_ENV=prod")
        changes["secret_key"] = _secret_from_file(data)
    return replace(settings, **changes)


_PARSERS: dict[str, Any] = {
    "ENV": ("env", lambda n, v: _choice(n, v, ENVS)),
    "DATA_DIR": ("data_dir", lambda n, v: Path(v)),
    "SECRET_KEY": ("secret_key", lambda n, v: v),
    "DATABASE_URL": ("database_url", lambda n, v: v),
    "DATABASE_OWNER_URL": ("database_owner_url", lambda n, v: v),
    "DATABASE_OPS_URL": ("database_ops_url", lambda n, v: v),
    "STORAGE_URL": ("storage_url", lambda n, v: v),
    "S3_ENDPOINT_URL": ("s3_endpoint_url", lambda n, v: v),
    "PROXY_HOPS": ("proxy_hops", _int),
    "DEFAULT_LOCALE": ("default_locale", lambda n, v: _choice(n, v, LOCALES)),
    "BASE_URL": ("base_url", lambda n, v: v.rstrip("/")),
    "HOST": ("host", lambda n, v: v),
    "PORT": ("port", lambda n, v: _int(n, v, 1)),
    "WEB_WORKERS": ("web_workers", lambda n, v: _int(n, v, 1)),
    "SMTP_HOST": ("smtp_host", lambda n, v: v),
    "SMTP_PORT": ("smtp_port", lambda n, v: _int(n, v, 1)),
    "SMTP_USER": ("smtp_user", lambda n, v: v),
    "SMTP_PASSWORD": ("smtp_password", lambda n, v: v),
    "SMTP_STARTTLS": ("smtp_starttls", _bool),
    "SMTP_SSL": ("smtp_ssl", _bool),
    "MAIL_FROM": ("mail_from", lambda n, v: v),
    "MAIL_DIR": ("mail_dir", lambda n, v: Path(v)),
    "INVITATION_TTL_HOURS": ("invitation_ttl_hours", lambda n, v: _int(n, v, 1)),
    "RESET_TTL_MINUTES": ("reset_ttl_minutes", lambda n, v: _int(n, v, 1)),
    "LOGIN_MAX_FAILURES_ACCOUNT": ("login_max_failures_account", lambda n, v: _int(n, v, 1)),
    "LOGIN_MAX_FAILURES_IP": ("login_max_failures_ip", lambda n, v: _int(n, v, 1)),
    "LOGIN_WINDOW_MINUTES": ("login_window_minutes", lambda n, v: _int(n, v, 1)),
    "LOGIN_DELAY_S": ("login_delay_s", lambda n, v: _int(n, v, 1)),
    "DEFAULT_RETENTION_DAYS": ("default_retention_days", lambda n, v: _int(n, v, 1)),
    "MAX_UPLOAD_MB": ("max_upload_mb", lambda n, v: _int(n, v, 1)),
    "MAX_RECORDING_S": ("max_recording_s", lambda n, v: _int(n, v, 1)),
    "KIOSK_OFFLINE_HOURS": ("kiosk_offline_hours", lambda n, v: _int(n, v, 1)),
    "KIOSK_MAX_PLAYS_PER_MINUTE": ("kiosk_max_plays_per_minute", lambda n, v: _int(n, v, 1)),
    "LOG_LEVEL": ("log_level", lambda n, v: _choice(n, v.lower(), ("debug", "info", "warning", "error")).upper()),
    "ARGON2_TIME_COST": ("argon2_time_cost", lambda n, v: _int(n, v, 1)),
    "ARGON2_MEMORY_KIB": ("argon2_memory_kib", lambda n, v: _int(n, v, 8)),
    "WORKER_LEASE_S": ("worker_lease_s", lambda n, v: _int(n, v, 1)),
    "WORKER_POLL_S": ("worker_poll_s", _seconds),
    "WORKER_GRACE_S": ("worker_grace_s", _int),
    "WORKER_CONCURRENCY": ("worker_concurrency", lambda n, v: _int(n, v, 1)),
    "RETENTION_CHECK_S": ("retention_check_s", lambda n, v: float(_int(n, v, 0))),
    "WORKER_HANDLERS": ("worker_handlers", _import_path),
    "WHISPER_MODEL_DIR": ("whisper_model_dir", lambda n, v: Path(v)),
    "WHISPER_ENGINE": ("whisper_engine", lambda n, v: _choice(n, v, WHISPER_ENGINES)),
    "WHISPER_COMPUTE_TYPE": ("whisper_compute_type", lambda n, v: _choice(n, v, WHISPER_COMPUTE_TYPES)),
    "WHISPER_DEVICE": ("whisper_device", lambda n, v: _choice(n, v, WHISPER_DEVICES)),
    "WHISPER_CHECKPOINT": ("whisper_checkpoint", lambda n, v: Path(v)),
    "WHISPER_THREADS": ("whisper_threads", lambda n, v: _int(n, v, 1)),
    "WHISPER_BEAM_SIZE": ("whisper_beam_size", lambda n, v: _int(n, v, 1)),
    "WHISPER_TIME_LIMIT_FACTOR": ("whisper_time_limit_factor", _factor),
    "WHISPER_TIME_LIMIT_MIN_S": ("whisper_time_limit_min_s", _seconds),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse ``ECOUTE_*`` variables strictly into a frozen :class:`Settings`.

    Raises :class:`ConfigError` naming the variable when a value cannot be used.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for suffix, (field, parse) in _PARSERS.items():
        name = f"ECOUTE_{suffix}"
        raw = env.get(name)
        if raw is not None and raw != "":
            values[field] = parse(name, raw)
    return _finish(Settings(**values))
