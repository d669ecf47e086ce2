"""Écoute's web app: ``create_app()`` wires the extensions and blueprints; no logic here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import access, auth, db, errors, files, i18n, logs, security, tenancy
from webapp.access import Access
from webapp.config import Settings, load_settings
from webapp.context import PrincipalKind

csrf = CSRFProtect()


def create_app(overrides: Mapping[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app from the environment's settings, optionally overridden (tests)."""
    settings = settings or load_settings()
    if overrides:
        settings = settings.with_overrides(overrides)
    app = Flask(__name__)
    app.request_class = security.EcouteRequest
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
    # Here, not at the top: importing any webapp module runs this file, and what needs only the models and
    # services (migrations, scripts, the worker's tests) need not load every view. No cycle hides behind it.
    from webapp.views import (
        actions,
        admin,
        alerts,
        api,
        calls,
        clips,
        company,
        complaints,
        coverage,
        health,
        insights,
        kiosk,
        kiosks,
        people,
        playlists,
        privacy,
        products,
        reactions,
        register,
        register_exports,
        review_packs,
        room,
        taxonomy,
        tokens,
        voice_exports,
        workshops,
    )
    from webapp.views import auth as auth_views

    for module in (health, auth_views, admin, people, calls, clips, playlists, complaints, room, tokens, company,
                   taxonomy, privacy, kiosks, kiosk, insights, products, alerts, review_packs, voice_exports, coverage,
                   register, register_exports, actions, workshops, reactions, api):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # token-authenticated: a login cookie opens nothing there
    # The kiosk's device cookie is SameSite=Strict and opens nothing but /kiosk; pairing is anonymous.
    csrf.exempt(kiosk.bp)
