"""Tenant admin: the company's topics and complaint reasons (labels, example phrases, retirement)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import LabelKind, Role
from webapp.services import taxonomy
from webapp.views.helpers import actor, form_error, render

bp = Blueprint("taxonomy", __name__, url_prefix="/settings/taxonomy")


def _context() -> dict[str, Any]:
    session = tenancy.request_session()
    return {"topics": taxonomy.labels(session, LabelKind.TOPIC), "reasons": taxonomy.labels(session, LabelKind.REASON)}


@bp.get("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def taxonomy_page() -> Response:
    return render("pages/taxonomy/index.html", form={}, **_context())


@bp.post("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def label_create() -> Response:
    form = request.form
    try:
        label = taxonomy.add_label(tenancy.request_session(), actor(), kind=form.get("kind", ""),
                                   label_fr=form.get("label_fr", ""), label_en=form.get("label_en", ""),
                                   examples=form.get("examples", ""))
    except UserError as err:
        return form_error("pages/taxonomy/index.html", err, **_context())
    flash(_("“%(label)s” added.", label=label.label_en if form.get("lang") == "en" else label.label_fr), "success")
    return redirect(url_for("taxonomy.taxonomy_page"), code=303)


@bp.post("/<int:label_id>")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def label_update(label_id: int) -> Response:
    session = tenancy.request_session()
    label = taxonomy.get_label(session, label_id)
    form = request.form
    try:
        taxonomy.update_label(session, actor(), label, label_fr=form.get("label_fr", ""),
                              label_en=form.get("label_en", ""), examples=form.get("examples", ""))
    except UserError as err:
        return form_error("pages/taxonomy/index.html", err, **_context())
    flash(_("Changes saved."), "success")
    return redirect(url_for("taxonomy.taxonomy_page"), code=303)


@bp.post("/<int:label_id>/retire")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def label_retire(label_id: int) -> Response:
    session = tenancy.request_session()
    label = taxonomy.get_label(session, label_id)
    taxonomy.set_retired(session, actor(), label, request.form.get("retired", "1") == "1")
    return redirect(url_for("taxonomy.taxonomy_page"), code=303)
