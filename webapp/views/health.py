"""Probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from werkzeug.wrappers import Response

from webapp.auth import ANONYMOUS, access
from webapp.db import get_database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@access(ANONYMOUS)
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
@access(ANONYMOUS)
def readyz() -> Response:
    try:
        with get_database(current_app).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        current_app.logger.warning("readiness check: database unreachable", exc_info=True)
        return Response('{"status": "database unreachable"}', status=503, mimetype="application/json")
    return jsonify(status="ok")
