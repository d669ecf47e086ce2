"""The complaint register through the integrator API: read an entry (through its complaint, or by reference),
and a CRM's idempotent updates of its status, answer and owner, with If-Match, the life cycle and the mediator
rule answered as the register's pages would. Every answer is checked against the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.models import Channel, RegisterEntry, RegisterEvent, Role, Tenant, TokenScope
from webapp.services import register


@pytest.fixture(scope="module")
def spec() -> Iterator[dict[str, Any]]:
    from webapp import openapi
    from webapp.config import Settings

    yield openapi.document(Settings(secret_key="x"))


def _conforms(spec: dict[str, Any], schema: str, body: Any) -> Any:
    Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}).validate(body)
    return body


class Crm:
    """A CRM sending its token, no cookies."""

    def __init__(self, app: Flask, token: str) -> None:
        self.client = app.test_client(use_cookies=False)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str) -> TestResponse:
        return self.client.get(url, headers=self.headers)

    def patch(self, url: str, body: Any, *, if_match: str | None = None) -> TestResponse:
        headers = dict(self.headers)
        if if_match is not None:
            headers["If-Match"] = if_match
        return self.client.patch(url, data=body if isinstance(body, str) else json.dumps(body), headers=headers,
                                 content_type="application/json")


@pytest.fixture
def crm(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, Any]:
    """Tenant A's CRM token (register access, named "Salesforce"), its read and ingest tokens, and B's CRM."""
    with app.app_context():
        with tenancy.tenant_session(tenants["a"].id) as session:
            tenant = session.get(Tenant, tenants["a"].id)
            assert tenant is not None
            tenant.mediator_name = "Médiateur de l'assurance"
        return {"a": factories.make_api_token(tenants["a"].id, TokenScope.REGISTER, name="Salesforce"),
                "a_read": factories.make_api_token(tenants["a"].id, TokenScope.READ),
                "a_ingest": factories.make_api_token(tenants["a"].id, TokenScope.INGEST),
                "b": factories.make_api_token(tenants["b"].id, TokenScope.REGISTER)}


def _oral_entry(app: Flask, tenant_id: int, received: date = date(2025, 12, 24)) -> str:
    """An entry with no complaint (as an oral complaint's): its reference."""
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        entry = register.create_entry(session, actor=register.Actor.machine(), received_on=received,
                                      channel=Channel.PHONE, subject="Appel mécontent")
        return entry.reference


def _events(app: Flask, tenant_id: int, reference: str) -> list[tuple[str, str, str | None]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        entry = session.scalars(select(RegisterEntry).where(RegisterEntry.reference == reference)).one()
        return [(e.action, e.actor_label, e.to_status) for e in session.scalars(
            select(RegisterEvent).where(RegisterEvent.entry_id == entry.id).order_by(RegisterEvent.id))]


def test_a_complaint_reads_with_its_register_entry_and_clocks(
        app: Flask, tenants: dict[str, TenantSet], crm: dict[str, Any], spec: dict[str, Any]) -> None:
    reader = Crm(app, crm["a_read"].raw)
    created = Crm(app, crm["a_ingest"].raw).client.post(
        "/api/v1/complaints", headers={"Authorization": f"Bearer {crm['a_ingest'].raw}"},
        data=json.dumps({"text": "Ma carte est bloquée depuis Noël.", "received_at": "2025-12-24"}),
        content_type="application/json")
    assert created.status_code == 201, created.text
    item = _conforms(spec, "Complaint", created.get_json())
    entry = item["register"]
    # The example: received on Wednesday 24 December 2025, no sent date.
    assert (entry["status"], entry["acknowledge_by"], entry["answer_by"]) == ("received", "2026-01-07", "2026-02-24")
    assert (entry["answered_at"], entry["outcome"], entry["owner_email"]) == (None, None, None)
    assert entry["reference"].startswith("REC-2025-")
    read = reader.get(item["url"])
    assert read.status_code == 200 and read.get_json() == item
    by_reference = reader.get(entry["url"])
    assert by_reference.status_code == 200 and by_reference.headers["ETag"] == f'"{entry["version"]}"'
    assert _conforms(spec, "RegisterEntry", by_reference.get_json()) == entry


def test_an_oral_entry_reads_by_reference_only_in_its_company(
        app: Flask, tenants: dict[str, TenantSet], crm: dict[str, Any], spec: dict[str, Any]) -> None:
    reference = _oral_entry(app, tenants["a"].id)
    mine = Crm(app, crm["a_read"].raw).get(f"/api/v1/register/{reference.lower()}")
    assert mine.status_code == 200
    assert _conforms(spec, "RegisterEntry", mine.get_json())["reference"] == reference
    theirs = Crm(app, crm["b"].raw).get(f"/api/v1/register/{reference}")
    assert (theirs.status_code, theirs.get_json()["code"]) == (404, "not_found")


def test_a_crm_update_is_idempotent_and_named_in_the_timeline(
        app: Flask, tenants: dict[str, TenantSet], crm: dict[str, Any], spec: dict[str, Any]) -> None:
    reference = _oral_entry(app, tenants["a"].id)
    api = Crm(app, crm["a"].raw)
    url = f"/api/v1/register/{reference}"
    owner = tenants["a"].users[Role.QUALITY_MANAGER].email
    change = {"status": "acknowledged", "owner_email": owner}
    first = api.patch(url, change, if_match='"1"')
    assert first.status_code == 200, first.text
    body = _conforms(spec, "RegisterEntry", first.get_json())
    assert (body["status"], body["owner_email"]) == ("acknowledged", owner)
    assert body["acknowledged_at"] is not None and first.headers["ETag"] == f'"{body["version"]}"'
    # The same request again (a retry, its If-Match now stale): the same answer, nothing written.
    again = api.patch(url, change, if_match='"1"')
    assert (again.status_code, again.get_json(), again.headers["ETag"]) == (200, body, first.headers["ETag"])
    assert _events(app, tenants["a"].id, reference) == [
        ("created", "Écoute", "received"), ("owner", "API: Salesforce", None),
        ("status", "API: Salesforce", "acknowledged")]

    answer = {"answer": {"text": "Nous vous remboursons les frais.", "outcome": "upheld"}, "status": "closed"}
    done = api.patch(url, answer, if_match=first.headers["ETag"])
    assert done.status_code == 200, done.text
    closed = done.get_json()
    assert (closed["status"], closed["outcome"]) == ("closed", "upheld") and closed["answered_at"] is not None
    assert api.patch(url, answer).get_json() == closed
    assert [e[0] for e in _events(app, tenants["a"].id, reference)][-2:] == ["answer", "status"]
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        stored = session.scalars(select(RegisterEntry).where(RegisterEntry.reference == reference)).one()
        assert stored.answer_text == "Nous vous remboursons les frais."


def test_a_stale_if_match_is_refused_before_anything_changes(
        app: Flask, tenants: dict[str, TenantSet], crm: dict[str, Any], spec: dict[str, Any]) -> None:
    reference = _oral_entry(app, tenants["a"].id)
    api = Crm(app, crm["a"].raw)
    url = f"/api/v1/register/{reference}"
    assert api.patch(url, {"status": "acknowledged"}).status_code == 200  # someone else moved it on
    stale = api.patch(url, {"status": "investigating", "owner_email": tenants["a"].users[Role.TENANT_ADMIN].email},
                      if_match='"1"')
    assert stale.status_code == 412 and _conforms(spec, "Error", stale.get_json())["code"] == "version_mismatch"
    current = api.get(url).get_json()
    assert (current["status"], current["owner_email"]) == ("acknowledged", None)
    assert api.patch(url, {"status": "investigating"}, if_match=f'W/"{current["version"]}"').status_code == 200
    bad = api.patch(url, {"status": "investigating"}, if_match="yesterday")
    assert (bad.status_code, bad.get_json()["code"]) == (422, "if_match_invalid")


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"status": "closed"}, "transition_refused", "cannot become"),
    ({"status": "answered"}, "transition_refused", "Write the answer"),
    ({"answer": {"text": "Nous refusons.", "outcome": "rejected"}}, "mediator_missing", "Médiateur de l'assurance"),
    ({"answer": {"text": "Nous refusons.", "outcome": "maybe"}}, "invalid_field", "answer"),
    ({"owner_email": "nobody@example.test"}, "owner_invalid", "nobody@example.test"),
    ({"owner_email": "staff@a.test"}, "owner_invalid", "staff@a.test"),  # staff do not own entries
    ({"colour": "red"}, "unknown_field", "colour"),
    ({"status": 3}, "invalid_field", "status"),
    ([], "invalid_body", "JSON object"),
])
def test_refusals_say_why_and_change_nothing(app: Flask, tenants: dict[str, TenantSet], crm: dict[str, Any],
                                             spec: dict[str, Any], change: Any, code: str, words: str) -> None:
    reference = _oral_entry(app, tenants["a"].id)
    api = Crm(app, crm["a"].raw)
    refused = api.patch(f"/api/v1/register/{reference}", change)
    assert refused.status_code == 422, refused.text
    body = _conforms(spec, "Error", refused.get_json())
    assert body["code"] == code and words in body["message"], body
    assert api.get(f"/api/v1/register/{reference}").get_json()["version"] == 1
    assert len(_events(app, tenants["a"].id, reference)) == 1


def test_a_rejection_naming_the_mediator_is_recorded(app: Flask, tenants: dict[str, TenantSet],
                                                     crm: dict[str, Any]) -> None:
    reference = _oral_entry(app, tenants["a"].id)
    answer = {"answer": {"text": "Nous maintenons notre position. Vous pouvez saisir le médiateur de l’assurance.",
                         "outcome": "rejected"}}
    done = Crm(app, crm["a"].raw).patch(f"/api/v1/register/{reference}", answer)
    assert done.status_code == 200, done.text
    assert (done.get_json()["status"], done.get_json()["outcome"]) == ("answered", "rejected")


def test_only_a_register_token_may_update(app: Flask, tenants: dict[str, TenantSet], crm: dict[str, Any],
                                          spec: dict[str, Any]) -> None:
    reference = _oral_entry(app, tenants["a"].id)
    for token in (crm["a_read"], crm["a_ingest"]):
        refused = Crm(app, token.raw).patch(f"/api/v1/register/{reference}", {"status": "acknowledged"})
        assert refused.status_code == 403 and refused.get_json()["code"] == "insufficient_scope"
    theirs = Crm(app, crm["b"].raw).patch(f"/api/v1/register/{reference}", {"status": "acknowledged"})
    assert theirs.status_code == 404
    wrong_type = Crm(app, crm["a"].raw).client.patch(
        f"/api/v1/register/{reference}", data="status=closed", headers={"Authorization": f"Bearer {crm['a'].raw}"},
        content_type="application/x-www-form-urlencoded")
    assert wrong_type.status_code == 415
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert session.scalar(select(func.max(RegisterEntry.version))) == 1


def test_the_register_scope_is_offered_on_the_token_page(app: Flask, tenants: dict[str, TenantSet]) -> None:
    admin = Client(app.test_client())
    admin.login(tenants["a"].users[Role.TENANT_ADMIN].email)
    page = admin.get("/settings/api-tokens")
    assert page.status_code == 200 and 'value="register"' in page.text
