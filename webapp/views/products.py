"""Products (the admin sets owners, families, departments, "modified"), their scorecards, the 3/5 watch
list, the ratings CSV import and the 3/5 rule's settings (issue #15, item 5)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import format_date
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _, ngettext
from webapp.models import Role, Tenant
from webapp.services import products, ratings, scorecards
from webapp.services.scorecards import SENTIMENT_SCORES
from webapp.views.helpers import actor, form_error, render

bp = Blueprint("products", __name__)
ADMINS = (Role.TENANT_ADMIN,)
IMPORTERS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER)
READERS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)
MAX_CSV_BYTES = 10 * 1024 * 1024


def _tenant() -> Tenant:
    tenant = tenancy.request_session().get(Tenant, actor().tenant_id)
    if tenant is None:
        raise UserError("gone")
    return tenant


def _products() -> dict[str, Any]:
    session = tenancy.request_session()
    return {"products": products.sync_products(session), "people": products.people(session)}


def _scorecards() -> dict[str, Any]:
    tenant = _tenant()
    cards = scorecards.scorecards(tenancy.request_session(), tenant, products.Reader.of(actor()))
    return {"cards": cards, "watch": scorecards.watch_list(cards), "tenant": tenant, "scores": SENTIMENT_SCORES,
            "may_import": actor().role in IMPORTERS, "columns": ratings.CSV_COLUMNS}


@bp.get("/products")
@access(PERSON, roles=ADMINS, writes_on_read=True)  # a product name seen for the first time gets its row
def product_list() -> Response:
    return render("pages/products/list.html", form={}, **_products())


@bp.post("/products/<int:product_id>")
@access(PERSON, roles=ADMINS)
def product_update(product_id: int) -> Response:
    session = tenancy.request_session()
    product = products.get_product(session, product_id)
    try:
        changed = products.update_product(session, actor(), product, family=request.form.get("family", ""),
                                          department=request.form.get("department", ""),
                                          owner_id=request.form.get("owner_id", ""))
    except UserError as err:
        return form_error("pages/products/list.html", err, failed=product.id, **_products())
    flash(_("Product saved.") if changed else _("Nothing to change."), "success")
    return redirect(url_for("products.product_list", _anchor=f"product-{product.id}"), code=303)


@bp.post("/products/<int:product_id>/modified")
@access(PERSON, roles=ADMINS)
def product_modified(product_id: int) -> Response:
    session = tenancy.request_session()
    product = products.get_product(session, product_id)
    products.mark_modified(session, actor(), product)
    flash(_("“%(product)s” is marked as modified: only ratings given from tomorrow on can take it off the watch "
            "list.", product=product.name), "success")
    back = "products.scorecard_detail" if request.form.get("next") == "scorecard" else "products.product_list"
    return redirect(url_for(back, product_id=product.id) if back != "products.product_list"
                    else url_for(back, _anchor=f"product-{product.id}"), code=303)


@bp.get("/scorecards")
@access(PERSON, roles=READERS, writes_on_read=True)  # a product name seen for the first time gets its row
def scorecard_list() -> Response:
    return render("pages/products/scorecards.html", form={}, **_scorecards())


@bp.get("/scorecards/<int:product_id>")
@access(PERSON, roles=READERS)
def scorecard_detail(product_id: int) -> Response:
    session = tenancy.request_session()
    product = products.Reader.of(actor()).check(products.get_product(session, product_id))
    card, months = scorecards.scorecard(session, _tenant(), product)
    return render("pages/products/scorecard.html", card=card, tenant=_tenant(),
                  months=[(format_date(m.month, "LLLL y"), m) for m in months],
                  scores=SENTIMENT_SCORES, may_modify=actor().role in ADMINS)


@bp.post("/scorecards/ratings")
@access(PERSON, roles=IMPORTERS, max_body=lambda _settings: MAX_CSV_BYTES + 64 * 1024)
def ratings_import() -> Response:
    upload = request.files.get("csv")
    try:
        if upload is None or not upload.filename:
            raise UserError(_("Choose a CSV file."), "csv_missing")
        done = ratings.import_csv(tenancy.request_session(), _tenant(), upload.read(MAX_CSV_BYTES + 1), actor())
    except UserError as err:
        return form_error("pages/products/scorecards.html", err, problems=ratings.problems_of(err), **_scorecards())
    flash(ngettext("%(num)d rating imported.", "%(num)d ratings imported.", done.created) + (
        " " + ngettext("%(num)d already known, skipped.", "%(num)d already known, skipped.", done.duplicates)
        if done.duplicates else ""), "success")
    return redirect(url_for("products.scorecard_list"), code=303)


@bp.post("/settings/company/ratings")
@access(PERSON, roles=ADMINS)
def rating_settings_update() -> Response:
    form = request.form
    try:
        changed = scorecards.update_settings(tenancy.request_session(), _tenant(), actor(),
                                             floor=form.get("rating_floor", ""),
                                             window_days=form.get("rating_window_days", ""),
                                             min_count=form.get("rating_min_count", ""))
    except UserError as err:
        return form_error("pages/products/rating_settings.html", err, tenant=_tenant(), rating_form=True)
    flash(_("Settings saved.") if changed else _("Nothing to change."), "success")
    return redirect(url_for("company.company_settings", _anchor="rating-rule"), code=303)
