"""Settings: every knob of Écoute, parsed once from ``ECOUTE_*`` environment variables.

This is the only module that reads ``os.environ``. The defaults give the embedded mode:
a SQLite file and local folders under one data directory, nothing to install.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from webapp import files

LOCALES = ("fr", "en")
ENVS = ("dev", "test", "prod")
#: Whisper implementations (worker/speech/whisper.py): CTranslate2 (faster-whisper) or PyTorch (openai-whisper).
WHISPER_ENGINES = ("faster-whisper", "openai-whisper")
#: Where Whisper runs: ``auto`` takes a CUDA device when the engine sees one, else the CPU.
WHISPER_DEVICES = ("auto", "cpu", "cuda")
#: CTranslate2 compute types that run on a CPU.
WHISPER_COMPUTE_TYPES = ("int8", "int8_float32", "float32")


class ConfigError(Exception):
    """A setting has a value that cannot be used; the message names the variable."""


_T = TypeVar("_T")
#: A parser: ``(variable name, raw value) -> value``, raising :class:`ConfigError` that names the variable.
Parse = Callable[[str, str], _T]
#: Keys of a setting's field metadata.
_PARSE = "ecoute.parse"
_DOC = "ecoute.doc"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _url(name: str, raw: str) -> str:
    return raw.rstrip("/")


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected one of yes/no, true/false, on/off, 1/0")


def _int(minimum: int) -> Parse[int]:
    """A whole number of at least ``minimum``."""

    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
        if value < minimum:
            raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
        return value

    return parse


_SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?")
_IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


def _seconds(name: str, raw: str) -> float:
    """A positive duration in seconds, at most to the millisecond: ``1``, ``0.5``, ``2.25``."""
    value = raw.strip()
    if not _SECONDS.fullmatch(value) or float(value) <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds above 0, such as 1 or 0.25")
    return float(value)


def _whole_seconds(name: str, raw: str) -> float:
    """A whole number of seconds, 0 included (which turns the periodic task off)."""
    return float(_int(0)(name, raw))


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


def _choice(choices: tuple[str, ...]) -> Parse[str]:
    """One of ``choices``, in any case."""

    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
        return value

    return parse


def _log_level(name: str, raw: str) -> str:
    return _choice(("debug", "info", "warning", "error"))(name, raw.lower()).upper()


def setting(default: _T, parse: Parse[_T] | None = None, *, doc: str) -> _T:
    """Declare one setting, once: its default, how ``ECOUTE_<NAME>`` is parsed, what it is for.

    ``parse`` may be left out for text and paths, taken as given. The variable's name comes from
    the field's (``worker_lease_s`` is ``ECOUTE_WORKER_LEASE_S``), see :func:`env_name`.
    """
    if parse is None:
        if isinstance(default, str):
            parse = cast("Parse[_T]", _text)
        elif isinstance(default, Path):
            parse = cast("Parse[_T]", _path)
        else:
            raise TypeError(f"setting({default!r}) needs a parser")
    return field(default=default, metadata={_PARSE: parse, _DOC: doc})


@dataclass(frozen=True)
class Settings:
    """Every setting with its default, declared once with :func:`setting`; built by :func:`load_settings`."""

    env: str = setting("dev", _choice(ENVS), doc="dev, test or prod (prod requires a secret key, refuses demo "
                                                 "logins)")
    data_dir: Path = setting(Path("var"), doc="the data folder: SQLite database, media, mails, secret key")
    secret_key: str = setting("", doc="signs sessions and tokens; default: random, kept in <data_dir>/secret_key")
    database_url: str = setting("", doc="SQLAlchemy URL used at run time (on PostgreSQL: the ecoute_rw role, "
                                        "which owns nothing); default: sqlite:///<data_dir>/ecoute.sqlite3")
    database_owner_url: str = setting("", doc="URL used by migrations (on PostgreSQL: the owner role); "
                                              "default: database_url")
    database_ops_url: str = setting("", doc="URL of cross-tenant work: the login lookup, platform admin pages, "
                                            "the queue's claim, operator commands (on PostgreSQL: the ecoute_ops "
                                            "role, required); default: database_url on SQLite")
    storage_url: str = setting("", doc="file:///path or s3://bucket/prefix; default: file://<data_dir>/media")
    s3_endpoint_url: str = setting("", doc="S3 endpoint for MinIO or Ceph; empty: AWS")
    proxy_hops: int = setting(0, _int(0), doc="number of proxies in front, whose forwarded headers are trusted")
    default_locale: str = setting("fr", _choice(LOCALES), doc="language of a company and a reader who chose none")
    base_url: str = setting("", _url, doc="public base URL used in links sent by mail, e.g. "
                                          "https://ecoute.example.com (https turns on Secure cookies and HSTS); "
                                          "default: http://<host>:<port>")
    host: str = setting("127.0.0.1", doc="address the web server listens on")
    port: int = setting(8000, _int(1), doc="port the web server listens on")
    web_workers: int = setting(2, _int(1), doc="web server processes")
    smtp_host: str = setting("", doc="SMTP relay; empty: mails are written to mail_dir")
    smtp_port: int = setting(25, _int(1), doc="SMTP relay's port")
    smtp_user: str = setting("", doc="SMTP login, if the relay wants one")
    smtp_password: str = setting("", doc="SMTP password, if the relay wants one")
    smtp_starttls: bool = setting(False, _bool, doc="upgrade the SMTP connection with STARTTLS")
    smtp_ssl: bool = setting(False, _bool, doc="connect to the SMTP relay over TLS")
    mail_from: str = setting("Écoute <no-reply@ecoute.local>", doc="sender of every mail")
    mail_dir: Path = setting(Path("var/mail"), doc="where mails are written when no SMTP host is set "
                                                   "(embedded mode); default: <data_dir>/mail")
    invitation_ttl_hours: int = setting(72, _int(1), doc="how long an invitation link works")
    reset_ttl_minutes: int = setting(60, _int(1), doc="how long a password-reset link works")
    login_max_failures_account: int = setting(5, _int(1), doc=(
        "failed logins allowed to one account from one client IP within login_window_minutes; past it, that key "
        "waits login_delay_s, then twice as long after each further failure (at most the window)"))
    login_max_failures_ip: int = setting(100, _int(1), doc=(
        "failed logins allowed from one client IP in all (much more: an office shares its address) "
        "within login_window_minutes"))
    login_window_minutes: int = setting(15, _int(1), doc="window in which failed logins are counted")
    login_delay_s: int = setting(30, _int(1), doc="first delay once over an allowance; it doubles with each "
                                                  "further failure, up to the window")
    default_retention_days: int = setting(180, _int(1), doc="how long a new company keeps its calls")
    max_upload_mb: int = setting(500, _int(1), doc="largest recording accepted, in megabytes (checked while "
                                                   "the upload streams in)")
    max_recording_s: int = setting(14400, _int(1), doc="longest recording accepted, in seconds of sound that "
                                                       "actually decodes (checked at upload; 4 hours)")
    kiosk_offline_hours: int = setting(72, _int(1), doc=(
        "how long a customer-room screen may play without a network and still have its plays journalled when "
        "it is back: plays timed earlier are dropped"))
    kiosk_max_plays_per_minute: int = setting(150, _int(1), doc=(
        "plays one screen may report per minute; more are dropped and counted (a screen of ours sends at most "
        "50 per heartbeat, every 30 s)"))
    log_level: str = setting("INFO", _log_level, doc="debug, info, warning or error: the web app's, the "
                                                     "worker's and gunicorn's logs (on stderr)")
    argon2_time_cost: int = setting(3, _int(1), doc="Argon2 passes; tests lower it so hashing does not "
                                                    "dominate the suite")
    argon2_memory_kib: int = setting(65536, _int(8), doc="Argon2 memory, in KiB")
    worker_lease_s: int = setting(60, _int(1), doc=(
        "how long a worker holds a claimed job without renewing it (it renews every third of it); a job whose "
        "worker died is taken again by another once this has passed"))
    worker_poll_s: float = setting(1.0, _seconds, doc="how often an idle worker looks for a job, in seconds")
    worker_grace_s: int = setting(30, _int(0), doc="on SIGTERM, how long a worker lets its current jobs finish "
                                                   "before putting them back in the queue")
    retention_check_s: float = setting(3600.0, _whole_seconds, doc=(
        "how often a worker checks whether today's retention jobs are queued, in seconds (0: never)"))
    schedules: bool = setting(True, _bool, doc=(
        "whether a worker queues the periodic schedules' jobs (webapp/services/periodic.py: retention, reminders, "
        "alerts, digests); the jobs are queued once per window whatever the number of workers"))
    worker_concurrency: int = setting(1, _int(1), doc="claim loops (threads) of one worker process; "
                                                      "ecoute worker --concurrency overrides it")
    worker_handlers: str = setting("worker.handlers:registry", _import_path, doc=(
        "module:callable returning the worker's handlers by job kind; tests and benchmarks point it at their "
        "own (tests.support.job_handlers:registry)"))
    whisper_model_dir: Path = setting(Path(""), doc=(
        "where ecoute models install puts the Whisper base model: the installation's, not the data's "
        "(default: installed_models_dir()/whisper-base), so any data folder and any current folder find it"))
    whisper_engine: str = setting("faster-whisper", _choice(WHISPER_ENGINES), doc=(
        "faster-whisper (CTranslate2) or openai-whisper (PyTorch); both give the same words at float32"))
    whisper_compute_type: str = setting("int8", _choice(WHISPER_COMPUTE_TYPES), doc=(
        "int8 measured about 1.4x faster than float32 on a 2-core CPU for the same words; faster-whisper only: "
        "openai-whisper computes in float32 on a CPU, float16 on CUDA"))
    whisper_device: str = setting("auto", _choice(WHISPER_DEVICES), doc="auto, cpu or cuda; auto is the CPU "
                                                                         "unless a CUDA device is present")
    whisper_checkpoint: Path = setting(Path(""), doc=(
        "openai-whisper's weights: a checkpoint file, or a CTranslate2 model directory converted in memory at "
        "load; default: <whisper_model_dir>/openai-whisper.pt, converted from the model on first use"))
    whisper_threads: int = setting(2, _int(1), doc="CPU threads one transcription uses (CTranslate2's, or "
                                                   "PyTorch's for the whole process)")
    whisper_beam_size: int = setting(5, _int(1), doc="Whisper's beam width")
    whisper_time_limit_factor: float = setting(4.0, _factor, doc=(
        "wall-clock limit of one transcription: this many seconds per second of audio, but never less than "
        "whisper_time_limit_min_s (language detection and the first window take time whatever the length)"))
    whisper_time_limit_min_s: float = setting(120.0, _seconds, doc="shortest wall-clock limit of one "
                                                                   "transcription, in seconds")

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


def env_name(field_name: str) -> str:
    """The environment variable of a setting: ``worker_lease_s`` is ``ECOUTE_WORKER_LEASE_S``."""
    return f"ECOUTE_{field_name.upper()}"


@dataclass(frozen=True)
class SettingInfo:
    """What :func:`setting` declared about one field, for the parser, tests and documentation."""

    name: str
    env: str
    default: Any
    parse: Parse[Any]
    doc: str


def describe() -> tuple[SettingInfo, ...]:
    """Every setting in declaration order, with its variable, default, parser and doc."""
    return tuple(SettingInfo(f.name, env_name(f.name), f.default, f.metadata[_PARSE], f.metadata[_DOC])
                 for f in fields(Settings))


def installed_models_dir() -> Path:
    """Where set-up installs the speech models: in the Python installation (the virtualenv's
    ``share/ecoute/models``), beside the code that uses them, whatever the data folder."""
    return Path(sys.prefix) / "share" / "ecoute" / "models"


def _secret_from_file(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse ``ECOUTE_*`` variables strictly into a frozen :class:`Settings`.

    Raises :class:`ConfigError` naming the variable when a value cannot be used. An empty variable
    counts as unset.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for info in describe():
        raw = env.get(info.env)
        if raw is not None and raw != "":
            values[info.name] = info.parse(info.env, raw)
    return _finish(Settings(**values))
