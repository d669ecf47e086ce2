"""The integrator API (``/api/v1``): a company's telephony or CRM system pushes calls and complaints, and
keeps the complaint register's entries up to date (their status, answer and owner).

Every route but the OpenAPI document authenticates with ``Authorization: Bearer <token>`` and
nothing else: a login cookie opens nothing here, which is why the blueprint is exempt from
CSRF. Errors are JSON ``{"code", "message"}`` (webapp.errors answers JSON under /api/), in
English unless the request's Accept-Language asks for French (webapp.i18n). The routes only
translate HTTP into the services' calls (ingestion, register_api); webapp/openapi.py describes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from werkzeug.wrappers import Response

from webapp import openapi, principals, tenancy
from webapp.auth import ANONYMOUS, API_TOKEN, access
from webapp.context import current_context
from webapp.errors import ApiError, UserError, parse_json
from webapp.i18n import _
from webapp.models import Call, Channel, Complaint, RegisterEntry, Source, Tenant, TokenScope
from webapp.services import calls, ingestion, ratings, register_api
from webapp.views.helpers import settings, upload_limit

bp = Blueprint("api", __name__, url_prefix="/api/v1")
#: Metadata fields of calls and complaints, as the JSON names them (see webapp/openapi.py).
META_FIELDS = ("received_at", "channel", "agent", "product", "customer_ref", "consent", "language", "external_id")
MAX_METADATA_BYTES = 64 * 1024


@bp.after_request
def _api_headers(response: Response) -> Response:
    challenge = current_context().challenge
    if challenge and response.status_code in (401, 403):
        response.headers["WWW-Authenticate"] = challenge
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- requests in, JSON out ---------------------------------------------------------------------


def _invalid_json() -> ApiError:
    return ApiError(400, "invalid_json", _("The metadata is not a valid JSON object. Send an object such as "
                                           "{\"channel\": \"phone\"}, encoded in UTF-8."))


def _metadata(data: object, extra: tuple[str, ...] = ()) -> tuple[dict[str, str], bool]:
    """The metadata fields of a JSON object, as the ingestion service reads them, and the ``bulk`` flag."""
    if not isinstance(data, dict):
        raise _invalid_json()
    unknown = sorted(str(k) for k in set(data) - {*META_FIELDS, "bulk", *extra})
    if unknown:
        raise UserError(_("Unknown field “%(field)s”. The fields are: %(fields)s.", field=unknown[0][:40],
                          fields=", ".join((*extra, *META_FIELDS, "bulk"))), "unknown_field")
    raw: dict[str, str] = {}
    for key in META_FIELDS:
        value = data.get(key)
        if key == "consent" and isinstance(value, bool):
            value = "yes" if value else "no"
        elif key == "external_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and not isinstance(value, str):
            raise UserError(_("The field “%(field)s” must be a string.", field=key), "invalid_field")
        raw[key] = value or ""
    bulk = data.get("bulk", False)
    if not isinstance(bulk, bool):
        raise UserError(_("The field “%(field)s” must be true or false.", field="bulk"), "invalid_field")
    return raw, bulk


def _call_metadata() -> object:
    """The JSON in the ``metadata`` part: a form field, or a file part (as ``curl -F metadata=@meta.json``)."""
    part = request.files.get("metadata")
    data = part.read(MAX_METADATA_BYTES + 1) if part is not None else request.form.get("metadata", "{}").encode()
    try:
        if len(data) > MAX_METADATA_BYTES:
            raise ValueError("metadata too long")
        return parse_json(data.decode("utf-8"))
    except ValueError:  # JSONDecodeError, UnicodeDecodeError and JSONTooDeep included
        raise _invalid_json() from None


def _voice(item: Call | Complaint) -> dict[str, Any]:
    return {"id": item.id, "external_id": item.external_id, "received_at": item.received_at.isoformat(),
            "channel": str(item.channel), "agent": item.agent, "product": item.product,
            "customer_ref": item.customer_ref, "consent": str(item.consent),
            "language": item.language_hint or "auto", "source": str(item.source),
            "created_at": item.created_at.isoformat()}


def _call_json(call: Call) -> dict[str, Any]:
    return {"kind": "call", **_voice(call), "status": str(call.status), "failure_reason": call.failure_reason,
            "audio": {"filename": call.original_filename, "content_type": call.content_type,
                      "size_bytes": call.size_bytes, "duration_seconds": call.duration_seconds,
                      "sha256": call.sha256},
            "url": url_for("api.api_call_detail", call_id=call.id)}


def _complaint_json(complaint: Complaint) -> dict[str, Any]:
    entry = register_api.of_complaint(tenancy.request_session(), complaint.id)
    if entry is not None:
        entry["url"] = url_for("api.api_register_entry", reference=entry["reference"])
    return {"kind": "complaint", **_voice(complaint), "text": complaint.text, "register": entry,
            "url": url_for("api.api_complaint_detail", complaint_id=complaint.id)}


def _entry_response(entry: RegisterEntry) -> Response:
    """An entry of the register, with its version as the ETag (for If-Match)."""
    body = register_api.entry_json(tenancy.request_session(), entry)
    resp = jsonify({**body, "url": url_for("api.api_register_entry", reference=entry.reference)})
    resp.headers["ETag"] = register_api.etag(entry)
    return resp


def _stored(body: Mapping[str, Any], duplicate: bool) -> Response:
    """201 with the new item, or 200 with the one already there (a retry, or the same audio again)."""
    resp = jsonify(body)
    resp.status_code = 200 if duplicate else 201
    resp.headers["Location"] = str(body["url"])
    return resp


# --- routes --------------------------------------------------------------------------------------


@bp.post("/calls")
@access(API_TOKEN, scopes=[TokenScope.INGEST], max_body=upload_limit)
def api_call_create() -> Response:
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", _(
            "Send a call as multipart/form-data: the recording in the “audio” part, its metadata as JSON in the "
            "“metadata” part."))
    raw, bulk = _metadata(_call_metadata())
    upload = request.files.get("audio")
    if upload is None or not upload.filename:
        raise UserError(_("No recording came with the request. Send it as a file in the “audio” part."),
                        "file_missing")
    token = principals.current_api_token()
    done = ingestion.ingest_call(tenancy.request_session(), settings(), token.tenant_id, stream=upload.stream,
                                 filename=upload.filename, meta=ingestion.clean_meta(raw),
                                 origin=ingestion.Origin(Source.API, token=token), bulk=bulk)
    return _stored(_call_json(done.call), done.duplicate)


@bp.get("/calls/<int:call_id>")
@access(API_TOKEN, scopes=[TokenScope.INGEST, TokenScope.READ], writes_on_read=True)  # last_used_at
def api_call_detail(call_id: int) -> Response:
    return jsonify(_call_json(calls.get_call(tenancy.request_session(), call_id)))


@bp.post("/complaints")
@access(API_TOKEN, scopes=[TokenScope.INGEST])
def api_complaint_create() -> Response:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", _(
            "Send a complaint as JSON, with the header “Content-Type: application/json”."))
    body = request.get_json(silent=True)
    raw, _bulk = _metadata(body, extra=("text",))  # bulk changes nothing for complaints: no processing job
    text = body.get("text") if isinstance(body, dict) else None
    if text is not None and not isinstance(text, str):
        raise UserError(_("The field “%(field)s” must be a string.", field="text"), "invalid_field")
    complaint, duplicate = ingestion.create_complaint(
        tenancy.request_session(), text=text or "", meta=ingestion.clean_meta(raw, default_channel=Channel.EMAIL),
        origin=ingestion.Origin(Source.API, token=principals.current_api_token()))
    return _stored(_complaint_json(complaint), duplicate)


@bp.get("/complaints/<int:complaint_id>")
@access(API_TOKEN, scopes=[TokenScope.INGEST, TokenScope.READ, TokenScope.REGISTER],
        writes_on_read=True)  # last_used_at
def api_complaint_detail(complaint_id: int) -> Response:
    return jsonify(_complaint_json(calls.get_complaint(tenancy.request_session(), complaint_id)))


@bp.post("/ratings")
@access(API_TOKEN, scopes=[TokenScope.INGEST])
def api_ratings_create() -> Response:
    """Ratings of products (a JSON list), all or nothing; those already sent (same external_id) are not stored twice."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", _("Send ratings as JSON, with the header “Content-Type: "
                                                        "application/json”."))
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "invalid_json", _("The body is not valid JSON. Send a list of ratings, encoded in UTF-8."))
    session = tenancy.request_session()
    tenant = session.get(Tenant, principals.current_api_token().tenant_id)
    done = ratings.import_items(session, tenant, body) if tenant else ratings.Imported()
    resp = jsonify({"created": done.created, "duplicates": done.duplicates,
                    "ratings": [ratings.as_json(rating, known) for rating, known in done.ratings]})
    resp.status_code = 201 if done.created else 200
    return resp


@bp.get("/register/<reference>")
@access(API_TOKEN, scopes=[TokenScope.INGEST, TokenScope.READ, TokenScope.REGISTER],
        writes_on_read=True)  # last_used_at
def api_register_entry(reference: str) -> Response:
    """An entry of the complaint register, by its reference (an oral complaint's has no complaint id)."""
    return _entry_response(register_api.by_reference(tenancy.request_session(), reference))


@bp.patch("/register/<reference>")
@access(API_TOKEN, scopes=[TokenScope.REGISTER])
def api_register_update(reference: str) -> Response:
    """Set an entry's status, answer or owner; the same request again changes nothing (see register_api)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", _("Send the change as JSON, with the header “Content-Type: "
                                                        "application/json”."))
    update = register_api.parse_update(request.get_json(silent=True))
    session = tenancy.request_session()
    entry = register_api.by_reference(session, reference, for_update=True)
    register_api.apply_update(session, entry, update, register_api.actor(principals.current_api_token()),
                              register_api.if_match(request.headers.get("If-Match")))
    return _entry_response(entry)


@bp.get("/openapi.json")
@access(ANONYMOUS)
def api_openapi() -> Response:
    """The OpenAPI 3.1 description of this API (public: it holds no data)."""
    return jsonify(openapi.document(settings()))
