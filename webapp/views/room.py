"""Staff's home: what the customer room is, and the room's playlist on their own device (issue #16).

The page plays the company's current playlist (webapp/services/listening.py says which), with
captions and each clip's context, and shows the person's own listening time this quarter. Its
script (static/js/listen.js) reports the seconds really played; the server caps and stores them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, session
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.i18n import current_locale, format_minutes
from webapp.models import Role
from webapp.services import listening
from webapp.views.helpers import actor, render, settings
from webapp.views.media import audio_response

bp = Blueprint("room", __name__, url_prefix="/room")

PEOPLE = [Role.STAFF, Role.QUALITY_MANAGER, Role.TENANT_ADMIN]


def _my_time() -> dict[str, object]:
    db = tenancy.request_session()
    me = actor()
    quarter = listening.current_quarter(me.tenant)
    heard = listening.seconds_in(db, me, quarter)
    return {"quarter": quarter.key, "seconds": round(heard, 1), "label": format_minutes(heard),
            "goal": format_minutes(me.tenant.listening_goal_minutes * 60.0)}


@bp.get("")
@access(PERSON, roles=PEOPLE)
def room_index() -> Response:
    db = tenancy.request_session()
    playlist = listening.chosen_playlist(db, request.args.get("playlist"))
    listening.open_page(session)
    return render("pages/room/index.html", playlist=playlist, offered=listening.screen_playlists(db),
                  tracks=listening.tracks(db, playlist, current_locale()) if playlist is not None else [],
                  mine=_my_time())


@bp.get("/clips/<int:clip_id>/audio/<sha256>")
@access(PERSON, roles=PEOPLE)
def room_audio(clip_id: int, sha256: str) -> Response:
    """A playable clip of a playlist the screens play (never a call's audio)."""
    clip = listening.audio_clip(tenancy.request_session(), clip_id, sha256)
    resp = audio_response(settings(), clip.audio_key, "audio/webm", clip.audio_size)
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"  # the name holds the content hash
    return resp


@bp.post("/played")
@access(PERSON, roles=PEOPLE)
def room_played() -> Response:
    """Seconds really played, from the page's script: capped, stored, and the person's new total."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        clip_id, seconds, play = int(body.get("clip_id", 0)), float(body.get("seconds", 0)), str(body.get("play", ""))
    except (TypeError, ValueError):
        clip_id, seconds, play = 0, 0.0, ""
    credited = listening.record_played(tenancy.request_session(), actor(), session, clip_id=clip_id,
                                       seconds=seconds, play=play)
    return jsonify({"credited": credited, **_my_time()})
