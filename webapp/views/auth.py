"""Logging in and out, invitations, password resets, language."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import ANONYMOUS, PERSON, access, redirect_home
from webapp.errors import TooManyAttempts, UserError
from webapp.i18n import _
from webapp.models import Role
from webapp.models.security import TokenPurpose
from webapp.services import accounts, tokens
from webapp.views.helpers import actor, client_ip, form_error, me, render, settings

bp = Blueprint("auth", __name__)


@bp.get("/")
@access(ANONYMOUS)
def home() -> Response:
    if current_user.is_authenticated:
        return redirect_home()
    return redirect(url_for("auth.login"), code=303)


@bp.route("/login", methods=["GET", "POST"])
@access(ANONYMOUS)
def login() -> Response:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect_home()
        return render("pages/auth/login.html", form={})
    try:
        users = accounts.authenticate(request.form.get("email", ""), request.form.get("password", ""),
                                      client_ip(), settings(), request.form.get("company") or None)
    except UserError as err:
        response = form_error("pages/auth/login.html", err)
        if isinstance(err, TooManyAttempts) and err.retry_after:
            response.headers["Retry-After"] = str(err.retry_after)
        return response
    if len(users) > 1:
        return render("pages/auth/login.html", form=request.form, companies=[u.tenant for u in users])
    login_user(users[0])
    accounts.record_login(tenancy.request_session(), users[0].id)
    if users[0].must_change_password:
        return redirect(url_for("auth.password_change"), code=303)
    target = _safe_next(request.args.get("next"))
    return redirect(target, code=303) if target else redirect_home()


@bp.post("/logout")
@access(ANONYMOUS)
def logout() -> Response:
    if current_user.is_authenticated:
        accounts.log_out_everywhere(tenancy.request_session(), current_user.id)
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@access(ANONYMOUS)
def password_forgot() -> Response:
    if request.method == "GET":
        return render("pages/auth/forgot.html", form={})
    try:
        accounts.request_password_reset(settings(), request.form.get("email", ""), client_ip())
    except UserError as err:
        return form_error("pages/auth/forgot.html", err)
    flash(_("If an account uses this address, we have sent it a link to choose a new password. "
            "Check your mailbox."), "info")
    return redirect(url_for("auth.login"), code=303)


def _link_error(err: UserError) -> Response:
    return form_error("pages/auth/link_invalid.html", err)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@access(ANONYMOUS)
def password_reset(token: str) -> Response:
    try:
        tenancy.bind_request(tokens.tenant_of(token))
        tokens.consume(tenancy.request_session(), token, TokenPurpose.RESET, peek=True)
    except UserError as err:
        return _link_error(err)
    if request.method == "GET":
        return render("pages/auth/reset.html", form={}, token=token)
    try:
        _check_confirmation()
        accounts.reset_password(tenancy.request_session(), token, request.form.get("password", ""))
    except UserError as err:
        return form_error("pages/auth/reset.html", err, token=token)
    logout_user()
    flash(_("Your password has been changed. You can log in with it now."), "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@access(ANONYMOUS)
def invitation_accept(token: str) -> Response:
    try:
        tenancy.bind_request(tokens.tenant_of(token))
        user = accounts.invitation_for(tenancy.request_session(), token)
    except UserError as err:
        return _link_error(err)
    context: dict[str, Any] = {"token": token, "invited_email": user.email, "tenant_name": user.tenant.name}
    if request.method == "GET":
        return render("pages/auth/invitation.html", form={"name": user.name}, **context)
    try:
        _check_confirmation()
        accounts.accept_invitation(tenancy.request_session(), token, password=request.form.get("password", ""),
                                   name=request.form.get("name", ""))
    except UserError as err:
        return form_error("pages/auth/invitation.html", err, **context)
    logout_user()
    flash(_("Welcome! Your account is ready: log in with your e-mail and new password."), "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/password/change", methods=["GET", "POST"])
@access(PERSON, roles=Role)
def password_change() -> Response:
    """Change one's own password; the only page open while an operator-set password must be replaced."""
    forced = bool(current_user.must_change_password)
    if request.method == "GET":
        return render("pages/auth/change_password.html", form={}, forced=forced)
    try:
        _check_confirmation()
        accounts.check_own_password(actor(), request.form.get("current_password", ""), client_ip(), settings())
        user = me()
        accounts.change_password(tenancy.request_session(), user, request.form.get("password", ""))
    except UserError as err:
        return form_error("pages/auth/change_password.html", err, forced=forced)
    login_user(user)  # this session goes on under the new session version; every other one has ended
    flash(_("Your password has been changed."), "success")
    return redirect_home()


def _check_confirmation() -> None:
    if request.form.get("password") != request.form.get("password_confirm"):
        raise UserError(_("The two passwords are different. Type the same password twice."), "mismatch")


@bp.post("/locale")
@access(ANONYMOUS)
def locale_set() -> Response:
    locale = request.form.get("locale", "")
    if current_user.is_authenticated:
        accounts.set_locale(tenancy.request_session(), me().id, locale)
    session["locale"] = locale if locale in ("fr", "en") else None
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.home"), code=303)


#: Characters a browser drops or chokes on in a URL (tabs, newlines, NUL...): never in a ``next``.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _safe_next(target: str | None) -> str | None:
    """A path on this site to go back to, exactly as it will be sent in ``Location``; else None.

    The check runs on what Werkzeug will emit (``iri_to_uri``, which drops tabs and newlines as
    browsers do), not on what arrived: ``/<tab>/evil.example`` would otherwise pass as a path and
    leave as ``//evil.example``. A path that decodes to ``//`` or holds a backslash or a control
    character is refused too, whatever a proxy or browser might make of it.
    """
    if not target or _CONTROL.search(target) or "\\" in target or not target.startswith("/") \
            or target.startswith("//"):
        return None
    emitted = iri_to_uri(target)
    parts = urlsplit(emitted)
    if parts.scheme or parts.netloc or not emitted.startswith("/") or emitted.startswith("//"):
        return None
    decoded = unquote(parts.path)
    if decoded.startswith("//") or "\\" in decoded or _CONTROL.search(decoded):
        return None
    return emitted


@bp.get("/account")
@access(PERSON, roles=Role)
def account() -> Response:
    return render("pages/auth/account.html")
