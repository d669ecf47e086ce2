"""flask-login wiring and the one role policy every view uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, flash, make_response, redirect, request, url_for
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from webapp import principals
from webapp.context import current_context
from webapp.errors import Forbidden
from webapp.i18n import _, _l
from webapp.models import Role

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

#: Where each role lands after logging in.
HOME_BY_ROLE = {
    Role.PLATFORM_ADMIN: "admin.tenant_list",
    Role.TENANT_ADMIN: "people.people_list",
    Role.QUALITY_MANAGER: "calls.call_list",
    Role.STAFF: "room.room_index",
}


def _load_user(user_id: str) -> Any:  # Any: flask-login's user_loader type
    """The person a session names (``tenant:user:version``), or None when that session has ended.

    A session ends when the person's session version has moved on since it was opened: they
    logged out, changed or reset their password, or were deactivated, or their company was
    suspended. Every copy of the cookie ends with it.
    """
    try:
        tenant_part, user_part, version_part = user_id.split(":")
        tenant_id, uid, version = int(tenant_part), int(user_part), int(version_part)
    except ValueError:
        return None
    user = principals.load_user(tenant_id, uid)
    if user is None or user.session_version != version:
        return None
    return user


def _unauthorized() -> Response:
    """Send anonymous people to the login page, saying why when their company was suspended."""
    if current_context().logout_reason == "tenant_suspended":
        flash(_("Your company's access to Écoute is suspended. Contact your administrator."), "error")
    else:
        flash(str(login_manager.login_message), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def requires_role(*roles: Role) -> Callable[[F], F]:
    """Let only logged-in people with one of ``roles`` reach the view (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _unauthorized()
            if current_user.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        wrapper.ecoute_roles = roles  # type: ignore[attr-defined]  # read by the role tests
        return wrapper  # type: ignore[return-value]

    return decorate


def home_url() -> str:
    """The landing page of the logged-in person's role."""
    return url_for(HOME_BY_ROLE[current_user.role])


def redirect_home() -> Response:
    return redirect(home_url(), code=303)


#: The menu of each role: (endpoint, label).
NAV_BY_ROLE = {
    Role.PLATFORM_ADMIN: [("admin.tenant_list", _l("Companies"))],
    Role.TENANT_ADMIN: [("people.people_list", _l("People")), ("people.people_journal", _l("Journal")),
                        ("calls.call_list", _l("Calls")),
                        ("complaints.complaint_list", _l("Complaints")), ("room.room_index", _l("Customer room")),
                        ("clips.clip_list", _l("Clips")), ("playlists.playlist_list", _l("Playlists")),
                        ("kiosks.kiosk_list", _l("Screens")),
                        ("tokens.token_list", _l("API tokens")), ("taxonomy.taxonomy_page", _l("Topics")),
                        ("privacy.privacy_page", _l("Personal data")), ("company.company_settings", _l("Settings"))],
    Role.QUALITY_MANAGER: [("calls.call_list", _l("Calls")), ("complaints.complaint_list", _l("Complaints")),
                           ("clips.clip_list", _l("Clips")), ("playlists.playlist_list", _l("Playlists")),
                           ("room.room_index", _l("Customer room"))],
    Role.STAFF: [("room.room_index", _l("Customer room"))],
}


def nav_items() -> list[tuple[str, str]]:
    """The menu entries of the logged-in person."""
    if not current_user.is_authenticated:
        return []
    return [(endpoint, str(label)) for endpoint, label in NAV_BY_ROLE[current_user.role]]


#: Where a person who must replace an operator-set password may still go (None: no such page).
_OPEN_BEFORE_NEW_PASSWORD = {None, "static", "auth.password_change", "auth.logout", "auth.locale_set",
                             "auth.password_forgot", "auth.password_reset"}
#: Blueprints that do not serve people's pages (they authenticate with their own tokens).
_NOT_PAGES = {"api", "kiosk", "health"}


def _require_own_password() -> Response | None:
    """Send someone still on an operator-set password to the form that replaces it, from any page."""
    if request.endpoint in _OPEN_BEFORE_NEW_PASSWORD or request.blueprint in _NOT_PAGES:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    target = url_for("auth.password_change")
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_user)
    login_manager.init_app(app)
    app.before_request(_require_own_password)
    app.jinja_env.globals["nav_items"] = nav_items
