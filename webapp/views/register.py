"""The complaint register (issue #15): its list, an entry's page and actions, entries for complaints received
otherwise, and the one-click confirmation of an oral complaint proposed on a call's page.

Quality managers and the company admin handle the register; staff do not reach it. Every change goes
through webapp/services/register.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Channel, LabelKind, Outcome, RegisterEntry, Role
from webapp.services import calls, register, taxonomy
from webapp.views.helpers import actor, form_error, render
from webapp.views.listing import ListView

bp = Blueprint("register", __name__, url_prefix="/register")
HANDLERS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
REGISTER_LIST = ListView(register.RegisterFilters, register.list_entries, endpoint="register.register_list",
                         area="register", item="entry")


def _who() -> register.Actor:
    return register.Actor(actor())


def _form_choices() -> dict[str, Any]:
    session = tenancy.request_session()
    return {"channels": list(Channel), "reasons": taxonomy.labels(session, LabelKind.REASON, active_only=True)}


def _page(entry: RegisterEntry) -> dict[str, Any]:
    """What the entry's page shows."""
    session = tenancy.request_session()
    tenant = actor().tenant
    return {"entry": entry, "clocks": register.clocks(entry), "timeline": register.timeline(session, entry),
            "links": register.links_of(session, entry), "owners": register.owners(session),
            "transitions": register.transitions(entry), "can_answer": register.can_answer(entry),
            "outcomes": list(Outcome), "mediator": tenant.mediator_name, "error_in": "",
            **_form_choices()}


def _act(entry_id: int, form_name: str, change: Callable[[RegisterEntry], object], done: str) -> Response:
    """Apply one change to the entry; back to its page, or the page again with the error beside that form."""
    entry = register.get_entry(tenancy.request_session(), entry_id)
    try:
        change(entry)
    except UserError as err:
        return form_error("pages/register/detail.html", err, **{**_page(entry), "error_in": form_name})
    flash(done, "success")
    return redirect(url_for("register.register_detail", entry_id=entry_id, _anchor=form_name), code=303)


@bp.get("")
@access(PERSON, roles=HANDLERS)
def register_list() -> Response:
    return REGISTER_LIST.respond()


@bp.get("/new")
@access(PERSON, roles=HANDLERS)
def register_new() -> Response:
    return render("pages/register/new.html", form={}, today=register.today(), **_form_choices())


@bp.post("/new")
@access(PERSON, roles=HANDLERS)
def register_create() -> Response:
    session = tenancy.request_session()
    try:
        fields = register.clean_fields(session, request.form, request.form.getlist("reasons"))
        entry = register.create_entry(session, actor=_who(), **vars(fields))
    except UserError as err:
        return form_error("pages/register/new.html", err, today=register.today(), **_form_choices())
    flash(_("Entry %(reference)s added to the register.", reference=entry.reference), "success")
    return redirect(url_for("register.register_detail", entry_id=entry.id), code=303)


@bp.get("/<int:entry_id>")
@access(PERSON, roles=HANDLERS)
def register_detail(entry_id: int) -> Response:
    return render("pages/register/detail.html", form={},
                  **_page(register.get_entry(tenancy.request_session(), entry_id)))


@bp.post("/<int:entry_id>/status")
@access(PERSON, roles=HANDLERS)
def register_status(entry_id: int) -> Response:
    session = tenancy.request_session()
    return _act(entry_id, "status", lambda entry: register.transition(
        session, entry, request.form.get("status", ""), _who()), _("Status changed."))


@bp.post("/<int:entry_id>/answer")
@access(PERSON, roles=HANDLERS)
def register_answer(entry_id: int) -> Response:
    session = tenancy.request_session()
    return _act(entry_id, "answer", lambda entry: register.answer(
        session, entry, request.form.get("answer", ""), request.form.get("outcome", ""), _who()),
        _("Answer recorded."))


@bp.post("/<int:entry_id>/owner")
@access(PERSON, roles=HANDLERS)
def register_owner(entry_id: int) -> Response:
    session = tenancy.request_session()
    raw = request.form.get("owner_id", "")
    owner_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if raw and owner_id is None:
        owner_id = -1  # a value no person has: refused with the reason
    return _act(entry_id, "owner", lambda entry: register.assign(session, entry, owner_id, _who()),
                _("Owner saved."))


@bp.post("/<int:entry_id>/edit")
@access(PERSON, roles=HANDLERS)
def register_edit(entry_id: int) -> Response:
    session = tenancy.request_session()
    return _act(entry_id, "details", lambda entry: register.edit(
        session, entry, register.clean_fields(session, request.form, request.form.getlist("reasons")), _who()),
        _("Details saved."))


@bp.post("/<int:entry_id>/links")
@access(PERSON, roles=HANDLERS)
def register_link(entry_id: int) -> Response:
    session = tenancy.request_session()
    return _act(entry_id, "links", lambda entry: register.link_typed(
        session, entry, _who(), request.form.get("kind", ""), request.form.get("item_id", "")), _("Linked."))


@bp.post("/<int:entry_id>/unlink")
@access(PERSON, roles=HANDLERS)
def register_unlink(entry_id: int) -> Response:
    session = tenancy.request_session()
    raw = request.form.get("link_id", "")
    link_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    return _act(entry_id, "links", lambda entry: register.unlink(session, entry, link_id, _who()),
                _("Link removed."))


@bp.post("/oral/<int:call_id>")
@access(PERSON, roles=HANDLERS)
def register_confirm_oral(call_id: int) -> Response:
    """The quality manager's one click on a call's proposal: the call becomes an oral complaint's entry."""
    session = tenancy.request_session()
    entry = register.confirm_oral(session, calls.get_call(session, call_id), _who())
    flash(_("Recorded as an oral complaint: %(reference)s.", reference=entry.reference), "success")
    return redirect(url_for("register.register_detail", entry_id=entry.id), code=303)


@bp.post("/oral/<int:call_id>/dismiss")
@access(PERSON, roles=HANDLERS)
def register_dismiss_oral(call_id: int) -> Response:
    session = tenancy.request_session()
    register.dismiss_proposal(session, calls.get_call(session, call_id), actor())
    flash(_("The proposal was dismissed."), "success")
    return redirect(url_for("calls.call_detail", call_id=call_id), code=303)
