"""Écoute's web app: ``create_app()`` wires the extensions and blueprints; no logic here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from flask import Flask, Request, g
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import auth, db, errors, i18n, logs, security
from webapp.config import Settings, load_settings

csrf = CSRFProtect()


class EcouteRequest(Request):
    """Closes the upload spool files itself: werkzeug drops them unclosed when a body is cut off (413)."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        stream = super()._get_file_stream(total_content_length, content_type, filename, content_length)
        self.__dict__.setdefault("_ecoute_spools", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.pop("_ecoute_spools", []):
            stream.close()


def create_app(overrides: Mapping[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app from the environment's settings, optionally overridden (tests)."""
    settings = settings or load_settings()
    if overrides:
        settings = settings.with_overrides(overrides)
    app = Flask(__name__)
    app.request_class = EcouteRequest
    app.config["ECOUTE"] = settings
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # forms only; uploads stream through their own route
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session instead of a clock
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops, x_host=settings.proxy_hops
        )

    logs.init_app(app)
    db.init_app(app)
    security.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)

    @app.before_request
    def _tenant_for_logs() -> None:
        if current_user.is_authenticated:
            g.tenant_slug = current_user.tenant.slug

    return app


def _register_blueprints(app: Flask) -> None:
    from webapp.views import admin, api, calls, complaints, health, people, room, tokens
    from webapp.views import auth as auth_views

    for module in (health, auth_views, admin, people, calls, complaints, room, tokens, api):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # token-authenticated: a login cookie opens nothing there
