"""Platform admin: onboarding, listing and suspending companies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Role
from webapp.services import tenants
from webapp.views.helpers import actor, form_error, is_htmx, render, settings

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _list_context() -> dict[str, Any]:
    return {"tenants": tenants.list_tenants(tenancy.request_session()),
            "default_retention": settings().default_retention_days}


@bp.get("/tenants")
@access(PERSON, roles=[Role.PLATFORM_ADMIN])
def tenant_list() -> Response:
    return render("pages/admin/tenants.html", form={}, **_list_context())


@bp.post("/tenants")
@access(PERSON, roles=[Role.PLATFORM_ADMIN])
def tenant_create() -> Response:
    form = request.form
    try:
        tenant = tenants.create_tenant(
            tenancy.request_session(), settings(), name=form.get("name", ""), slug=form.get("slug", ""),
            default_locale=form.get("default_locale", ""), retention_days=form.get("retention_days", ""),
            admin_email=form.get("admin_email", ""), actor=actor(),
        )
    except UserError as err:
        return form_error("pages/admin/tenants.html", err, **_list_context())
    flash(_("%(name)s is created. Its admin has been sent an invitation.", name=tenant.name), "success")
    return redirect(url_for("admin.tenant_list"), code=303)


def _set_suspended(tenant_id: int, suspended: bool) -> Response:
    session = tenancy.request_session()
    tenant = tenants.get_tenant(session, tenant_id)
    tenants.set_suspended(session, tenant, suspended, actor=actor())
    if is_htmx():
        return render("partials/admin/_tenant_row.html", tenant=tenant,
                      user_count=tenants.people_counts(session).get(tenant.id, 0))
    if suspended:
        flash(_("%(name)s is suspended: its people cannot log in.", name=tenant.name), "success")
    else:
        flash(_("%(name)s is active again.", name=tenant.name), "success")
    return redirect(url_for("admin.tenant_list"), code=303)


@bp.post("/tenants/<int:tenant_id>/suspend")
@access(PERSON, roles=[Role.PLATFORM_ADMIN])
def tenant_suspend(tenant_id: int) -> Response:
    return _set_suspended(tenant_id, True)


@bp.post("/tenants/<int:tenant_id>/reactivate")
@access(PERSON, roles=[Role.PLATFORM_ADMIN])
def tenant_reactivate(tenant_id: int) -> Response:
    return _set_suspended(tenant_id, False)
