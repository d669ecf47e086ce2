"""Logging: every line carries the request id and the tenant's slug; no secret reaches a log.

A request line names its path and query. Some paths hold a live secret (a password reset or
invitation link, a screen's pairing code) and some query values hold personal data (a
customer's reference, a search): :func:`mask_url` replaces them with ``***`` wherever a request
line is written: gunicorn's access log (:class:`AccessLogger`, named in infra/gunicorn.conf.py)
and Werkzeug's development server (a filter on its logger). Issue #13, item 7.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from flask import Flask, Response, has_request_context
from gunicorn.glogging import Logger as GunicornLogger

from webapp.context import current_context

MASK = "***"
#: Paths whose rest is a secret: a reset or invitation token, a pairing code (shown as a QR code).
_SECRET_PATH = re.compile(r"(/(?:password/reset|invitation|kiosk/pairings)/+)(.*)", re.DOTALL)
#: Paths under the prefixes above that are no secret (the screen's own polling).
_PUBLIC_REST = {"claim"}
#: Query parameters whose values are masked: personal data or secrets.
MASKED_PARAMS = frozenset({"customer_ref", "q", "code", "token", "secret", "email", "phone", "password"})


def mask_path(path: str) -> str:
    """``path`` with a secret part replaced by ``***`` (compared decoded: ``%2F`` routes as ``/``)."""
    decoded = re.sub(r"/{2,}", "/", unquote(path))
    match = _SECRET_PATH.search(decoded)
    if match is None or match.group(2) in _PUBLIC_REST:
        return path
    return quote(decoded[: match.start()], safe="/") + match.group(1) + MASK


def mask_query(query: str) -> str:
    """``query`` with the values of :data:`MASKED_PARAMS` replaced by ``***`` (names and order kept)."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, sep, _value = part.partition("=")
        if sep and unquote_plus(name).strip().lower() in MASKED_PARAMS:
            part = f"{name}={MASK}"
        parts.append(part)
    return "&".join(parts)


def mask_url(url: str) -> str:
    """A path, path with query, or absolute URL (a Referer) with its secrets and personal data masked."""
    if not url or url == "-":
        return url
    if url.startswith("/"):  # a request target: "//x" is a path here, not a host
        rest, hash_, _fragment = url.partition("#")
        path, sep, query = rest.partition("?")
        return mask_path(path) + sep + mask_query(query) + (hash_ and f"#{MASK}")
    try:
        scheme, netloc, path, query, fragment = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host: keep nothing of it
        return MASK
    return urlunsplit((scheme, netloc, mask_path(path), mask_query(query), fragment and MASK))


def mask_request_line(line: str) -> str:
    """``GET /password/reset/<token> HTTP/1.1`` becomes ``GET /password/reset/*** HTTP/1.1``."""
    method, sep, rest = line.partition(" ")
    if not sep:
        return mask_url(line)
    target, sep2, protocol = rest.rpartition(" ")
    if not sep2 or not protocol.startswith("HTTP/"):
        return f"{method} {mask_url(rest)}"
    return f"{method} {mask_url(target)} {protocol}"


class AccessLogger(GunicornLogger):  # type: ignore[misc]  # gunicorn has no type hints
    """Gunicorn's logger, with the request line, path, query and Referer masked (:func:`mask_url`)."""

    _URL_ATOMS = ("U", "f", "{referer}i", "{raw_uri}e", "{path_info}e", "{http_referer}e", "{request_uri}e")

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["r"] = mask_request_line(str(atoms.get("r", "")))
        atoms["q"] = mask_query(str(atoms.get("q") or ""))
        atoms["{query_string}e"] = atoms["q"]
        for key in self._URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = mask_url(atoms[key])
        return atoms

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Gunicorn's "Error handling request <method> <uri>" (an app that raised past Flask) masked too."""
        masked = [mask_url(a) if isinstance(a, str) and a.startswith(("/", "http")) else a for a in args]
        super().exception(msg, *masked, **kwargs)


class WerkzeugRequestFilter(logging.Filter):
    """Masks the request line Werkzeug's development server logs (``"GET /path HTTP/1.1" 200 -``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_request_line(a) if isinstance(a, str) and " /" in a else a
                                for a in record.args)
        return True


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            context = current_context()
            record.request_id = context.request_id
            record.tenant = (context.principal and context.principal.tenant_slug) or "-"
        else:
            record.request_id = getattr(record, "request_id", "-")
            record.tenant = getattr(record, "tenant", "-")
        return True


FORMAT = "%(asctime)s %(levelname)s [req=%(request_id)s tenant=%(tenant)s] %(name)s: %(message)s"


def configure(level: str) -> None:
    """Send the app's logs to stderr with the request id and tenant on every line."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, WerkzeugRequestFilter) for f in werkzeug.filters):
        werkzeug.addFilter(WerkzeugRequestFilter())
    root = logging.getLogger("webapp")
    if any(isinstance(h, logging.StreamHandler) and getattr(h, "ecoute", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.ecoute = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def init_app(app: Flask) -> None:
    configure(app.config["ECOUTE"].log_level)

    @app.before_request
    def _request_id() -> None:
        current_context()  # the request id is chosen when the context is made (webapp.context.request_id)

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = current_context().request_id
        return response
