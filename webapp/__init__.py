"""Écoute's web app: ``create_app()`` wires the extensions and blueprints; no logic here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from flask import Flask, Request, current_app
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import access, auth, db, errors, files, i18n, logs, security, tenancy
from webapp.access import Access
from webapp.config import Settings, load_settings
from webapp.context import PrincipalKind

csrf = CSRFProtect()


class EcouteRequest(Request):
    """The request class: per-route body limits, and upload spool files closed reliably."""

    @property
    def max_content_length(self) -> int | None:
        """The ``max_body`` the view declared (:func:`webapp.auth.access`), else the app's.

        Decided from the URL rule, before anything reads the body: the CSRF check reads the form
        before the view runs, so a limit set inside the view would come too late.
        """
        if self._max_content_length is not None:
            return self._max_content_length
        declared = access.of_endpoint(self.url_rule.endpoint) if self.url_rule else None
        if declared is not None and declared.max_body is not None:
            return declared.max_body(current_app.config["ECOUTE"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    # Werkzeug drops the spool files of a body cut off by a 413 without closing them.

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
    files.make_private(settings)
    db.init_app(app)
    security.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    access.install(app, static=Access(PrincipalKind.ANONYMOUS))

    @app.before_request
    def _principal() -> None:
        tenancy.principal()  # who is asking, from here on: the log lines name their tenant

    return app


def _register_blueprints(app: Flask) -> None:
    from webapp.views import (
        admin,
        api,
        calls,
        clips,
        company,
        complaints,
        health,
        kiosk,
        kiosks,
        people,
        playlists,
        privacy,
        room,
        taxonomy,
        tokens,
    )
    from webapp.views import auth as auth_views

    for module in (health, auth_views, admin, people, calls, clips, playlists, complaints, room, tokens, company,
                   taxonomy, privacy, kiosks, kiosk, api):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # token-authenticated: a login cookie opens nothing there
    # The kiosk's device cookie is SameSite=Strict and opens nothing but /kiosk; pairing is anonymous.
    csrf.exempt(kiosk.bp)
