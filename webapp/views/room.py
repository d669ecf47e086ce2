"""Staff's home: what the customer room is and how to use it."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from webapp.auth import PERSON, access
from webapp.models import Role
from webapp.views.helpers import render

bp = Blueprint("room", __name__, url_prefix="/room")


@bp.get("")
@access(PERSON, roles=[Role.STAFF, Role.QUALITY_MANAGER, Role.TENANT_ADMIN])
def room_index() -> Response:
    return render("pages/room/index.html")
