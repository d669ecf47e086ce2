"""The integrator API: calls and complaints pushed with an API token, read back, refused clearly.

Every JSON answer is checked against the OpenAPI document the app serves, so the document
cannot drift from what the API really says.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, TestResponse

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import access, jobs, tenancy
from webapp.context import PrincipalKind
from webapp.db import utcnow
from webapp.models import ApiToken, Call, CallStatus, Complaint, Role, Source, Tenant, TokenScope

MISSING_ID = 987654


@pytest.fixture
def tokens(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, factories.TokenRef]:
    with app.app_context():
        return {"a": factories.make_api_token(tenants["a"].id, TokenScope.INGEST),
                "a_read": factories.make_api_token(tenants["a"].id, TokenScope.READ),
                "b": factories.make_api_token(tenants["b"].id, TokenScope.INGEST)}


@pytest.fixture(scope="module")
def spec() -> Iterator[dict[str, Any]]:
    from webapp import openapi
    from webapp.config import Settings

    yield openapi.document(Settings(secret_key="x"))


def _conforms(spec: dict[str, Any], schema: str, body: Any) -> Any:
    """Check an answer against a schema of the OpenAPI document; return it."""
    Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": spec["components"]}).validate(body)
    return body


class Api:
    """An integrator's system: sends its token, no cookies, no CSRF token."""

    def __init__(self, app: Flask, token: str | None, language: str | None = None) -> None:
        self.client = app.test_client(use_cookies=False)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if language:
            self.headers["Accept-Language"] = language

    def send_call(self, recording: Path | None, metadata: dict[str, Any] | str | None = None,
                  **parts: Any) -> TestResponse:
        data: dict[str, Any] = dict(parts)
        if recording is not None:
            data["audio"] = (io.BytesIO(recording.read_bytes()), recording.name)
        if metadata is not None:
            data["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
        return self.client.post("/api/v1/calls", data=data, headers=self.headers, content_type="multipart/form-data")

    def send_complaint(self, body: dict[str, Any] | str) -> TestResponse:
        raw = body if isinstance(body, str) else json.dumps(body)
        return self.client.post("/api/v1/complaints", data=raw, headers=self.headers,
                                content_type="application/json")

    def get(self, url: str) -> TestResponse:
        return self.client.get(url, headers=self.headers)


def _count(app: Flask, tenant_id: int, model: type[Any]) -> int:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _error(spec: dict[str, Any], response: TestResponse, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    body = _conforms(spec, "Error", response.get_json())
    assert body["code"] == code, body
    message: str = body["message"]
    return message


# --- calls -----------------------------------------------------------------------------------


def test_call_is_stored_queued_and_read_back(app: Flask, tokens: dict[str, factories.TokenRef],
                                             tenants: dict[str, TenantSet], audio: dict[str, Path],
                                             spec: dict[str, Any]) -> None:
    api = Api(app, tokens["a"].raw)
    meta = {"received_at": "2026-03-02T09:30:00+01:00", "channel": "store", "agent": "Léa", "product": "Four X200",
            "customer_ref": "CRM-42", "consent": True, "language": "fr", "external_id": "tel-0001", "bulk": True}
    created = api.send_call(audio["call.wav"], meta)
    assert created.status_code == 201, created.text
    body = _conforms(spec, "Call", created.get_json())
    assert created.headers["Location"] == body["url"] == f"/api/v1/calls/{body['id']}"
    assert (body["status"], body["channel"], body["consent"], body["language"], body["external_id"]) == (
        "queued", "store", "yes", "fr", "tel-0001")
    assert (body["agent"], body["product"], body["customer_ref"], body["source"]) == (
        "Léa", "Four X200", "CRM-42", "api")
    assert body["received_at"] == "2026-03-02T08:30:00+00:00"
    assert body["audio"]["sha256"] == hashlib.sha256(audio["call.wav"].read_bytes()).hexdigest()
    assert body["audio"]["filename"] == "call.wav" and abs(body["audio"]["duration_seconds"] - 3.0) < 0.1

    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        call = session.get_one(Call, body["id"])
        assert (call.source, call.api_token_id, call.status) == (Source.API, tokens["a"].id, CallStatus.QUEUED)
        job = session.scalars(select(jobs.Job)).one()
        assert job.payload == {"call_id": call.id} and job.priority == jobs.PRIORITY_BULK
        token = session.get_one(ApiToken, tokens["a"].id)
        assert token.last_used_at is not None and (utcnow() - token.last_used_at).total_seconds() < 60

    read = Api(app, tokens["a_read"].raw).get(body["url"])
    assert read.status_code == 200 and read.get_json() == body


def test_retry_with_the_same_external_id_returns_the_same_call(app: Flask, tokens: dict[str, factories.TokenRef],
                                                               tenants: dict[str, TenantSet],
                                                               audio: dict[str, Path], spec: dict[str, Any]) -> None:
    api = Api(app, tokens["a"].raw)
    first = api.send_call(audio["call.wav"], {"external_id": "tel-7"})
    assert first.status_code == 201
    again = api.send_call(audio["call.wav"], {"external_id": "tel-7"})
    assert again.status_code == 200, again.text
    assert _conforms(spec, "Call", again.get_json()) == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    same_audio = api.send_call(audio["call.wav"], {})  # no external id, but the very same recording
    assert same_audio.status_code == 200 and same_audio.get_json()["id"] == first.get_json()["id"]
    assert _count(app, tenants["a"].id, Call) == 1
    assert _count(app, tenants["a"].id, jobs.Job) == 1


def test_an_external_id_sent_again_with_other_audio_is_a_conflict(app: Flask, tokens: dict[str, factories.TokenRef],
                                                                  tenants: dict[str, TenantSet],
                                                                  audio: dict[str, Path], spec: dict[str, Any]) -> None:
    """An idempotency key reused for other content is a mistake of the sender: said, never answered with the old one."""
    api = Api(app, tokens["a"].raw)
    first = api.send_call(audio["call.wav"], {"external_id": "tel-8"})
    assert first.status_code == 201, first.text
    other = api.send_call(audio["call.mp3"], {"external_id": "tel-8"})
    message = _error(spec, other, 409, "idempotency_conflict")
    assert "tel-8" in message and f"#{first.get_json()['id']}" in message
    assert "different recording" in message
    same = api.send_call(audio["call.wav"], {"external_id": "tel-8"})  # the control: a true retry
    assert same.status_code == 200 and same.get_json() == first.get_json()
    french = Api(app, tokens["a"].raw, language="fr").send_call(audio["call.mp3"], {"external_id": "tel-8"})
    assert "tel-8" in _error(spec, french, 409, "idempotency_conflict")
    assert _count(app, tenants["a"].id, Call) == 1 and _count(app, tenants["a"].id, jobs.Job) == 1
    root = Path(app.config["ECOUTE"].storage_url.removeprefix("file://")) / "tenants" / str(tenants["a"].id)
    assert len([p for p in root.rglob("*") if p.is_file()]) == 1  # the refused recording was not kept


def test_an_external_id_sent_again_with_other_text_is_a_conflict(app: Flask, tokens: dict[str, factories.TokenRef],
                                                                 tenants: dict[str, TenantSet],
                                                                 spec: dict[str, Any]) -> None:
    api = Api(app, tokens["a"].raw)
    body = {"text": "Le four a lâché au bout d'une semaine.", "external_id": "crm-12"}
    first = api.send_complaint(body)
    assert first.status_code == 201, first.text
    message = _error(spec, api.send_complaint({**body, "text": "Une tout autre réclamation."}), 409,
                     "idempotency_conflict")
    assert "crm-12" in message and "different text" in message
    # The same text with other spacing around it is the same complaint: a retry.
    again = api.send_complaint({**body, "text": "  " + body["text"] + "\n"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert _count(app, tenants["a"].id, Complaint) == 1


def test_openapi_documents_the_idempotency_conflict(spec: dict[str, Any]) -> None:
    for path in ("/api/v1/calls", "/api/v1/complaints"):
        conflict = spec["paths"][path]["post"]["responses"]["409"]
        assert conflict["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "idempotency_conflict" in spec["components"]["schemas"]["Error"]["properties"]["code"]["description"]


def test_metadata_may_be_a_file_part_or_left_out(app: Flask, tokens: dict[str, factories.TokenRef],
                                                 audio: dict[str, Path], spec: dict[str, Any]) -> None:
    api = Api(app, tokens["a"].raw)
    as_file = (io.BytesIO(json.dumps({"product": "Lave-linge"}).encode()), "meta.json", "application/json")
    with_file = api.client.post("/api/v1/calls", headers=api.headers, content_type="multipart/form-data",
                                data={"audio": (io.BytesIO(audio["call.flac"].read_bytes()), "c.flac"),
                                      "metadata": as_file})
    assert with_file.status_code == 201, with_file.text
    assert with_file.get_json()["product"] == "Lave-linge"
    bare = _conforms(spec, "Call", api.send_call(audio["call.ogg"]).get_json())
    assert (bare["channel"], bare["consent"], bare["language"], bare["external_id"]) == (
        "phone", "unknown", "auto", None)


@pytest.mark.parametrize(("name", "code", "reason"), [
    ("empty.wav", "audio_empty", "This file is empty."),
    ("text.mp3", "audio_unreadable", "be read as audio"),
    ("image.wav", "audio_no_audio", "holds no sound"),
    ("truncated.wav", "audio_truncated", "cut off"),
])
def test_corrupt_audio_is_refused_with_the_reason(app: Flask, tokens: dict[str, factories.TokenRef],
                                                  tenants: dict[str, TenantSet], audio: dict[str, Path],
                                                  spec: dict[str, Any], name: str, code: str, reason: str) -> None:
    message = _error(spec, Api(app, tokens["a"].raw).send_call(audio[name], {"external_id": "x1"}), 422, code)
    assert reason in message  # the ingestion service's own words
    assert _count(app, tenants["a"].id, Call) == 0
    root = Path(app.config["ECOUTE"].storage_url.removeprefix("file://")) / "tenants" / str(tenants["a"].id)
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]


def test_request_errors_are_json_with_stable_codes(app: Flask, tokens: dict[str, factories.TokenRef],
                                                   tenants: dict[str, TenantSet], audio: dict[str, Path],
                                                   spec: dict[str, Any]) -> None:
    api = Api(app, tokens["a"].raw)
    assert "multipart/form-data" in _error(spec, api.client.post(
        "/api/v1/calls", json={"external_id": "1"}, headers=api.headers), 415, "unsupported_media_type")
    assert "application/json" in _error(spec, api.client.post(
        "/api/v1/complaints", data={"text": "Hello"}, headers=api.headers), 415, "unsupported_media_type")
    _error(spec, api.send_call(audio["call.wav"], "{not json"), 400, "invalid_json")
    _error(spec, api.send_call(audio["call.wav"], '["a list"]'), 400, "invalid_json")
    _error(spec, api.send_complaint("{\"text\": "), 400, "invalid_json")
    _error(spec, api.send_complaint("[]"), 400, "invalid_json")
    assert "“recieved_at”" in _error(spec, api.send_call(audio["call.wav"], {"recieved_at": "2026-01-01"}),
                                     422, "unknown_field")
    assert "“agent”" in _error(spec, api.send_call(audio["call.wav"], {"agent": 12}), 422, "invalid_field")
    _error(spec, api.send_call(audio["call.wav"], {"bulk": "yes"}), 422, "invalid_field")
    _error(spec, api.send_call(audio["call.wav"], {"channel": "fax"}), 422, "channel_invalid")
    _error(spec, api.send_call(audio["call.wav"], {"received_at": "2999-01-01"}), 422, "date_future")
    assert "“audio”" in _error(spec, api.send_call(None, {"product": "X"}), 422, "file_missing")
    _error(spec, api.send_call(None, {}, audio="not a file part"), 422, "file_missing")
    _error(spec, api.send_complaint({"text": "  "}), 422, "text_missing")
    _error(spec, api.send_complaint({"text": ["a"]}), 422, "invalid_field")
    _error(spec, api.client.get("/api/v1/calls", headers=api.headers), 405, "method_not_allowed")
    _error(spec, api.get("/api/v1/nothing-here"), 404, "not_found")
    assert _count(app, tenants["a"].id, Call) == 0 and _count(app, tenants["a"].id, Complaint) == 0


def test_no_transaction_is_open_while_the_recording_streams_in(app: Flask, tokens: dict[str, factories.TokenRef],
                                                               audio: dict[str, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The token lookup ends its transaction: on SQLite a POST's transaction holds the write lock."""
    from webapp import storage
    from webapp.context import current_context

    seen: list[bool] = []
    write = storage.LocalStorage.write

    def watched(self: storage.LocalStorage, *args: Any, **kwargs: Any) -> storage.WriteResult:
        session = current_context().session
        assert session is not None  # opened bound to the token's tenant
        seen.append(session.in_transaction())
        return write(self, *args, **kwargs)

    monkeypatch.setattr(storage.LocalStorage, "write", watched)
    assert Api(app, tokens["a"].raw).send_call(audio["call.wav"], {"external_id": "t-1"}).status_code == 201
    assert seen == [False]


def test_oversized_upload_answers_413_in_json(make_app, tokens: dict[str, factories.TokenRef],
                                              tenants: dict[str, TenantSet], audio: dict[str, Path],
                                              spec: dict[str, Any], app: Flask) -> None:
    small = make_app(max_upload_mb=1)
    big = audio["call.wav"].parent / "api-big.wav"
    if not big.exists():
        from tests.audio import tone

        tone(big, seconds=70)  # ~2.2 MB
    # Built by hand: werkzeug's test client leaves its body spool unclosed when the app stops reading.
    builder = EnvironBuilder(path="/api/v1/calls", method="POST", content_type="multipart/form-data",
                             headers={"Authorization": f"Bearer {tokens['a'].raw}"},
                             data={"metadata": "{}", "audio": (big.open("rb"), big.name)})
    environ = builder.get_environ()
    try:
        response = small.test_client().open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    assert "too large" in _error(spec, response, 413, "too_large")
    assert _count(app, tenants["a"].id, Call) == 0


# --- complaints ---------------------------------------------------------------------------------


def test_complaint_is_stored_and_retries_are_idempotent(app: Flask, tokens: dict[str, factories.TokenRef],
                                                        tenants: dict[str, TenantSet], spec: dict[str, Any]) -> None:
    api = Api(app, tokens["a"].raw)
    body = {"text": "Le four a lâché au bout d'une semaine.", "received_at": "2026-02-01", "product": "Four X200",
            "customer_ref": "CRM-9", "consent": "no", "language": "fr", "external_id": 4711}
    created = api.send_complaint(body)
    assert created.status_code == 201, created.text
    item = _conforms(spec, "Complaint", created.get_json())
    assert (item["text"], item["channel"], item["external_id"], item["consent"], item["received_at"]) == (
        body["text"], "email", "4711", "no", "2026-02-01T00:00:00+00:00")
    assert created.headers["Location"] == item["url"]
    retry = api.send_complaint(body)
    assert retry.status_code == 200 and retry.get_json() == item
    assert _count(app, tenants["a"].id, Complaint) == 1
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        stored = session.get_one(Complaint, item["id"])
        assert (stored.source, stored.api_token_id) == (Source.API, tokens["a"].id)
    read = Api(app, tokens["a_read"].raw).get(item["url"])
    assert read.status_code == 200 and read.get_json() == item


# --- tokens, scopes, tenants ---------------------------------------------------------------------


def test_read_token_may_read_but_not_send(app: Flask, tokens: dict[str, factories.TokenRef],
                                          tenants: dict[str, TenantSet], audio: dict[str, Path],
                                          spec: dict[str, Any]) -> None:
    reader = Api(app, tokens["a_read"].raw)
    for response in (reader.send_call(audio["call.wav"], {}), reader.send_complaint({"text": "Hi"})):
        _error(spec, response, 403, "insufficient_scope")
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="ecoute", error="insufficient_scope", scope="ingest"')
    assert _count(app, tenants["a"].id, Call) == 0 and _count(app, tenants["a"].id, Complaint) == 0
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
    assert reader.get(f"/api/v1/calls/{call_id}").status_code == 200


def _revoke(app: Flask, tenant_id: int, token_id: int) -> None:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        session.get_one(ApiToken, token_id).revoked_at = utcnow()


def _suspend(app: Flask, tenant_id: int) -> None:
    with app.app_context(), tenancy.all_tenants_session() as session:
        session.get_one(Tenant, tenant_id).suspended_at = utcnow()


def test_every_bad_token_gets_the_same_401(app: Flask, tokens: dict[str, factories.TokenRef],
                                           tenants: dict[str, TenantSet], login_as, spec: dict[str, Any]) -> None:
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
        revoked = factories.make_api_token(tenants["a"].id)
        suspended = factories.make_api_token(tenants["b"].id)
    _revoke(app, tenants["a"].id, revoked.id)
    _suspend(app, tenants["b"].id)
    good = tokens["a"].raw
    secret = good.split("_", 2)[2]
    url = f"/api/v1/calls/{call_id}"
    cases = {
        "no header": {},
        "wrong scheme": {"Authorization": f"Token {good}"},
        "malformed": {"Authorization": "Bearer ect_abc"},
        "unknown": {"Authorization": f"Bearer ect_{tenants['a'].id}_{'x' * 43}"},
        "another tenant's id on a good secret": {"Authorization": f"Bearer ect_{tenants['b'].id}_{secret}"},
        "no such tenant": {"Authorization": f"Bearer ect_{MISSING_ID}_{secret}"},
        "revoked": {"Authorization": f"Bearer {revoked.raw}"},
        "suspended company": {"Authorization": f"Bearer {suspended.raw}"},
    }
    answers = {}
    for label, headers in cases.items():
        response = app.test_client().get(url, headers=headers)
        _error(spec, response, 401, "unauthorized")
        answers[label] = (response.text, response.headers["WWW-Authenticate"])
    # A logged-in person's cookie opens nothing under /api (and the API takes no CSRF token).
    session_user = login_as("a", Role.TENANT_ADMIN).get(url)
    answers["login cookie"] = (session_user.text, session_user.headers["WWW-Authenticate"])
    assert set(answers.values()) == {(answers["no header"][0], 'Bearer realm="ecoute"')}, answers
    assert Api(app, good).get(url).status_code == 200  # the control: the same request with the good token
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        assert session.get_one(ApiToken, revoked.id).last_used_at is None


def test_tenant_b_cannot_read_tenant_a_items(app: Flask, tokens: dict[str, factories.TokenRef],
                                             tenants: dict[str, TenantSet], spec: dict[str, Any]) -> None:
    with app.app_context():
        ids = {"calls": factories.make_call(tenants["a"].id), "complaints": factories.make_complaint(tenants["a"].id)}
    intruder = Api(app, tokens["b"].raw)
    for area, item_id in ids.items():
        theirs, missing = intruder.get(f"/api/v1/{area}/{item_id}"), intruder.get(f"/api/v1/{area}/{MISSING_ID}")
        _error(spec, theirs, 404, "not_found")
        assert (theirs.status_code, theirs.text) == (missing.status_code, missing.text)
        assert Api(app, tokens["a"].raw).get(f"/api/v1/{area}/{item_id}").status_code == 200


def test_same_external_id_in_two_tenants_makes_two_items(app: Flask, tokens: dict[str, factories.TokenRef],
                                                         tenants: dict[str, TenantSet]) -> None:
    a = Api(app, tokens["a"].raw).send_complaint({"text": "A", "external_id": "crm-1"})
    b = Api(app, tokens["b"].raw).send_complaint({"text": "B", "external_id": "crm-1"})
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.get_json()["id"] != b.get_json()["id"] and b.get_json()["text"] == "B"


# --- language ---------------------------------------------------------------------------------------


def test_messages_are_english_unless_french_is_asked(app: Flask, tokens: dict[str, factories.TokenRef],
                                                     spec: dict[str, Any]) -> None:
    # Company A speaks French and the deployment's default is French: the API still answers English.
    english = _error(spec, Api(app, tokens["a"].raw).send_complaint({"text": ""}), 422, "text_missing")
    assert english == "Enter the text of the complaint."
    french = _error(spec, Api(app, tokens["a"].raw, language="fr-FR,fr;q=0.9").send_complaint({"text": ""}),
                    422, "text_missing")
    assert french == "Saisissez le texte de la réclamation."
    unauthorized = _error(spec, Api(app, None, language="fr").get("/api/v1/calls/1"), 401, "unauthorized")
    assert unauthorized.startswith("Cette requête")
    scope = _error(spec, Api(app, tokens["a_read"].raw, language="fr").send_complaint({"text": "x"}),
                   403, "insufficient_scope")
    assert "lecture" in scope


# --- the OpenAPI document ----------------------------------------------------------------------------


def test_openapi_document_is_served_valid_and_covers_every_route(app: Flask) -> None:
    response = app.test_client().get("/api/v1/openapi.json")  # public: no token needed
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    validate_spec(document)  # a valid OpenAPI 3.1 document
    assert document["openapi"].startswith("3.1")
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # /calls/<int:call_id> -> {call_id}
            routes.setdefault(path, set()).update(m.lower() for m in (rule.methods or ()) - {"HEAD", "OPTIONS"})
            secured = document["paths"].get(path, {}).get(next(iter(routes[path]), ""), {}).get("security")
            assert (secured == []) == (access.table(app)[rule.endpoint].kind is not PrincipalKind.API_TOKEN), path
    assert len(routes) >= 5
    assert {p: set(ops) - {"parameters"} for p, ops in document["paths"].items()} == routes
    for path, operations in document["paths"].items():
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path


def test_openapi_lists_the_upload_limit(make_app) -> None:
    small = make_app(max_upload_mb=7)
    document = small.test_client().get("/api/v1/openapi.json").get_json()
    assert "7 MB" in document["paths"]["/api/v1/calls"]["post"]["description"]


def test_json_errors_never_need_a_session_cookie(app: Flask, tokens: dict[str, factories.TokenRef],
                                                 audio: dict[str, Path]) -> None:
    response = Api(app, tokens["a"].raw).send_call(audio["call.wav"], {})
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"


def test_api_token_login_cookie_does_not_mix(app: Flask, tokens: dict[str, factories.TokenRef],
                                             tenants: dict[str, TenantSet], login_as: Any) -> None:
    """A person of company B logged in on the same browser: the token alone decides the company."""
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
    client: Client = login_as("b", Role.TENANT_ADMIN)
    response = client.get(f"/api/v1/calls/{call_id}", headers={"Authorization": f"Bearer {tokens['a'].raw}"})
    assert response.status_code == 200 and response.get_json()["id"] == call_id
