"""Written complaints: typed in a form, or imported from a CSV file."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Channel, Consent, LabelKind, Role, Source
from webapp.services import calls, erasure, ingestion, register, tags, taxonomy
from webapp.views.helpers import actor, correct_tags, form_error, render

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
CURATORS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
MAX_CSV_BYTES = 10 * 1024 * 1024


def _context() -> dict[str, Any]:
    session = tenancy.request_session()
    filters = calls.CallFilters.from_args(request.args)
    items, total = calls.list_complaints(session, filters.page, filters)
    return {"complaints": items, "total": total, "page": filters.page, "filters": filters, "channels": list(Channel),
            "topics": taxonomy.labels(session, LabelKind.TOPIC), "reasons": taxonomy.labels(session, LabelKind.REASON),
            "consents": list(Consent), "columns": ingestion.CSV_COLUMNS}


@bp.get("")
@access(PERSON, roles=CURATORS)
def complaint_list() -> Response:
    return render("pages/complaints/list.html", form={}, **_context())


@bp.post("")
@access(PERSON, roles=CURATORS)
def complaint_create() -> Response:
    try:
        meta = ingestion.clean_meta(request.form, default_channel=Channel.EMAIL)
        _complaint, duplicate = ingestion.create_complaint(
            tenancy.request_session(), text=request.form.get("text", ""), meta=meta,
            origin=ingestion.Origin(Source.BROWSER, user=actor()))
    except UserError as err:
        return form_error("pages/complaints/list.html", err, **_context())
    flash(_("This complaint was already recorded.") if duplicate else _("Complaint recorded."), "success")
    return redirect(url_for("complaints.complaint_list"), code=303)


@bp.post("/import")
@access(PERSON, roles=CURATORS, max_body=lambda _settings: MAX_CSV_BYTES + 64 * 1024)
def complaint_import() -> Response:
    upload = request.files.get("csv")
    try:
        if upload is None or not upload.filename:
            raise UserError(_("Choose a CSV file."), "csv_missing")
        report = ingestion.import_complaints_csv(tenancy.request_session(), upload.read(MAX_CSV_BYTES + 1),
                                                 ingestion.Origin(Source.CSV, user=actor()))
    except UserError as err:
        return form_error("pages/complaints/list.html", err, **_context())
    return render("pages/complaints/list.html", form={}, report=report, **_context())


@bp.get("/<int:complaint_id>")
@access(PERSON, roles=CURATORS)
def complaint_detail(complaint_id: int) -> Response:
    session = tenancy.request_session()
    complaint = calls.get_complaint(session, complaint_id)
    return render("pages/complaints/detail.html", complaint=complaint,
                  tags=tags.tags_of(session, tags.Target(complaint_id=complaint.id)),
                  entry=register.entry_of(session, complaint_id=complaint.id),
                  kept_until=erasure.erase_by(actor().tenant, complaint.received_at))


@bp.post("/<int:complaint_id>/tags")
@access(PERSON, roles=CURATORS)
def complaint_tag(complaint_id: int) -> Response:
    """One click of a quality manager on a complaint's tags (htmx or plain form), as on a call's."""
    session = tenancy.request_session()
    complaint = calls.get_complaint(session, complaint_id)
    return correct_tags(session, tags.Target(complaint_id=complaint.id),
                        tag_url=url_for("complaints.complaint_tag", complaint_id=complaint.id),
                        page_url=url_for("complaints.complaint_detail", complaint_id=complaint.id))


def _erasure(complaint_id: int) -> dict[str, Any]:
    return {"heading": _("Erase complaint #%(id)d", id=complaint_id),
            "erased": [_("The text of the complaint"), _("Its tags")], "warning": None,
            "reasons": erasure.PERSON_REASONS,
            "action_url": url_for("complaints.complaint_erase", complaint_id=complaint_id),
            "back_url": url_for("complaints.complaint_detail", complaint_id=complaint_id),
            "back_label": _("Back to the complaint")}


@bp.get("/<int:complaint_id>/erase")
@access(PERSON, roles=CURATORS)
def complaint_erase_form(complaint_id: int) -> Response:
    complaint = calls.get_complaint(tenancy.request_session(), complaint_id)
    return render("pages/erasure/confirm.html", form={}, **_erasure(complaint.id))


@bp.post("/<int:complaint_id>/erase")
@access(PERSON, roles=CURATORS)
def complaint_erase(complaint_id: int) -> Response:
    session = tenancy.request_session()
    complaint = calls.get_complaint(session, complaint_id)
    try:
        erasure.erase_complaint(session, actor(), complaint, request.form.get("reason", ""))
    except UserError as err:
        return form_error("pages/erasure/confirm.html", err, **_erasure(complaint_id))
    flash(_("Complaint #%(id)d erased.", id=complaint_id), "success")
    return redirect(url_for("complaints.complaint_list"), code=303)
