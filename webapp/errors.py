"""Errors: the AppError hierarchy and the handlers that answer as page, htmx fragment or JSON."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import LazyString
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from webapp.db import mark_for_rollback
from webapp.i18n import _, _l

log = logging.getLogger(__name__)


class AppError(Exception):
    """Root of the errors the app raises on purpose."""

    status = 500
    code = "error"

    def __init__(self, message: str | LazyString | None = None, code: str | None = None) -> None:
        super().__init__(str(message) if message is not None else self.code)
        self.message = message
        if code is not None:
            self.code = code


class UserError(AppError):
    """Something the user can fix; shown to them, not logged as an error."""

    status = 422
    code = "invalid"


class BadRequest(UserError):
    """A request the pages never make (an address typed or edited by hand): refused with the reason."""

    status = 400
    code = "bad_request"


class Conflict(UserError):
    """The request contradicts what is already stored (an idempotency key reused for other content)."""

    status = 409
    code = "conflict"


class NotFound(AppError):
    """Missing, or not yours: both look the same."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_l("This page does not exist, or you cannot see it."))


class Forbidden(AppError):
    status = 403
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__(_l("Your role does not give access to this page."))


class TooManyAttempts(UserError):
    status = 429
    code = "throttled"
    #: Seconds to wait before trying again, sent as ``Retry-After`` (0: not known).
    retry_after = 0


class ApiError(AppError):
    """An error answered to a machine, whose status is chosen where it is raised: an API client's missing token
    (401), wrong scope (403) or wrong body (400, 415), a kiosk's lost pairing (401) or expired code (410)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code)
        self.status = status


class RetryableError(AppError):
    """A job may succeed if tried again (network, S3 5xx, timeouts)."""


class PermanentError(AppError):
    """A job cannot succeed; the message is shown to the user."""


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than Python's parser can follow: invalid, like a syntax error."""


def parse_json(data: str | bytes) -> Any:  # Any: a JSON document
    """``json.loads`` that raises ValueError, never RecursionError, for a document nested thousands deep."""
    try:
        return json.loads(data)
    except RecursionError:
        raise JSONTooDeep("JSON nested too deeply") from None


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON, whose ``loads`` (``request.get_json``) refuses deep nesting as invalid JSON (400), not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise JSONTooDeep("JSON nested too deeply") from None


#: The largest id a row can have: ids are PostgreSQL integers (32 bits), and past that the database refuses to
#: compare the value (SQLite's driver, past 64 bits) instead of finding no row.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in the app's addresses: a number past :data:`MAX_ID` matches no route, so it is a 404
    like any missing id, instead of reaching the database driver and failing there (a 500)."""

    def __init__(self, url_map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 - werkzeug's names
                 max: int | None = MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(url_map, fixed_digits, min, max, signed)


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/kiosk/")) or request.accept_mimetypes.best == "application/json"


def _respond(status: int, code: str, message: str, reference: str | None = None) -> Response:
    if _wants_json():
        body = {"code": code, "message": message}
        if reference:
            body["reference"] = reference
        resp = jsonify(body)
    elif request.headers.get("HX-Request"):
        resp = make_response(render_template("partials/_flash.html", category="error", message=message))
        resp.headers["HX-Retarget"] = "#flash"
        resp.headers["HX-Reswap"] = "innerHTML"
    else:
        template = f"errors/{status}.html" if status in (400, 403, 404, 429, 500) else "errors/generic.html"
        try:
            resp = make_response(render_template(template, message=message, reference=reference, status=status))
        except Exception:  # the 500 page must render even when templates' helpers fail
            resp = make_response(f"<h1>Erreur / Error {status}</h1><p>{reference or ''}</p>")
    resp.status_code = status
    return resp


def init_app(app: Flask) -> None:
    """Install the error handlers, and the JSON parser and id converter that keep edge input from becoming a 500
    (before the blueprints add their routes, which take the converter as they are added)."""
    app.json = _JSONProvider(app)
    app.url_map.converters["int"] = IdConverter

    @app.errorhandler(AppError)
    def _app_error(err: AppError) -> Response:
        mark_for_rollback()
        return _respond(err.status, err.code, str(err.message or ""))

    @app.errorhandler(CSRFError)
    def _csrf_error(_err: CSRFError) -> Response:
        mark_for_rollback()
        return _respond(
            400, "csrf", _("The form has expired or was sent from elsewhere. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        mark_for_rollback()
        status = err.code or 500
        if status == 404:
            return _respond(404, "not_found", str(NotFound().message))
        if status == 413:
            return _respond(413, "too_large", _("This upload is too large. Split it or compress it, then try again."))
        if status == 405:
            return _respond(405, "method_not_allowed", _("This address does not accept that request."))
        return _respond(status, "http_error", err.description or "")

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        mark_for_rollback()
        reference = secrets.token_hex(3).upper()
        g.error_reference = reference
        log.exception("unexpected error, reference %s", reference)
        return _respond(
            500,
            "internal",
            _("Something went wrong on our side. If it happens again, give support this reference: %(ref)s",
              ref=reference),
            reference,
        )
