"""Downloads of the call and complaint lists as CSV or XLSX, with the list's filters (issue #15, item 7)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.i18n import current_locale
from webapp.models import Role
from webapp.services import voice_exports
from webapp.services.calls import CallFilters
from webapp.views.helpers import actor

bp = Blueprint("voice_exports", __name__, url_prefix="/exports")
CURATORS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)


def _download(what: str, fmt: str) -> Response:
    export = voice_exports.export_voices(tenancy.request_session(), actor(), what=what, fmt=fmt,
                                         filters=CallFilters.from_args(request.args), locale=current_locale())
    return Response(export.body, mimetype=export.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


@bp.get('/calls.<any("csv", "xlsx"):fmt>')
@access(PERSON, roles=CURATORS)
def call_export(fmt: str) -> Response:
    """The call list, filtered as its address says, every page."""
    return _download("calls", fmt)


@bp.get('/complaints.<any("csv", "xlsx"):fmt>')
@access(PERSON, roles=CURATORS)
def complaint_export(fmt: str) -> Response:
    """The complaint list, filtered as its address says, every page."""
    return _download("complaints", fmt)
