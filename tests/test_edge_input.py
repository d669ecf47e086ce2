"""Input at the edges of what Python and the database can hold: each is refused with a reason (4xx), never a 500.

Found by probing a running instance: a date in year 1 with a +14:00 offset, a date filter on 31 December
9999, a page number of 10^23 and a JSON body nested 5,000 deep each crashed a request.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.models import Call, Complaint, Role, TokenScope

YEAR_ONE = "0001-01-01T00:00:00+14:00"


def _count(app: Flask, tenant_id: int, model: type[Call] | type[Complaint]) -> int:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def token(app: Flask, tenants: dict[str, TenantSet]) -> str:
    with app.app_context():
        return factories.make_api_token(tenants["a"].id, TokenScope.INGEST).raw


def _api(app: Flask, token: str) -> tuple[object, dict[str, str]]:
    return app.test_client(use_cookies=False), {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def test_a_date_before_year_one_in_utc_is_refused_by_the_api(app: Flask, token: str, tenants: dict[str, TenantSet],
                                                            audio: dict[str, Path]) -> None:
    client, headers = _api(app, token)
    complaint = client.post("/api/v1/complaints", headers=headers,  # type: ignore[attr-defined]
                            json={"text": "Trop tôt", "received_at": YEAR_ONE})
    assert complaint.status_code == 422, complaint.text
    assert complaint.get_json()["code"] == "date_out_of_range"
    assert "0001-01-01" in complaint.get_json()["message"]
    call = client.post("/api/v1/calls", headers=headers, content_type="multipart/form-data",  # type: ignore[attr-defined]
                       data={"metadata": json.dumps({"received_at": YEAR_ONE}),
                             "audio": (io.BytesIO(audio["call.wav"].read_bytes()), "call.wav")})
    assert call.status_code == 422 and call.get_json()["code"] == "date_out_of_range", call.text
    # The control: the same requests with an ordinary date are stored.
    ok = client.post("/api/v1/complaints", headers=headers,  # type: ignore[attr-defined]
                     json={"text": "Trop tôt", "received_at": "2026-01-01T00:00:00+14:00"})
    assert ok.status_code == 201, ok.text
    assert _count(app, tenants["a"].id, Complaint) == 1 and _count(app, tenants["a"].id, Call) == 0


def test_a_date_before_year_one_in_utc_is_refused_by_the_forms(login_as, app: Flask, audio: dict[str, Path],
                                                              tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    typed = qm.post("/complaints", {"text": "Trop tôt", "received_at": YEAR_ONE})
    assert typed.status_code == 422 and "0001-01-01" in typed.text, typed.text
    upload = qm.post_multipart("/calls/upload", {"csrf_token": qm.csrf_token(), "received_at": YEAR_ONE,
                                                 "file": (io.BytesIO(audio["call.wav"].read_bytes()), "call.wav")})
    assert upload.status_code == 422 and "0001-01-01" in upload.text, upload.text
    assert _count(app, tenants["a"].id, Complaint) == 0 and _count(app, tenants["a"].id, Call) == 0


def test_one_bad_date_in_a_csv_is_reported_on_its_row(login_as, app: Flask, tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    csv_text = (f"text,received_at\nPremière,2026-11-01\nDeuxième,{YEAR_ONE}\nTroisième,9999-12-31T23:59:59-12:00\n"
                "Quatrième,2026-11-04\n")
    data = {"csrf_token": qm.csrf_token(), "csv": (io.BytesIO(csv_text.encode()), "plaintes.csv")}
    report = qm.raw.post("/complaints/import", data=data, content_type="multipart/form-data")
    assert report.status_code == 200, report.text
    assert "2 complaints imported." in report.text
    assert "Row 3: The date “0001-01-01T00:00:00+14:00” is out of range" in report.text
    assert "Row 4: " in report.text
    assert _count(app, tenants["a"].id, Complaint) == 2


@pytest.mark.parametrize("query", ["date_to=9999-12-31", "date_from=0001-01-01&date_to=9999-12-31",
                                   "date_from=9999-12-31"])
def test_date_filters_at_the_end_of_the_calendar_are_refused_with_a_reason(login_as, query: str) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    for area in ("calls", "clips", "complaints"):
        response = qm.get(f"/{area}?{query}")
        assert response.status_code == 400, (area, response.status_code)
        assert "out of range" in response.text, response.text
    assert qm.get("/calls?date_to=2026-12-31").status_code == 200  # the control


@pytest.mark.parametrize("query", ["q=a%00b", "q=%00", "product=%00", "q=d%C3%A9%00%C3%A7u&product=x%00"])
def test_a_nul_typed_in_a_search_finds_nothing_rather_than_failing(app: Flask, login_as,
                                                                   tenants: dict[str, TenantSet], query: str) -> None:
    """PostgreSQL refuses a NUL character in a text parameter: the search drops it, as it drops extra spaces."""
    with app.app_context():
        factories.make_complaint(tenants["a"].id, text="Très déçu")
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    for area in ("calls", "complaints", "clips"):
        response = qm.get(f"/{area}?{query}")
        assert response.status_code == 200, (area, response.status_code)
    assert 'href="/complaints/' in qm.get("/complaints?q=d%C3%A9%00%C3%A7u").text


@pytest.mark.parametrize("page", ["1e23", "100000000000000000000000", "-5", "0", "10001", "abc", "1.5"])
def test_page_numbers_out_of_range_are_refused_with_a_reason(login_as, page: str) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    for area in ("calls", "clips", "complaints"):
        response = qm.get(f"/{area}?page={page}")
        assert response.status_code == 400, (area, page, response.status_code)
        assert "page number" in response.text, response.text
    assert qm.get("/complaints?page=2").status_code == 200  # the control: an empty page, not an error


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_json_nested_deep_is_refused_as_invalid(app: Flask, token: str, tenants: dict[str, TenantSet],
                                                audio: dict[str, Path], depth: int) -> None:
    client, headers = _api(app, token)
    deep = "[" * depth + "]" * depth
    complaint = client.post("/api/v1/complaints", headers=headers,  # type: ignore[attr-defined]
                            data='{"text": "x", "agent": ' + deep + "}", content_type="application/json")
    assert complaint.status_code == 400, complaint.text
    assert complaint.get_json()["code"] == "invalid_json"
    call = client.post("/api/v1/calls", headers=headers, content_type="multipart/form-data",  # type: ignore[attr-defined]
                       data={"metadata": '{"agent": ' + deep + "}",
                             "audio": (io.BytesIO(audio["call.wav"].read_bytes()), "call.wav")})
    assert call.status_code == 400 and call.get_json()["code"] == "invalid_json", call.text
    assert _count(app, tenants["a"].id, Complaint) == 0 and _count(app, tenants["a"].id, Call) == 0


def test_text_a_database_cannot_store_is_cleaned_not_a_500(app: Flask, token: str,
                                                         tenants: dict[str, TenantSet]) -> None:
    """JSON may carry a NUL (PostgreSQL refuses it in text) or half of a surrogate pair (no encoding takes it)."""
    client, headers = _api(app, token)
    body = ('{"text": "Colis \\u0000abîmé \\ud800 ou \\udfff", "product": "Four\\u0000X \\ud83d", '
            '"external_id": "\\udc00x"}')
    created = client.post("/api/v1/complaints", headers=headers, data=body,  # type: ignore[attr-defined]
                          content_type="application/json")
    assert created.status_code == 201, created.text
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        stored = session.scalars(select(Complaint)).one()
        assert (stored.text, stored.product, stored.external_id) == (
            "Colis abîmé \ufffd ou \ufffd", "FourX \ufffd", "\ufffdx")
    again = client.post("/api/v1/complaints", headers=headers, data=body,  # type: ignore[attr-defined]
                        content_type="application/json")
    assert again.status_code == 200 and again.get_json()["id"] == created.get_json()["id"]


def test_kiosk_heartbeat_nested_deep_is_not_a_500(client: Client) -> None:
    deep = "[" * 5_000 + "]" * 5_000
    response = client.raw.post("/kiosk/heartbeat", data=deep, content_type="application/json")
    assert response.status_code < 500, response.text


HUGE = "100000000000000000000000"  # 10^23: past what PostgreSQL (32-bit ids) and SQLite (64 bits) can compare


def test_ids_too_large_for_the_database_are_missing_like_any_other(app: Flask, login_as,
                                                                   tenants: dict[str, TenantSet]) -> None:
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    for area in ("calls", "complaints", "clips", "playlists"):
        huge, missing = qm.get(f"/{area}/{HUGE}"), qm.get(f"/{area}/987654")
        assert (huge.status_code, missing.status_code) == (404, 404), area
        assert _page(huge.text.replace(HUGE, "987654")) == _page(missing.text)  # but for the address it names
    for number in (2**31 - 1, 2**31, 2**63 - 1, 2**63):  # around the largest ids of PostgreSQL, then SQLite
        assert qm.get(f"/calls/{number}").status_code == 404, number
    with app.app_context():
        call_id = factories.make_ready_call(tenants["a"].id)
        clip_id = factories.make_clip(tenants["a"].id, call_id)
        playlist_id = factories.make_playlist(tenants["a"].id)
    added = qm.post(f"/clips/{clip_id}/playlists", {"playlist_id": HUGE})
    assert added.status_code == 422, added.text  # as for any other id that is no playlist's
    listed = qm.post(f"/playlists/{playlist_id}/clips", {"clip_id": HUGE})
    assert 400 <= listed.status_code < 500, listed.text
    api = _api(app, _read_token(app, tenants))
    assert api[0].get(f"/api/v1/calls/{HUGE}", headers=api[1]).status_code == 404  # type: ignore[attr-defined]


def _page(html: str) -> str:
    """A page without its CSRF tokens, which carry the second they were made."""
    return re.sub(r'(name="csrf_token" value="|"X-CSRFToken": ")[^"]+', r"\1", html)


def _read_token(app: Flask, tenants: dict[str, TenantSet]) -> str:
    with app.app_context():
        return factories.make_api_token(tenants["a"].id, TokenScope.READ).raw
