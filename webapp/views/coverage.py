"""Listening coverage per department and quarter (issue #16, item 6), the company's listening goal,
and each person's figure, for the company admin only (webapp/services/coverage.py computes them)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Role, Tenant
from webapp.services import coverage, listening
from webapp.views.helpers import actor, form_error, render
from webapp.views.listing import ListView

bp = Blueprint("coverage", __name__, url_prefix="/coverage")

READERS = [Role.TENANT_ADMIN, Role.QUALITY_MANAGER]


def _tenant() -> Tenant:
    tenant = tenancy.request_session().get(Tenant, actor().tenant_id)
    if tenant is None:
        raise UserError("gone")
    return tenant


def _quarter(tenant: Tenant) -> tuple[listening.Quarter, list[listening.Quarter]]:
    offered = coverage.quarters_to_show(listening.current_quarter(tenant))
    asked = listening.Quarter.parse(request.args.get("quarter", ""))
    return (asked if asked in offered else offered[0]), offered


@bp.get("")
@access(PERSON, roles=READERS)
def coverage_page() -> Response:
    tenant = _tenant()
    quarter, offered = _quarter(tenant)
    return render("pages/coverage/index.html", report=coverage.compute(tenancy.request_session(), tenant, quarter),
                  offered=offered, is_admin=actor().role == Role.TENANT_ADMIN)


def _people(session: Session, filters: coverage.PeopleFilters) -> coverage.PeoplePage:
    return coverage.list_people(session, _tenant(), filters)


PEOPLE_LIST = ListView(coverage.PeopleFilters, _people, endpoint="coverage.coverage_people", area="coverage/people",
                       item="person")


@bp.get("/people")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def coverage_people() -> Response:
    """Each person's minutes, a page at a time: the company admin's only (a person sees their own on their
    listening page)."""
    return PEOPLE_LIST.respond()


@bp.post("/goal")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def coverage_goal() -> Response:
    """The company's listening goal, set on the company settings page."""
    from webapp.views.company import _context  # the settings page this form sits on

    try:
        changed = coverage.set_goal(tenancy.request_session(), _tenant(), actor(), request.form.get("goal", ""))
    except UserError as err:
        return form_error("pages/company/settings.html", err, error_in="listening", **_context())
    flash(_("Settings saved.") if changed else _("Nothing to change."), "success")
    return redirect(url_for("company.company_settings", _anchor="listening-settings"), code=303)
