"""Phone pages of the customer room (issue #16): react to the clip a screen plays, check in beside a screen.

A screen's QR codes (kiosk/*) lead here: ``/react/<clip_id>?screen=<kiosk_id>`` and
``/room/check-in?screen=<kiosk_id>``. A person who is not logged in logs in and comes back
(flask-login's ``next``). The pages show a clip's title, topic and caption only, never call audio.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import NotFound, UserError
from webapp.i18n import current_locale, ngettext
from webapp.models import Clip, Kiosk, ReactionKind, Role
from webapp.services import reactions
from webapp.services.validation import parse_id
from webapp.views.helpers import actor, form_error, me, render

bp = Blueprint("reactions", __name__)
#: Everyone of the company may react and check in; the platform's admins are no one's colleagues.
PEOPLE = (Role.STAFF, Role.QUALITY_MANAGER, Role.TENANT_ADMIN)


def _screen_id() -> int | None:
    try:
        return parse_id(request.values.get("screen"))
    except ValueError:
        return None


def _react_page(clip: Clip) -> dict[str, Any]:
    session = tenancy.request_session()
    return {"clip": clip, "topic": reactions.topic_name(session, clip, current_locale()),
            "caption": " ".join(str(line.get("text", "")) for line in clip.captions).strip(),
            "screen": reactions.screen_of(session, actor(), _screen_id()), "kinds": list(ReactionKind),
            "kind_labels": reactions.KIND_LABELS}


@bp.get("/react/<int:clip_id>")
@access(PERSON, roles=PEOPLE)
def react(clip_id: int) -> Response:
    clip = reactions.reactable_clip(tenancy.request_session(), actor(), clip_id)
    return render("pages/reactions/react.html", **_react_page(clip))


@bp.post("/react/<int:clip_id>")
@access(PERSON, roles=PEOPLE)
def react_send(clip_id: int) -> Response:
    """Record the reaction chosen (« Il faut agir » also proposes an action), then confirm it."""
    session, person = tenancy.request_session(), me()
    clip = reactions.reactable_clip(session, person, clip_id)
    try:
        reaction = reactions.record(session, person, clip_id=clip.id, kind=request.form.get("kind", ""),
                                    comment=request.form.get("comment", ""), kiosk_id=_screen_id())
        reactions.act_on(session, person, reaction)
    except UserError as err:
        return form_error("pages/reactions/react.html", err, **_react_page(clip))
    return redirect(url_for("reactions.react_done", clip_id=clip.id, screen=reaction.kiosk_id), code=303)


@bp.get("/react/<int:clip_id>/thanks")
@access(PERSON, roles=PEOPLE)
def react_done(clip_id: int) -> Response:
    """The confirmation: the person's latest reaction to the clip (none yet: back to the buttons)."""
    session = tenancy.request_session()
    clip = reactions.reactable_clip(session, actor(), clip_id)
    reaction = reactions.latest_own(session, actor(), clip)
    if reaction is None:
        return redirect(url_for("reactions.react", clip_id=clip.id, screen=_screen_id()), code=303)
    return render("pages/reactions/done.html", clip=clip, reaction=reaction, kind_labels=reactions.KIND_LABELS,
                  action=reactions.action_of(session, reaction), screen_id=_screen_id())


def _check_in_page(screen: Kiosk | None) -> dict[str, Any]:
    visit = reactions.open_visit(tenancy.request_session(), actor())
    return {"screen": screen, "visit": visit, "cap_minutes": int(reactions.VISIT_CAP.total_seconds() // 60),
            "since_minutes": reactions.minutes_since(visit) if visit is not None else 0}


def _screen() -> Kiosk | None:
    return reactions.screen_of(tenancy.request_session(), actor(), _screen_id())


@bp.get("/room/check-in")
@access(PERSON, roles=PEOPLE)
def check_in() -> Response:
    """Beside a screen: check in, or, already checked in, say how long you listened when leaving."""
    return render("pages/reactions/check_in.html", **_check_in_page(_screen()))


@bp.post("/room/check-in")
@access(PERSON, roles=PEOPLE)
def check_in_send() -> Response:
    """Open a visit beside the screen named (a double scan or a second tap opens nothing more)."""
    screen = _screen()
    if screen is None:
        raise NotFound()
    reactions.check_in(tenancy.request_session(), me(), screen)
    return redirect(url_for("reactions.check_in", screen=screen.id), code=303)


@bp.post("/room/check-out")
@access(PERSON, roles=PEOPLE)
def check_out() -> Response:
    """Close the open visit with the minutes the person says they listened (bounded by the clock)."""
    screen = _screen()
    try:
        seconds = reactions.check_out(tenancy.request_session(), me(), request.form.get("minutes", ""))
    except UserError as err:
        return form_error("pages/reactions/check_in.html", err, **_check_in_page(screen))
    flash(ngettext("Thank you: %(num)d minute of listening counts towards your coverage.",
                   "Thank you: %(num)d minutes of listening count towards your coverage.", round(seconds / 60)),
          "success")
    return redirect(url_for("reactions.check_in", screen=screen.id if screen else None), code=303)
