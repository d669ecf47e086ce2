"""Tenant admin: the company's people, invitations and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import inspect as sa_inspect
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _, current_locale
from webapp.models import Role, User
from webapp.models.users import TENANT_ROLES
from webapp.services import accounts, audit
from webapp.views.helpers import actor, form_error, is_htmx, render, settings

bp = Blueprint("people", __name__, url_prefix="/people")


def _list_context() -> dict[str, Any]:
    return {"people": accounts.list_people(tenancy.request_session()), "roles": TENANT_ROLES}


@bp.get("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_list() -> Response:
    return render("pages/people/list.html", form={}, **_list_context())


@bp.get("/journal")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_journal() -> Response:
    view = request.args.get("view", "all")
    view = view if view in audit.JOURNAL_VIEWS else "all"
    entries = audit.journal(tenancy.request_session(), locale=current_locale(), view=view)
    return render("pages/people/journal.html", entries=entries, view=view)


@bp.post("/invite")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_invite() -> Response:
    try:
        user = accounts.invite(tenancy.request_session(), settings(), actor(),
                               email=request.form.get("email", ""), role=request.form.get("role", ""),
                               name=request.form.get("name", ""))
    except UserError as err:
        return form_error("pages/people/list.html", err, **_list_context())
    flash(_("An invitation has been sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("people.people_list"), code=303)


def _act_on(user_id: int, action: Callable[[User], None], done: str) -> Response:
    """Load a person of this tenant (404 otherwise), apply ``action``, answer row or redirect."""
    user = accounts.get_person(tenancy.request_session(), user_id)
    try:
        action(user)
    except UserError as err:
        if is_htmx():
            raise
        return form_error("pages/people/list.html", err, **_list_context())
    if is_htmx():
        tenancy.request_session().flush()
        if sa_inspect(user).was_deleted:
            return render("partials/people/_removed.html", message=done)
        return render("partials/people/_row.html", person=user, roles=TENANT_ROLES, message=done)
    flash(done, "success")
    return redirect(url_for("people.people_list"), code=303)


@bp.post("/<int:user_id>/role")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_role(user_id: int) -> Response:
    role = request.form.get("role", "")
    return _act_on(user_id, lambda u: accounts.change_role(tenancy.request_session(), actor(), u, role),
                   _("Role changed."))


@bp.post("/<int:user_id>/department")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_department(user_id: int) -> Response:
    department = request.form.get("department", "")
    return _act_on(user_id, lambda u: accounts.set_department(tenancy.request_session(), actor(), u, department),
                   _("Department changed."))


@bp.post("/<int:user_id>/manager")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_manager(user_id: int) -> Response:
    is_manager = request.form.get("is_manager") == "1"
    return _act_on(user_id, lambda u: accounts.set_manager(tenancy.request_session(), actor(), u, is_manager),
                   _("Manager changed."))


@bp.post("/<int:user_id>/deactivate")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_deactivate(user_id: int) -> Response:
    return _act_on(user_id, lambda u: accounts.deactivate(tenancy.request_session(), actor(), u),
                   _("Account deactivated."))


@bp.post("/<int:user_id>/reactivate")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_reactivate(user_id: int) -> Response:
    return _act_on(user_id, lambda u: accounts.reactivate(tenancy.request_session(), actor(), u),
                   _("Account reactivated."))


@bp.post("/<int:user_id>/resend")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_resend(user_id: int) -> Response:
    return _act_on(user_id, lambda u: accounts.resend_invitation(tenancy.request_session(), settings(), actor(), u),
                   _("A new invitation has been sent."))


@bp.post("/<int:user_id>/revoke")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def people_revoke(user_id: int) -> Response:
    return _act_on(user_id, lambda u: accounts.revoke_invitation(tenancy.request_session(), actor(), u),
                   _("Invitation cancelled."))
