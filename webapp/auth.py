"""flask-login wiring, and the one access decorator every view declares itself with.

:func:`access` records who may reach a view (webapp.access, the registry the request class,
the database layer and the role tests read) and authenticates the request before the view
runs: a person by the login cookie, an integrator's system by its API token, a screen by its
kiosk token. An endpoint that declared nothing is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, flash, make_response, redirect, request, url_for
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from webapp import principals
from webapp.access import Access, declare, of_endpoint
from webapp.config import Settings
from webapp.context import PrincipalKind, current_context
from webapp.errors import ApiError, Forbidden
from webapp.i18n import _, _l
from webapp.models import Role, TokenScope

F = TypeVar("F", bound=Callable[..., Any])

#: What views declare, as in ``@access(PERSON, roles=...)``.
ANONYMOUS, PERSON = PrincipalKind.ANONYMOUS, PrincipalKind.PERSON
API_TOKEN, KIOSK = PrincipalKind.API_TOKEN, PrincipalKind.KIOSK
#: The cookie a paired screen keeps its device token in (scoped to /kiosk, set by webapp.views.kiosk).
KIOSK_COOKIE = "ecoute_kiosk"
#: What a refused API request is told to send.
CHALLENGE = 'Bearer realm="ecoute"'

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


def access(kind: PrincipalKind, *, roles: Iterable[Role] = (), scopes: Iterable[TokenScope] = (),
           max_body: Callable[[Settings], int] | None = None, writes_on_read: bool = False) -> Callable[[F], F]:
    """Declare who may reach the view, once, and let only them in.

    ``PERSON``: a logged-in person with one of ``roles`` (anonymous people are sent to the login
    page, others get 403). ``API_TOKEN``: a valid API token with one of ``scopes`` (401 ``unauthorized``,
    one answer whatever is wrong with the token; 403 ``insufficient_scope``). ``KIOSK``: a paired
    screen's device token (401 ``kiosk_unpaired``). ``ANONYMOUS``: anyone. ``max_body`` lets the view
    receive a larger body (uploads); ``writes_on_read``: a GET of it may write (webapp.db).
    """
    declared = Access(kind, frozenset(roles), tuple(scopes), max_body, writes_on_read)
    if (kind is PERSON) != bool(declared.roles) or (kind is API_TOKEN) != bool(declared.scopes):
        raise ValueError("roles go with PERSON and scopes with API_TOKEN, and each needs at least one")

    def decorate(view: F) -> F:
        if kind is ANONYMOUS:
            declare(view, declared)
            return view

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refusal = _authenticate(declared)
            return refusal if refusal is not None else view(*args, **kwargs)

        declare(wrapper, declared)
        return wrapper  # type: ignore[return-value]

    return decorate


def _authenticate(declared: Access) -> Response | None:
    """Authenticate the request as ``declared`` says; a redirect to the login page, or None to go on."""
    if declared.kind is PERSON:
        if not current_user.is_authenticated:
            return _unauthorized()
        if current_user.role not in declared.roles:
            raise Forbidden()
    elif declared.kind is API_TOKEN:
        _authenticate_api_token(declared.scopes)
    elif declared.kind is KIOSK:
        _authenticate_kiosk()
    return None


def _bearer(otherwise: str = "") -> str:
    """The token of an ``Authorization: Bearer`` header, or ``otherwise`` when none was sent."""
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else otherwise


def _authenticate_api_token(scopes: tuple[str, ...]) -> None:
    token = principals.authenticate_api_token(_bearer())
    if token is None:
        current_context().challenge = CHALLENGE
        raise ApiError(401, "unauthorized", _(
            "This request needs a valid API token, sent as “Authorization: Bearer <token>”. The token may "
            "be mistyped or revoked: ask your Écoute administrator for a new one."))
    if token.scope not in scopes:
        current_context().challenge = f'{CHALLENGE}, error="insufficient_scope", scope="{" ".join(scopes)}"'
        raise ApiError(403, "insufficient_scope", _(
            "This token may only read. To send calls and complaints, ask your Écoute administrator for a "
            "token that may send them."))


def _authenticate_kiosk() -> None:
    """A screen proves itself with the device token in its cookie, or as ``Authorization: Bearer`` (scripts)."""
    if principals.authenticate_kiosk(_bearer(otherwise=request.cookies.get(KIOSK_COOKIE, ""))) is None:
        raise ApiError(401, "kiosk_unpaired", _("This screen is not paired, or was unpaired by an "
                                                "administrator. Pair it again with a new code."))


def _refuse_undeclared() -> None:
    """Fail closed: a routed request to an endpoint that declared no access reaches nothing."""
    if request.url_rule is not None and of_endpoint(request.url_rule.endpoint) is None:
        raise Forbidden()


def home_url() -> str:
    """The landing page of the logged-in person's role."""
    return url_for(HOME_BY_ROLE[current_user.role])


def redirect_home() -> Response:
    return redirect(home_url(), code=303)


#: The menu of each role: (endpoint, label).
NAV_BY_ROLE = {
    Role.PLATFORM_ADMIN: [("admin.tenant_list", _l("Companies"))],
    # What customers say and what is done about it first, then the room, then running the company.
    Role.TENANT_ADMIN: [("insights.dashboard", _l("Insights")), ("alerts.alert_list", _l("Alerts")),
                        ("actions.action_list", _l("Actions")),
                        ("register.register_list", _l("Register")), ("calls.call_list", _l("Calls")),
                        ("complaints.complaint_list", _l("Complaints")),
                        ("products.scorecard_list", _l("Scorecards")),
                        ("review_packs.review_pack_page", _l("Review packs")),
                        ("coverage.coverage_page", _l("Listening coverage")),
                        ("clips.clip_list", _l("Clips")), ("playlists.playlist_list", _l("Playlists")),
                        ("room.room_index", _l("Customer room")), ("workshops.workshop_list", _l("Workshops")),
                        ("kiosks.kiosk_list", _l("Screens")),
                        ("products.product_list", _l("Products")), ("people.people_list", _l("People")),
                        ("people.people_journal", _l("Journal")), ("taxonomy.taxonomy_page", _l("Topics")),
                        ("tokens.token_list", _l("API tokens")), ("privacy.privacy_page", _l("Personal data")),
                        ("company.company_settings", _l("Settings"))],
    Role.QUALITY_MANAGER: [("insights.dashboard", _l("Insights")), ("alerts.alert_list", _l("Alerts")),
                           ("actions.action_list", _l("Actions")),
                           ("register.register_list", _l("Register")), ("calls.call_list", _l("Calls")),
                           ("complaints.complaint_list", _l("Complaints")),
                           ("products.scorecard_list", _l("Scorecards")),
                           ("review_packs.review_pack_page", _l("Review packs")),
                           ("coverage.coverage_page", _l("Listening coverage")),
                           ("clips.clip_list", _l("Clips")), ("playlists.playlist_list", _l("Playlists")),
                           ("room.room_index", _l("Customer room")), ("workshops.workshop_list", _l("Workshops"))],
    Role.STAFF: [("room.room_index", _l("Customer room")), ("insights.dashboard", _l("Insights")),
                 ("products.scorecard_list", _l("Scorecards")), ("review_packs.review_pack_page", _l("Review packs")),
                 ("actions.action_list", _l("Actions"))],
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
    app.before_request(_refuse_undeclared)
    app.before_request(_require_own_password)
    app.jinja_env.globals["nav_items"] = nav_items
