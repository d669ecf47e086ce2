"""Quality managers' calls page (filled by the ingestion work)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from webapp.auth import requires_role
from webapp.models import Role
from webapp.views.helpers import render

bp = Blueprint("calls", __name__, url_prefix="/calls")


@bp.get("")
@requires_role(Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
def call_list() -> Response:
    return render("pages/calls/list.html")
