"""Improvement actions (issue #16, item 4): their list, the new action form (prefilled from where it starts:
a clip, a complaint, a register entry, a dashboard number, an alert), an action's page with its timeline,
links and verification evidence, and its changes.

Who may do what is the service's (webapp/services/actions.py): every person of the company reaches these
pages, and sees only the actions they may; proposing from the form, planning (owner, due date) are for
quality managers and admins. Every change goes through the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import ActionStatus, ImprovementAction, Role
from webapp.services import action_evidence, actions
from webapp.views.helpers import actor, form_error, render
from webapp.views.listing import ListView

bp = Blueprint("actions", __name__, url_prefix="/actions")
EVERYONE = (Role.STAFF, Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
MANAGERS = actions.MANAGERS


def _load(session: Session, filters: actions.ActionFilters) -> actions.ActionPage:
    return actions.list_actions(session, filters, actor())


ACTION_LIST = ListView(actions.ActionFilters, _load, endpoint="actions.action_list", area="actions", item="action")


def _page(action: ImprovementAction) -> dict[str, Any]:
    """What the action's page shows."""
    session = tenancy.request_session()
    user = actor()
    timeline = actions.timeline(session, action)
    shows_evidence = action.status in (ActionStatus.DONE, ActionStatus.VERIFIED)
    people = {action.owner_id, action.created_by_id, action.verified_by_id}
    people |= {e.event.detail.get("to") for e in timeline if e.event.kind == "owner"}
    return {"action": action, "timeline": timeline, "links": actions.links_of(session, action),
            "moves": actions.moves(user, action), "can_manage": actions.can_manage(user),
            "owners": actions.owners(session) if actions.can_manage(user) else [],
            "names": actions.names_of(session, {p for p in people if isinstance(p, int)}),
            "overdue": actions.is_overdue(action, actions.today()),
            "evidence": action_evidence.evidence(session, action) if shows_evidence else None,
            "error_in": ""}


def _act(action_id: int, form_name: str, change: Callable[[ImprovementAction], object], done: str) -> Response:
    """Apply one change; back to the action's page, or the page again with the error beside that form."""
    action = actions.get_action(tenancy.request_session(), actor(), action_id)
    try:
        change(action)
    except UserError as err:
        return form_error("pages/actions/detail.html", err, **{**_page(action), "error_in": form_name})
    flash(done, "success")
    return redirect(url_for("actions.action_detail", action_id=action_id, _anchor=form_name), code=303)


@bp.get("")
@access(PERSON, roles=EVERYONE)
def action_list() -> Response:
    return ACTION_LIST.respond()


@bp.get("/new")
@access(PERSON, roles=MANAGERS)
def action_new() -> Response:
    session = tenancy.request_session()
    return render("pages/actions/new.html", form=actions.start_from(session, actor(), request.args),
                  owners=actions.owners(session))


@bp.post("/new")
@access(PERSON, roles=MANAGERS)
def action_create() -> Response:
    session = tenancy.request_session()
    try:
        action = actions.propose(session, actor(), **actions.read_form(request.form).fields)
    except UserError as err:
        return form_error("pages/actions/new.html", err, owners=actions.owners(session))
    flash(_("Action proposed."), "success")
    return redirect(url_for("actions.action_detail", action_id=action.id), code=303)


@bp.get("/<int:action_id>")
@access(PERSON, roles=EVERYONE)
def action_detail(action_id: int) -> Response:
    return render("pages/actions/detail.html", form={},
                  **_page(actions.get_action(tenancy.request_session(), actor(), action_id)))


@bp.post("/<int:action_id>/status")
@access(PERSON, roles=EVERYONE)
def action_status(action_id: int) -> Response:
    session, form = tenancy.request_session(), request.form
    return _act(action_id, "status", lambda action: actions.move(
        session, actor(), action, form.get("status", ""), version=actions.read_id(form.get("version", "")),
        reason=form.get("reason", ""), comment=form.get("comment", "")), _("Status changed."))


@bp.post("/<int:action_id>/plan")
@access(PERSON, roles=MANAGERS)
def action_plan(action_id: int) -> Response:
    session, form = tenancy.request_session(), request.form
    return _act(action_id, "plan", lambda action: actions.plan(
        session, actor(), action, owner_id=actions.read_id(form.get("owner_id", "")),
        due_on=actions.read_day(form.get("due_on", "")), version=actions.read_id(form.get("version", ""))),
        _("Owner and due date saved."))


@bp.post("/<int:action_id>/comment")
@access(PERSON, roles=EVERYONE)
def action_comment(action_id: int) -> Response:
    session = tenancy.request_session()
    return _act(action_id, "comments", lambda action: actions.comment(
        session, actor(), action, request.form.get("comment", "")), _("Comment added."))
