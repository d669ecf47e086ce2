"""The OpenAPI 3.1 description of the integrator API (served at ``/api/v1/openapi.json``).

Written by hand next to webapp/views/api.py, and held to it by tests/test_api.py: every
/api/v1 route of the app is here with its methods and parameters, nothing else is, and real
answers are validated against these schemas.
"""

from __future__ import annotations

from typing import Any

from webapp.config import Settings
from webapp.services.ingestion import MAX_TEXT
from webapp.services.ratings import MAX_API_ITEMS
from webapp.services.ratings import MAX_TEXT as RATING_TEXT
from webapp.services.register import MAX_LONG as ANSWER_TEXT

Schema = dict[str, Any]  # Any: a JSON document


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


CHANNELS = ["phone", "store", "email", "web", "letter"]
CONSENTS = ["yes", "no", "unknown"]
LANGUAGES = ["fr", "en", "auto"]
STATUSES = ["uploaded", "queued", "processing", "ready", "failed"]
SOURCES = ["browser", "api", "csv"]


def _text(description: str, max_length: int = 120) -> Schema:
    return {"type": "string", "maxLength": max_length, "description": description}


#: The metadata of a call or complaint, as sent (every field optional).
META_PROPERTIES: dict[str, Schema] = {
    "received_at": {"type": "string", "examples": ["2026-03-31", "2026-03-31T14:05:00+02:00"],
                    "description": "When the company received it: a date (YYYY-MM-DD) or an ISO 8601 date-time "
                                   "(UTC when it has no offset). Not in the future. Default: now."},
    "channel": {"type": "string", "enum": CHANNELS,
                "description": "Default: phone for calls, email for complaints."},
    "agent": _text("The agent who took the call or handled the complaint."),
    "product": _text("Product name or SKU the customer talks about."),
    "customer_ref": _text("The company's own reference for the customer (CRM id); never shown in the room."),
    "consent": {"oneOf": [{"type": "string", "enum": CONSENTS}, {"type": "boolean"}],
                "description": "Whether the customer agreed that the recording be reused (true means yes, false "
                               "no). Default: unknown."},
    "language": {"type": "string", "enum": LANGUAGES, "description": "Spoken or written language. Default: auto."},
    "external_id": {"oneOf": [{"type": "string", "maxLength": 200}, {"type": "integer"}],
                    "description": "The sender's own id. Sending an item again with the same external_id returns "
                                   "the item already stored (200) instead of creating another (201). The same "
                                   "external_id with other content (another recording, another text) is refused "
                                   "(409, code idempotency_conflict)."},
    "bulk": {"type": "boolean", "default": False,
             "description": "A backfill: the item is processed after the items sent as they happen."},
}

_VOICE_OUT: dict[str, Schema] = {
    "id": {"type": "integer"},
    "external_id": {"type": ["string", "null"]},
    "received_at": {"type": "string", "format": "date-time"},
    "channel": {"type": "string", "enum": CHANNELS},
    "agent": {"type": "string"},
    "product": {"type": "string"},
    "customer_ref": {"type": "string"},
    "consent": {"type": "string", "enum": CONSENTS},
    "language": {"type": "string", "enum": LANGUAGES},
    "source": {"type": "string", "enum": SOURCES, "description": "How it arrived."},
    "created_at": {"type": "string", "format": "date-time", "description": "When Écoute stored it."},
}


def _item(kind: str, extra: dict[str, Schema], description: str) -> Schema:
    properties = {"kind": {"const": kind}, **_VOICE_OUT, **extra,
                  "url": {"type": "string", "description": "Where to read it again."}}
    return {"type": "object", "description": description, "properties": properties,
            "required": list(properties), "additionalProperties": False}


ERROR_CODES = {
    "unauthorized": "401: missing, malformed, unknown or revoked token, or a suspended company (one answer for all).",
    "insufficient_scope": "403: the token's access does not allow this (a read-only token sending an item, a token "
                          "without the register access updating the register).",
    "not_found": "404: no such item for this token's company (another company's items look the same).",
    "method_not_allowed": "405: this path does not take that method.",
    "invalid_json": "400: the metadata or body is not a JSON object.",
    "too_large": "413 (or 422 when only the recording is): the request is larger than the limit.",
    "unsupported_media_type": "415: a call must be multipart/form-data, a complaint application/json.",
    "file_missing": "422: no file in the audio part.",
    "audio_empty, audio_no_audio, audio_unreadable, audio_unsupported, audio_no_duration, audio_truncated":
        "422: the recording was refused; the message says why. Nothing was stored.",
    "unknown_field, invalid_field": "422: a field is not one of the documented ones, or has the wrong type.",
    "channel_invalid, consent_invalid, language_invalid, date_invalid, date_future, <field>_too_long":
        "422: a metadata value is not accepted; the message says which.",
    "text_missing, text_too_long": "422: the complaint's text is empty or too long.",
    "storage_unavailable": "422: the recording could not be stored just now; nothing was kept, try again.",
    "idempotency_conflict": "409: this external_id was already used for an item with other content (another "
                            "recording, another text); nothing was stored. Give the new item its own external_id.",
    "date_out_of_range": "422: received_at is before 1900.",
    "ratings_refused, invalid_body, too_many_items": "422: ratings refused as a whole (the message names each bad "
                                                     "item and its problem); nothing was stored.",
    "version_mismatch": "412: the register entry changed since the version named in If-Match; nothing was "
                        "changed. Read it again, then send the change.",
    "transition_refused, mediator_missing": "422: the register's life cycle does not allow this status change, "
                                            "or a (partly) rejecting answer does not name the company's mediator; "
                                            "the message says why. Nothing was changed.",
    "outcome_invalid, answer_missing, owner_invalid, invalid_body, if_match_invalid":
        "422: the register update is not accepted; the message says which part.",
    "internal": "500: a fault on Écoute's side; the answer carries a reference for support.",
}


def _error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _responses(*statuses: str) -> dict[str, Schema]:
    known = {
        "400": _error("The metadata or body is not a JSON object (code invalid_json)."),
        "401": {**_error("No valid token (code unauthorized)."),
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}},
        "403": _error("The token's access does not allow this (code insufficient_scope)."),
        "404": _error("No such item for this company (code not_found)."),
        "413": _error("The request is too large (code too_large)."),
        "409": _error("This external_id was already used with other content (code idempotency_conflict)."),
        "412": _error("The entry changed since the version in If-Match (code version_mismatch)."),
        "415": _error("Wrong Content-Type (code unsupported_media_type)."),
        "422": _error("Refused; the message says why, in the request's language (see the codes in Error)."),
    }
    return {status: known[status] for status in statuses} | {"default": _error("Unexpected error (internal).")}


def _stored(kind: str) -> dict[str, Schema]:
    location = {"Location": {"schema": {"type": "string"}, "description": "The item's URL in this API."}}
    body = {"application/json": {"schema": _ref(kind)}}
    return {"201": {"description": f"{kind} stored.", "headers": location, "content": body},
            "200": {"description": f"This {kind.lower()} was already stored (same external_id"
                                   f"{', or the same audio' if kind == 'Call' else ''}): nothing new was created.",
                    "headers": location, "content": body}}


def _read(kind: str, param: str) -> Schema:
    return {
        "operationId": f"get{kind}", "summary": f"Read one {kind.lower()}: its status and metadata.",
        "parameters": [{"name": param, "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": kind, "content": {"application/json": {"schema": _ref(kind)}}},
                      **_responses("401", "404")},
    }


ENTRY_STATUSES = ["received", "acknowledged", "investigating", "answered", "closed", "reopened"]
OUTCOMES = ["upheld", "partly_upheld", "rejected"]
_REFERENCE = {"name": "reference", "in": "path", "required": True,
              "schema": {"type": "string", "examples": ["REC-2026-000123"]},
              "description": "The entry's reference in the company's register."}
_ENTRY_OUT = {"200": {"description": "The register entry; its ETag is its version.",
                      "headers": {"ETag": {"schema": {"type": "string"}, "description": "The version, as \"3\"."}},
                      "content": {"application/json": {"schema": _ref("RegisterEntry")}}}}


def _date(description: str, nullable: bool = False, kind: str = "date") -> Schema:
    return {"type": ["string", "null"] if nullable else "string", "format": kind, "description": description}


#: An entry of the complaint register, as the API shows it (webapp/services/register_api.py).
REGISTER_ENTRY: Schema = {
    "type": "object", "description": "An entry of the company's complaint register, with its regulatory clocks.",
    "additionalProperties": False,
    "properties": {
        "reference": {"type": "string", "examples": ["REC-2026-000123"]},
        "status": {"type": "string", "enum": ENTRY_STATUSES},
        "channel": {"type": "string", "enum": CHANNELS},
        "received_on": _date("When the company received the complaint."),
        "sent_on": _date("When the customer sent it, where known; the clocks run from it.", nullable=True),
        "acknowledge_by": _date("The acknowledgement's due date (answering counts as acknowledging)."),
        "answer_by": _date("The answer's due date."),
        "acknowledged_at": _date("When it was acknowledged.", nullable=True, kind="date-time"),
        "answered_at": _date("When it was answered.", nullable=True, kind="date-time"),
        "closed_at": _date("When it was closed.", nullable=True, kind="date-time"),
        "overdue": {"type": "boolean", "description": "A deadline has passed with its step not done."},
        "outcome": {"type": ["string", "null"], "enum": [*OUTCOMES, None]},
        "owner_email": {"type": ["string", "null"], "description": "Who owns the entry at the company."},
        "version": {"type": "integer", "description": "Goes up with every change; send it back in If-Match."},
        "url": {"type": "string", "description": "Where to read it again."},
    },
}
REGISTER_ENTRY["required"] = list(REGISTER_ENTRY["properties"])
REGISTER_UPDATE: Schema = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {
        "status": {"type": "string", "enum": ENTRY_STATUSES,
                   "description": "The life cycle: received → acknowledged → investigating; any open entry may be "
                                  "answered (with `answer`); answered → closed or reopened; closed → reopened; "
                                  "reopened → investigating."},
        "answer": {"type": "object", "additionalProperties": False, "required": ["text", "outcome"],
                   "properties": {"text": {"type": "string", "minLength": 1, "maxLength": ANSWER_TEXT,
                                           "description": "The answer sent to the customer. A rejection, full "
                                                          "or partial, must name the company's mediator."},
                                  "outcome": {"type": "string", "enum": OUTCOMES}}},
        "owner_email": {"type": ["string", "null"],
                        "description": "An active quality manager or administrator of the company; null for "
                                       "nobody."},
    },
}


def document(settings: Settings) -> Schema:
    """The whole OpenAPI document; limits come from ``settings``."""
    metadata = {"type": "object", "properties": META_PROPERTIES, "additionalProperties": False}
    complaint_in = {"type": "object", "required": ["text"], "additionalProperties": False,
                    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                                            "description": "What the customer wrote."}, **META_PROPERTIES}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Écoute integrator API", "version": "1.0.0",
            "description": (
                "Push recorded calls and written complaints into Écoute from a telephony or CRM system, then read "
                "their status. Authenticate with an API token created by your company's Écoute administrator "
                "(Settings → API tokens): `Authorization: Bearer ect_…`. A token with the ingest access may send "
                "and read; a read token may only read; a register token reads complaints and updates the complaint "
                "register. Errors are JSON `{\"code\", \"message\"}`: `code` is "
                "stable, `message` is for people, in English, or in French with `Accept-Language: fr`."),
        },
        "servers": [{"url": settings.base_url}],
        "security": [{"bearerToken": []}],
        "paths": {
            "/api/v1/calls": {"post": {
                "operationId": "createCall", "summary": "Send a recorded call.",
                "description": (f"The recording (MP3, WAV, M4A, OGG, FLAC, WebM or AMR; {settings.max_upload_mb} MB "
                                "at most) is checked before anything is kept, then queued for transcription. "
                                "Requires the ingest access."),
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["audio"], "properties": {
                        "audio": {"type": "string", "contentMediaType": "application/octet-stream",
                                  "description": "The recording, as a file part (with a file name)."},
                        "metadata": _ref("Metadata")}},
                    "encoding": {"metadata": {"contentType": "application/json"}}}}},
                "responses": _stored("Call") | _responses("400", "401", "403", "409", "413", "415", "422"),
            }},
            "/api/v1/calls/{call_id}": {"get": _read("Call", "call_id")},
            "/api/v1/complaints": {"post": {
                "operationId": "createComplaint", "summary": "Send a written complaint.",
                "description": "Requires the ingest access. `bulk` is accepted and changes nothing for complaints.",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("ComplaintCreate")}}},
                "responses": _stored("Complaint") | _responses("400", "401", "403", "409", "413", "415", "422"),
            }},
            "/api/v1/complaints/{complaint_id}": {"get": _read("Complaint", "complaint_id")},
            "/api/v1/ratings": {"post": {
                "operationId": "createRatings", "summary": "Send ratings of products (store reviews, surveys).",
                "description": (f"A JSON list of 1 to {MAX_API_ITEMS} ratings, stored all or nothing: one bad item "
                                "refuses the request (422, the message names each bad item). An item with an "
                                "external_id already stored with the same content is not stored again; with other "
                                "content the request is refused (409). The 3/5 rule is applied at once. Requires "
                                "the ingest access."),
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "array", "minItems": 1, "maxItems": MAX_API_ITEMS, "items": _ref("RatingCreate")}}}},
                "responses": {
                    "201": {"description": "Ratings stored (some may have been known already).",
                            "content": {"application/json": {"schema": _ref("RatingsStored")}}},
                    "200": {"description": "Every rating was already stored (same external_id): nothing new.",
                            "content": {"application/json": {"schema": _ref("RatingsStored")}}},
                } | _responses("400", "401", "403", "409", "413", "415", "422"),
            }},
            "/api/v1/register/{reference}": {
                "get": {"operationId": "getRegisterEntry", "parameters": [_REFERENCE],
                        "summary": "Read an entry of the complaint register: its status, clocks and outcome.",
                        "description": "Oral complaints' entries have no complaint id: read them by reference.",
                        "responses": _ENTRY_OUT | _responses("401", "404")},
                "patch": {
                    "operationId": "updateRegisterEntry", "parameters": [_REFERENCE, {
                        "name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
                        "description": "The version last read (its ETag): the change is refused (412) if the entry "
                                       "changed since."}],
                    "summary": "Set an entry's owner, answer and status, idempotently.",
                    "description": ("Applied in that order, all or nothing, as the register's pages would: the "
                                    "timeline names the token (\"API: <token name>\"). A request asking for what "
                                    "the entry already is changes nothing and answers the same entry, whatever "
                                    "its If-Match: send it again safely. Requires the register access."),
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": _ref("RegisterUpdate")}}},
                    "responses": _ENTRY_OUT | _responses("401", "403", "404", "412", "415", "422")},
            },
            "/api/v1/openapi.json": {"get": {
                "operationId": "getOpenApi", "summary": "This document.", "security": [],
                "responses": {"200": {"description": "The OpenAPI document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {
            "securitySchemes": {"bearerToken": {
                "type": "http", "scheme": "bearer",
                "description": "An API token, ect_<company id>_<secret>, shown once when it is created."}},
            "schemas": {
                "Metadata": metadata,
                "ComplaintCreate": complaint_in,
                "Call": _item("call", {
                    "status": {"type": "string", "enum": STATUSES,
                               "description": "queued or processing until transcribed; then ready, or failed."},
                    "failure_reason": {"type": "string", "description": "Why processing failed (else empty)."},
                    "audio": {"type": "object", "additionalProperties": False,
                              "required": ["filename", "content_type", "size_bytes", "duration_seconds", "sha256"],
                              "properties": {"filename": {"type": "string"}, "content_type": {"type": "string"},
                                             "size_bytes": {"type": "integer"},
                                             "duration_seconds": {"type": "number"},
                                             "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
                }, "A recorded call."),
                "Complaint": _item("complaint", {
                    "text": {"type": "string"},
                    "register": {"oneOf": [_ref("RegisterEntry"), {"type": "null"}],
                                 "description": "Its entry in the complaint register (null once erased)."},
                }, "A written complaint."),
                "RegisterEntry": REGISTER_ENTRY,
                "RegisterUpdate": REGISTER_UPDATE,
                "RatingCreate": {
                    "type": "object", "required": ["product", "rating", "date"], "additionalProperties": False,
                    "properties": {
                        "product": _text("The product's name or SKU, as calls and complaints name it."),
                        "rating": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 5},
                                             {"type": "string", "examples": ["4", "4/5"]}],
                                   "description": "A whole number from 1 to 5."},
                        "date": {"type": "string", "examples": ["2026-03-31"],
                                 "description": "When the customer gave it (YYYY-MM-DD), not in the future."},
                        "text": {"type": "string", "maxLength": RATING_TEXT, "description": "The review's text."},
                        "external_id": {"oneOf": [{"type": "string", "maxLength": 200}, {"type": "integer"}],
                                        "description": "The sender's own id: sent again, the rating is not stored "
                                                       "twice."}}},
                "Rating": {
                    "type": "object", "additionalProperties": False,
                    "required": ["id", "external_id", "product", "rating", "date", "text", "source", "duplicate"],
                    "properties": {"id": {"type": "integer"}, "external_id": {"type": ["string", "null"]},
                                   "product": {"type": "string"}, "rating": {"type": "integer"},
                                   "date": {"type": "string", "format": "date"}, "text": {"type": "string"},
                                   "source": {"type": "string", "enum": ["csv", "api"]},
                                   "duplicate": {"type": "boolean",
                                                 "description": "Already stored before this request."}}},
                "RatingsStored": {
                    "type": "object", "additionalProperties": False, "required": ["created", "duplicates", "ratings"],
                    "properties": {"created": {"type": "integer"}, "duplicates": {"type": "integer"},
                                   "ratings": {"type": "array", "items": _ref("Rating")}}},
                "Error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "Stable, for programs. " + " ".join(
                            f"`{codes}` — {meaning}" for codes, meaning in ERROR_CODES.items())},
                        "message": {"type": "string", "description": "For people: what happened, what to do."},
                        "reference": {"type": "string", "description": "On 500 only: give it to support."},
                    },
                },
            },
        },
    }
