"""The complaint register's downloads and the regulator's yearly figures (issue #15, item 7).

The register list as CSV or XLSX with the filters of its address (quality managers and the company admin,
who handle the register); the year's complaint figures, a page with its CSV and XLSX, for the company
admin. The work is webapp/services/register_exports.py.
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from webapp import exports, tenancy
from webapp.auth import PERSON, access
from webapp.i18n import current_locale
from webapp.models import Role
from webapp.services import register_exports
from webapp.services.register import RegisterFilters
from webapp.views.helpers import actor, render

bp = Blueprint("register_exports", __name__, url_prefix="/register")
HANDLERS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
ADMINS = (Role.TENANT_ADMIN,)


def _download(export: exports.Download) -> Response:
    return Response(export.body, mimetype=export.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


@bp.get('/export.<any("csv", "xlsx"):fmt>')
@access(PERSON, roles=HANDLERS)
def register_export(fmt: str) -> Response:
    """The register, filtered as its address says, every page."""
    return _download(register_exports.export_entries(
        tenancy.request_session(), actor(), fmt=fmt, filters=RegisterFilters.from_args(request.args),
        locale=current_locale()))


@bp.get("/figures")
@access(PERSON, roles=ADMINS)
def register_figures() -> Response:
    """The year's complaint figures the regulator asks for."""
    year = register_exports.year_of(request.args.get("year"))
    return render("pages/figures/year.html", figures=register_exports.figures(
        tenancy.request_session(), actor().tenant, year, current_locale()))


@bp.get('/figures.<any("csv", "xlsx"):fmt>')
@access(PERSON, roles=ADMINS)
def register_figures_export(fmt: str) -> Response:
    return _download(register_exports.export_figures(
        tenancy.request_session(), actor(), actor().tenant, year=register_exports.year_of(request.args.get("year")),
        fmt=fmt, locale=current_locale()))
