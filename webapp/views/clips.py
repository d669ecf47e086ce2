"""Placeholder: being written (issue #7)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

bp = Blueprint("clips", __name__, url_prefix="/clips")


@bp.get("")
def clip_list() -> Response:
    return Response("")
