"""Placeholder: being written (issue #7)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

bp = Blueprint("playlists", __name__, url_prefix="/playlists")


@bp.get("")
def playlist_list() -> Response:
    return Response("")
