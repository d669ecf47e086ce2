"""The insight dashboard and the voices behind each of its numbers (webapp/services/insights.py)."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.db import utcnow
from webapp.i18n import current_locale, format_number
from webapp.models import Role
from webapp.services import insights, taxonomy
from webapp.views.helpers import actor, render

bp = Blueprint("insights", __name__, url_prefix="/insights")
#: Company admins and quality managers; staff read their own products' (the service scopes them).
READERS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)


@bp.get("")
@access(PERSON, roles=READERS)
def dashboard() -> Response:
    period, end = insights.period_of(request.args, utcnow().date())
    board = insights.dashboard(tenancy.request_session(), actor(), period, end, current_locale())
    return render("pages/insights/dashboard.html", board=board, periods=list(insights.Period), links=_links(),
                  number=cache(format_number))


def _links() -> dict[str, str]:
    """Where a number's link goes, by list: its selection's query string is added (pages/insights/)."""
    return {name: url_for(name) for name in ("calls.call_list", "complaints.complaint_list", "insights.voices")}


@bp.get("/voices")
@access(PERSON, roles=READERS)
def voices() -> Response:
    selection = insights.Selection.from_args(request.args, utcnow().date())
    session = tenancy.request_session()
    found = insights.voices(session, actor(), selection)
    # The selection names its topic and reason by their labels, not their keys.
    names = {(lb.kind.value, lb.key): lb.label(current_locale()) for lb in taxonomy.labels(session)}
    return render("pages/insights/voices.html", found=found, names=names)
