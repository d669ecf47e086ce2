"""A person's own listening page (issue #16, item 2): the room's playlist on their device, approved
clips only and never call audio, and listening time counted from real playback, capped by the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.models import Listen, ListenSource, Role, Tenant, User
from webapp.services import listening


@pytest.fixture
def room(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, int]:
    """Company A: a playlist of two approved clips on two screens, another (one clip) on one screen,
    a draft clip in the first; a playlist no screen plays; company B: an approved clip on a screen."""
    with app.app_context():
        a, b = tenants["a"].id, tenants["b"].id
        call = factories.make_ready_call(a, seconds=8.0)
        one = factories.make_clip(a, call, start=0.0, end=1.8, render=True, approve=True, title="Premier")
        two = factories.make_clip(a, call, start=2.0, end=3.8, render=True, approve=True, sentiment="unhappy")
        other = factories.make_clip(a, call, start=4.0, end=5.8, render=True, approve=True)
        hidden = factories.make_clip(a, call, start=6.0, end=7.8, render=True, approve=True, title="Hors écran")
        draft = factories.make_clip(a, call, start=6.0, end=7.5, render=True)
        main = factories.make_playlist(a, [one, two], name="Principale")
        side = factories.make_playlist(a, [other], name="Autre")
        factories.make_playlist(a, [hidden], name="Brouillon")
        for playlist in (main, main, side):
            factories.make_kiosk(a, playlist)
        theirs = factories.make_clip(b, factories.make_ready_call(b), render=True, approve=True)
        factories.make_kiosk(b, factories.make_playlist(b, [theirs]))
        return {"one": one, "two": two, "other": other, "hidden": hidden, "draft": draft, "call": call,
                "main": main, "side": side, "theirs": theirs}


def _sha(app: Flask, tenant_id: int, clip_id: int) -> str:
    from webapp.models import Clip

    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        return clip.audio_sha256


def _duration(app: Flask, tenant_id: int, clip_id: int) -> float:
    from webapp.models import Clip

    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        return round(clip.duration_s, 2)


def test_the_page_plays_the_playlist_most_screens_play(room: dict[str, int], login_as: object) -> None:
    staff: Client = login_as("a", Role.STAFF)  # type: ignore[operator]
    page = staff.get("/room")
    assert page.status_code == 200
    assert "Premier" in page.text and f"/room/clips/{room['one']}/audio/" in page.text
    assert "Hors écran" not in page.text  # no screen plays its playlist
    assert 'id="listen-total" data-seconds="0.0"' in page.text
    chosen = staff.get(f"/room?playlist={room['side']}")
    assert f"/room/clips/{room['other']}/audio/" in chosen.text
    assert f"/room/clips/{room['one']}/audio/" not in chosen.text


def test_staff_reach_approved_clips_of_the_screens_only_never_call_audio(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int], login_as: object) -> None:
    staff: Client = login_as("a", Role.STAFF)  # type: ignore[operator]
    a = tenants["a"].id
    heard = staff.get(f"/room/clips/{room['one']}/audio/{_sha(app, a, room['one'])}")
    assert heard.status_code == 200 and heard.mimetype == "audio/webm" and len(heard.data) > 100
    for name in ("hidden", "draft"):
        assert staff.get(f"/room/clips/{room[name]}/audio/{_sha(app, a, room[name])}").status_code == 404, name
    assert staff.get(f"/room/clips/{room['one']}/audio/{'0' * 64}").status_code == 404
    theirs = f"/room/clips/{room['theirs']}/audio/{_sha(app, tenants['b'].id, room['theirs'])}"
    assert staff.get(theirs).status_code == 404
    # A call's audio and a clip's curation audio stay the quality team's.
    assert staff.get(f"/calls/{room['call']}/audio").status_code == 403
    assert staff.get(f"/clips/{room['one']}/audio").status_code == 403


def _played(client: Client, clip_id: int, seconds: float, play: str = "p1") -> dict[str, object]:
    response = client.raw.post("/room/played", json={"clip_id": clip_id, "seconds": seconds, "play": play},
                               headers={"X-CSRFToken": client.csrf_token()})
    assert response.status_code == 200, response.text
    body = response.json
    assert isinstance(body, dict)
    return body


def _own(app: Flask, tenant_id: int, user_id: int) -> list[Listen]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(Listen).where(Listen.user_id == user_id).order_by(Listen.id)))
        session.expunge_all()
        return rows


def test_time_counts_only_what_was_played_capped_by_wall_time(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int], login_as: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    staff: Client = login_as("a", Role.STAFF)  # type: ignore[operator]
    me = tenants["a"].users[Role.STAFF]
    assert _played(staff, room["one"], 1.0)["credited"] == 0  # never opened the page: nothing counts
    assert _own(app, tenants["a"].id, me.id) == []
    clock = [datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)]
    monkeypatch.setattr(listening, "utcnow", lambda: clock[0])
    staff.get("/room")  # the page opens at 9:00:00
    assert _played(staff, room["one"], 1.5)["credited"] == 0  # no time has passed since
    clock[0] += timedelta(seconds=1)
    assert _played(staff, room["one"], 1.5)["credited"] == 1.0  # one second of wall time
    clock[0] += timedelta(seconds=30)
    length = _duration(app, tenants["a"].id, room["one"])
    assert _played(staff, room["one"], 25.0)["credited"] == pytest.approx(length - 1.0)  # what's left of the clip
    assert _played(staff, room["one"], 25.0, play="p2")["credited"] == 0  # no wall time since the last report
    clock[0] += timedelta(seconds=30)
    body = _played(staff, room["one"], 25.0, play="p2")  # played again: a new play, the clip's length again
    assert body["credited"] == pytest.approx(length)
    assert body["quarter"] == "2026-Q2" and body["seconds"] == pytest.approx(2 * length, abs=0.1)
    rows = _own(app, tenants["a"].id, me.id)
    assert [r.source for r in rows] == [ListenSource.OWN] * 3 and {r.clip_id for r in rows} == {room["one"]}
    # Each row ends at its report: the next report's wall time starts there.
    assert rows[-1].at + timedelta(seconds=rows[-1].seconds) == clock[0]
    for bad in (-5.0, float("nan")):
        clock[0] += timedelta(seconds=5)
        assert _played(staff, room["two"], bad, play="p3")["credited"] == 0


def test_time_for_a_clip_not_offered_is_refused(room: dict[str, int], login_as: object) -> None:
    staff: Client = login_as("a", Role.STAFF)  # type: ignore[operator]
    staff.get("/room")
    for clip in (room["hidden"], room["draft"], room["theirs"]):
        response = staff.raw.post("/room/played", json={"clip_id": clip, "seconds": 1, "play": "x"},
                                  headers={"X-CSRFToken": staff.csrf_token()})
        assert response.status_code == 404


def test_own_time_this_quarter_adds_every_source_in_the_company_time_zone(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a, me = tenants["a"].id, tenants["a"].users[Role.STAFF]
    with app.app_context(), tenancy.tenant_session(a) as session:
        tenant = session.get(Tenant, a)
        assert tenant is not None
        tenant.timezone = "Europe/Paris"
        # 31 March 23:30 UTC is already 1 April in Paris: the second quarter.
        for source, at, seconds in ((ListenSource.OWN, datetime(2026, 3, 31, 23, 30, tzinfo=UTC), 60),
                                    (ListenSource.WORKSHOP, datetime(2026, 5, 1, tzinfo=UTC), 600),
                                    (ListenSource.ROOM, datetime(2026, 3, 31, 21, 0, tzinfo=UTC), 90)):
            session.add(Listen(user_id=me.id, source=source, at=at, seconds=seconds))
        session.flush()
        user = session.get(User, me.id)
        assert user is not None
        assert listening.seconds_in(session, user, listening.Quarter(2026, 2)) == 660
        assert listening.seconds_in(session, user, listening.Quarter(2026, 1)) == 90
        just_after = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
        assert listening.current_quarter(tenant, just_after) == listening.Quarter(2026, 2)


def test_quarters() -> None:
    q = listening.Quarter.parse("2026-q4")
    assert q == listening.Quarter(2026, 4) and q.next == listening.Quarter(2027, 1) and q.key == "2026-Q4"
    assert listening.Quarter(2027, 1).previous == q and q.last_month == 12
    assert listening.Quarter.parse("2026-Q5") is None and listening.Quarter.parse("nope") is None
