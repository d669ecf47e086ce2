"""Alerts (issue #15, item 4): the alerts the company's rules raised, the rules themselves, and each
person's choice of digest e-mail.

Tenant admins and quality managers read alerts and set rules; the figures and words come from
webapp/services/alerts.py, and every alert links to the calls and complaints behind it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _, current_locale
from webapp.models import AlertRule
from webapp.services import alerts
from webapp.views.helpers import actor, form_error, me, render
from webapp.views.listing import ListView

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
READERS = alerts.READERS
ALERT_LIST = ListView(alerts.AlertFilters, alerts.list_alerts, endpoint="alerts.alert_list", area="alerts",
                      item="alert")


@bp.get("")
@access(PERSON, roles=READERS)
def alert_list() -> Response:
    alerts.mark_seen(me())
    g.alerts_seen = True  # on this page the menu counts nothing new
    return ALERT_LIST.respond()


@bp.app_context_processor
def _menu() -> dict[str, Any]:
    return {"menu_counts": _menu_counts}


def _menu_counts() -> dict[str, int]:
    """What the menu counts beside its entries (base.html): the alerts raised since the person last
    opened them. A count never stops a page from being drawn: a failing query shows none."""
    if not current_user.is_authenticated or current_user.role not in READERS or g.get("alerts_seen"):
        return {}
    try:  # the logged-in person as loaded for the request: one query, the count
        return {"alerts.alert_list": alerts.unseen_count(tenancy.request_session(), current_user)}
    except SQLAlchemyError:
        return {}


def _rules_context(**extra: Any) -> dict[str, Any]:
    session = tenancy.request_session()
    names = alerts.label_names(session, current_locale())
    rules = [(rule, alerts.value_label(rule, names)) for rule in alerts.list_rules(session)]
    return {"rules": rules, "kind_labels": alerts.KIND_LABELS, **alerts.choices(session, current_locale()), **extra}


@bp.get("/rules")
@access(PERSON, roles=READERS)
def rule_list() -> Response:
    return render("pages/alerts/rules.html", form={}, **_rules_context())


@bp.post("/rules")
@access(PERSON, roles=READERS)
def rule_create() -> Response:
    try:
        rule = alerts.create_rule(tenancy.request_session(), actor(), alerts.RuleDraft.from_form(request.form))
    except UserError as err:
        return form_error("pages/alerts/rules.html", err, **_rules_context())
    flash(_("Rule “%(name)s” saved: it is judged every night on its last complete window.", name=rule.name),
          "success")
    return redirect(url_for("alerts.rule_list"), code=303)


def _edit_context(rule: AlertRule) -> dict[str, Any]:
    return {"rule": rule, **alerts.choices(tenancy.request_session(), current_locale())}


@bp.get("/rules/<int:rule_id>")
@access(PERSON, roles=READERS)
def rule_edit(rule_id: int) -> Response:
    rule = alerts.get_rule(tenancy.request_session(), rule_id)
    return render("pages/alerts/edit.html", form=alerts.rule_form(rule), **_edit_context(rule))


@bp.post("/rules/<int:rule_id>")
@access(PERSON, roles=READERS)
def rule_update(rule_id: int) -> Response:
    session = tenancy.request_session()
    rule = alerts.get_rule(session, rule_id)
    try:
        alerts.update_rule(session, actor(), rule, alerts.RuleDraft.from_form(request.form))
    except UserError as err:
        return form_error("pages/alerts/edit.html", err, **_edit_context(rule))
    flash(_("Rule “%(name)s” saved.", name=rule.name), "success")
    return redirect(url_for("alerts.rule_list"), code=303)


@bp.post("/rules/<int:rule_id>/active")
@access(PERSON, roles=READERS)
def rule_toggle(rule_id: int) -> Response:
    """Switch a rule off (``active=0``) or on again (``active=1``)."""
    session = tenancy.request_session()
    rule = alerts.get_rule(session, rule_id)
    alerts.set_active(session, actor(), rule, request.form.get("active") == "1")
    flash(_("Rule “%(name)s” is on.", name=rule.name) if rule.active else
          _("Rule “%(name)s” is off: it raises no more alerts.", name=rule.name), "success")
    return redirect(url_for("alerts.rule_list"), code=303)


@bp.post("/rules/<int:rule_id>/delete")
@access(PERSON, roles=READERS)
def rule_delete(rule_id: int) -> Response:
    """Remove a rule; the alerts it raised stay listed."""
    session = tenancy.request_session()
    rule = alerts.get_rule(session, rule_id)
    name = rule.name
    alerts.delete_rule(session, actor(), rule)
    flash(_("Rule “%(name)s” deleted. The alerts it raised stay listed.", name=name), "success")
    return redirect(url_for("alerts.rule_list"), code=303)


@bp.post("/digest")
@access(PERSON, roles=READERS)
def digest_set() -> Response:
    """A person chooses how often they get the alerts digest (on their account page)."""
    try:
        alerts.set_digest(me(), request.form.get("digest", ""))
    except UserError as err:
        flash(str(err.message), "error")
        return redirect(url_for("auth.account"), code=303)
    flash(_("Saved: your alerts digest settings have changed."), "success")
    return redirect(url_for("auth.account"), code=303)
