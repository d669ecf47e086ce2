"""Tenant admin: personal data — how long recordings are kept, and erasing one customer's data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Role, Tenant
from webapp.services import erasure
from webapp.views.helpers import actor, form_error, render

bp = Blueprint("privacy", __name__, url_prefix="/settings/privacy")
TEMPLATE = "pages/privacy/index.html"


def _tenant() -> Tenant:
    tenant = tenancy.request_session().get(Tenant, actor().tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


def _context(**extra: Any) -> dict[str, Any]:
    return {"tenant": _tenant(), "reasons": erasure.PERSON_REASONS, "min_days": erasure.MIN_RETENTION_DAYS,
            "max_days": erasure.MAX_RETENTION_DAYS, "footprint": None, **extra}


@bp.get("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def privacy_page() -> Response:
    """The retention period, and the customer search: ``?customer_ref=`` shows what would be erased."""
    ref = request.args.get("customer_ref", "")
    if not ref.strip():
        return render(TEMPLATE, form={}, **_context())
    try:
        found = erasure.customer_footprint(tenancy.request_session(), ref)
    except UserError as err:
        return form_error(TEMPLATE, err, error_in="customer", **_context())
    return render(TEMPLATE, form={"customer_ref": found.customer_ref}, **_context(footprint=found))


@bp.post("/retention")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def privacy_retention() -> Response:
    try:
        changed = erasure.set_retention(tenancy.request_session(), actor(), _tenant(),
                                        request.form.get("retention_days", ""))
    except UserError as err:
        return form_error(TEMPLATE, err, error_in="retention", **_context())
    flash(_("Retention period saved.") if changed else _("Nothing to change."), "success")
    return redirect(url_for("privacy.privacy_page"), code=303)


@bp.post("/customer")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def privacy_erase_customer() -> Response:
    """Erase every call and complaint of one customer, once the admin confirmed what the search found."""
    session = tenancy.request_session()
    try:
        if request.form.get("confirm") != "yes":
            raise UserError(_("Tick the box to confirm that this customer's data is to be erased."), "confirm")
        done = erasure.erase_customer(session, actor(), request.form.get("customer_ref", ""))
    except UserError as err:
        footprint = None
        if request.form.get("customer_ref", "").strip():
            footprint = erasure.customer_footprint(session, request.form.get("customer_ref", ""))
        return form_error(TEMPLATE, err, error_in="customer", **_context(footprint=footprint))
    flash(_("Customer “%(ref)s” erased. Calls: %(calls)d. Complaints: %(complaints)d.", ref=done.customer_ref,
            calls=done.calls, complaints=done.complaints), "success")
    return redirect(url_for("privacy.privacy_page"), code=303)
