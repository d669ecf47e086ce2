"""Tenant admin: the company's own settings (language of the interface, stereo recordings)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.config import LOCALES
from webapp.errors import UserError
from webapp.i18n import _, ngettext
from webapp.models import Role, StereoLayout, Tenant
from webapp.services import register, tenants
from webapp.views.helpers import actor, form_error, render

bp = Blueprint("company", __name__, url_prefix="/settings/company")


def _tenant() -> Tenant:
    tenant = tenancy.request_session().get(Tenant, actor().tenant_id)
    if tenant is None:
        raise UserError("gone")
    return tenant


def _context() -> dict[str, Any]:
    tenant = _tenant()
    return {"tenant": tenant, "locales": LOCALES, "layouts": [layout.value for layout in StereoLayout],
            "rule_set": register.rule_set_of(tenant)}


@bp.get("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def company_settings() -> Response:
    return render("pages/company/settings.html", form={}, **_context())


@bp.post("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def company_update() -> Response:
    try:
        changed = tenants.update_company_settings(
            tenancy.request_session(), _tenant(), actor(), default_locale=request.form.get("default_locale", ""),
            stereo_layout=request.form.get("stereo_layout", ""))
    except UserError as err:
        return form_error("pages/company/settings.html", err, **_context())
    flash(_("Settings saved.") if changed else _("Nothing to change."), "success")
    return redirect(url_for("company.company_settings"), code=303)


@bp.post("/register")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def company_register_update() -> Response:
    """The complaint register's clock rule set and the company's mediator (issue #15)."""
    try:
        saved = register.update_register_settings(tenancy.request_session(), _tenant(), actor(), request.form)
    except UserError as err:
        return form_error("pages/company/settings.html", err, error_in="register", **_context())
    if saved.clocks_changed:
        flash(ngettext("Settings saved. The new rules apply to open entries too: %(num)d entry has new due dates.",
                       "Settings saved. The new rules apply to open entries too: %(num)d entries have new due "
                       "dates.", saved.recomputed), "success")
    else:
        flash(_("Settings saved.") if saved.changed else _("Nothing to change."), "success")
    return redirect(url_for("company.company_settings", _anchor="register-settings"), code=303)
