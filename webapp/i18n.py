"""Locale choice (user > chosen in this browser > tenant > Accept-Language > default) and `_`."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user

from webapp.config import LOCALES

_ = gettext
_l = lazy_gettext

__all__ = ["LOCALES", "_", "_l", "force_locale", "init_app", "ngettext", "select_locale"]

LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def select_locale() -> str:
    """The interface language of this request (the deployment's default outside requests)."""
    if not has_request_context():
        return str(current_app.config["ECOUTE"].default_locale)
    if current_user and current_user.is_authenticated:
        if current_user.locale in LOCALES:
            return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    if current_user and current_user.is_authenticated:
        return str(current_user.tenant.default_locale)
    best = request.accept_languages.best_match(LOCALES)
    return best or current_app.config["ECOUTE"].default_locale


ROLE_LABELS = {
    "platform_admin": _l("Platform admin"),
    "tenant_admin": _l("Administrator"),
    "quality_manager": _l("Quality manager"),
    "staff": _l("Staff"),
}

STATUS_LABELS = {
    "invited": _l("Invited"),
    "active": _l("Active"),
    "deactivated": _l("Deactivated"),
}

ERROR_TITLES = {
    400: _l("This request could not be handled"),
    403: _l("Access refused"),
    404: _l("Page not found"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(str(role), role))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(str(status), status))


def error_title(status: int) -> str:
    return str(ERROR_TITLES.get(status, _l("Something went wrong")))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        role_label=role_label,
        status_label=status_label,
        error_title=error_title,
        current_locale=lambda: str(get_locale() or current_app.config["ECOUTE"].default_locale),
    )
