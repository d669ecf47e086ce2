"""Logging: every line carries the request id and the tenant's slug."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, g, has_request_context, request


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            record.tenant = g.get("tenant_slug", "-")
        else:
            record.request_id = getattr(record, "request_id", "-")
            record.tenant = getattr(record, "tenant", "-")
        return True


FORMAT = "%(asctime)s %(levelname)s [req=%(request_id)s tenant=%(tenant)s] %(name)s: %(message)s"


def configure(level: str) -> None:
    """Send the app's logs to stderr with the request id and tenant on every line."""
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
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else secrets.token_hex(8)

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        return response
