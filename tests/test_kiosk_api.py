"""The kiosk's HTTP side: pairing by code, the device token, the manifest, clips' audio, heartbeats.

A kiosk's token reads its own playlist and those clips' audio, nothing else: not another
playlist, not another company's clip, not a page of the web app, not the API. A revoked token
stops at once. Clips are rendered by the real ``render_clip`` job (real ffmpeg).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.db import utcnow
from webapp.models import AuditEvent, Call, Consent, Kiosk, KioskPairing, PlayTally, Role
from webapp.services import clips as clip_service
from webapp.services import kiosks as kiosk_service


@pytest.fixture
def room(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, int]:
    """Company A: two satisfied and two unhappy rendered, approved clips in one playlist (satisfied
    first), one more approved clip in another playlist; company B: one approved clip and a playlist."""
    with app.app_context():
        a, b = tenants["a"].id, tenants["b"].id
        call = factories.make_ready_call(a, seconds=12.0)
        ids = [factories.make_clip(a, call, start=i * 2.0, end=i * 2.0 + 1.8, sentiment=s, render=True, approve=True)
               for i, s in enumerate(["satisfied", "satisfied", "unhappy", "unhappy"])]
        other = factories.make_clip(a, call, start=9.0, end=11.0, render=True, approve=True)
        theirs = factories.make_clip(b, factories.make_ready_call(b), render=True, approve=True)
        return {"s1": ids[0], "s2": ids[1], "u1": ids[2], "u2": ids[3], "other": other, "theirs": theirs,
                "call": call, "playlist": factories.make_playlist(a, ids), "other_playlist":
                factories.make_playlist(a, [other]), "their_playlist": factories.make_playlist(b, [theirs])}


def _kiosk(app: Flask, tenant_id: int, playlist_id: int | None) -> tuple[factories.KioskRef, Client]:
    with app.app_context():
        ref = factories.make_kiosk(tenant_id, playlist_id)
    client = Client(app.test_client())
    client.raw.set_cookie("ecoute_kiosk", ref.token, path="/kiosk")
    return ref, client


def test_a_screen_is_paired_by_the_code_it_shows(app: Flask, tenants: dict[str, TenantSet],
                                                 room: dict[str, int], login_as: object) -> None:
    screen = app.test_client()
    started = screen.post("/kiosk/pairings")
    assert started.status_code == 201
    code, secret = started.json["code"], started.json["secret"]  # type: ignore[index]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert screen.post("/kiosk/pairings/claim", json={"secret": secret}).status_code == 202
    assert screen.get("/kiosk/manifest.json").status_code == 401

    qr = screen.get(started.json["qr"])  # type: ignore[index]
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert b'xmlns="http://www.w3.org/2000/svg"' in qr.data  # a document of its own, shown by an <img>

    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    prefilled = admin.get(f"/settings/kiosks?code={code.replace('-', '').lower()}")
    assert f'value="{code}"' in prefilled.text
    paired = admin.post("/settings/kiosks", {"code": code.lower(), "name": "Salle client Lyon",
                                             "playlist_id": str(room["playlist"])})
    assert paired.status_code == 303

    done = screen.post("/kiosk/pairings/claim", json={"secret": secret})
    assert done.status_code == 200 and done.json["status"] == "paired"  # type: ignore[index]
    cookie = done.headers["Set-Cookie"]
    assert "ecoute_kiosk=ekt_" in cookie and "HttpOnly" in cookie and "Path=/kiosk" in cookie
    assert "SameSite=Strict" in cookie
    manifest = screen.get("/kiosk/manifest.json")
    assert manifest.status_code == 200
    assert manifest.json["kiosk"]["name"] == "Salle client Lyon"  # type: ignore[index]
    assert [c["id"] for c in manifest.json["clips"]] == [room["s1"], room["u1"], room["s2"], room["u2"]]  # type: ignore[index]

    # The code is used: typing it again (here, or in another company) pairs nothing more.
    again = login_as("b", Role.TENANT_ADMIN).post(  # type: ignore[operator]
        "/settings/kiosks", {"code": code, "name": "Intrus", "playlist_id": ""})
    assert again.status_code == 422 and "not valid" in again.text
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        assert session.scalars(select(Kiosk)).all() == []


def test_wrong_or_expired_codes_are_refused_alike(app: Flask, tenants: dict[str, TenantSet],
                                                  login_as: object) -> None:
    screen = app.test_client()
    started = screen.post("/kiosk/pairings").json
    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    wrong = admin.post("/settings/kiosks", {"code": "ABCD-EFGH", "name": "Salle", "playlist_id": ""})
    with app.app_context(), tenancy.all_tenants_session() as session:  # the runtime role may not move expiries
        session.execute(update(KioskPairing).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = admin.post("/settings/kiosks", {"code": started["code"], "name": "Salle", "playlist_id": ""})  # type: ignore[index]
    assert wrong.status_code == expired.status_code == 422
    message = "Ce code n&#39;est pas valide"  # company A speaks French
    assert message in wrong.text and message in expired.text
    assert screen.post("/kiosk/pairings/claim", json={"secret": started["secret"]}).status_code == 410  # type: ignore[index]
    assert screen.post("/kiosk/pairings/claim", json={"secret": "made-up"}).status_code == 410
    blank = admin.post("/settings/kiosks", {"code": started["code"], "name": " ", "playlist_id": ""})  # type: ignore[index]
    assert blank.status_code == 422 and "Nommez la salle" in blank.text


def test_the_manifest_alternates_masks_nothing_private_and_changes_with_the_playlist(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int]) -> None:
    _ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    first = kiosk.get("/kiosk/manifest.json")
    body = first.json
    assert body is not None and first.headers["ETag"]
    assert [c["sentiment"] for c in body["clips"]] == ["satisfied", "unhappy", "satisfied", "unhappy"]
    assert body["clips"][0]["sentiment_label"] == "Client satisfait"  # company A speaks French
    clip = body["clips"][0]
    assert set(clip) == {"id", "title", "sentiment", "sentiment_label", "topic", "product", "duration", "audio",
                         "captions", "qr"}  # qr: the address of its QR code image (issue #16, item 3)
    assert clip["captions"] and all(0 <= c["start"] <= c["end"] <= clip["duration"] + 0.05 for c in clip["captions"])
    assert re.fullmatch(rf"/kiosk/media/{clip['id']}-[0-9a-f]{{64}}\.webm", clip["audio"])
    assert kiosk.get("/kiosk/manifest.json", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304

    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        admin = session.scalars(select(factories.User).where(factories.User.role == Role.TENANT_ADMIN)).first()
        assert admin is not None
        clip_service.retire(session, admin, clip_service.get_clip(session, room["u1"]))
    changed = kiosk.get("/kiosk/manifest.json", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert [c["id"] for c in changed.json["clips"]] == [room["s1"], room["u2"], room["s2"]]  # type: ignore[index]

    # Consent withdrawn: the call's clips leave the room too.
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        session.execute(update(Call).where(Call.id == room["call"]).values(consent=Consent.NO))
    assert kiosk.get("/kiosk/manifest.json").json["clips"] == []  # type: ignore[index]


def test_a_kiosk_without_a_playlist_is_up_to_date_once_it_reports(app: Flask, tenants: dict[str, TenantSet],
                                                                   login_as: object) -> None:
    ref, kiosk = _kiosk(app, tenants["a"].id, None)
    body = kiosk.get("/kiosk/manifest.json").json
    assert body is not None and body["playlist"] is None and body["clips"] == [] and body["version"]
    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    assert kiosk.raw.post("/kiosk/heartbeat", json={"version": "stale", "state": "empty"}).status_code == 200
    assert 'data-behind="yes"' in admin.get("/settings/kiosks").text
    assert kiosk.raw.post("/kiosk/heartbeat", json={"version": body["version"], "state": "empty"}).status_code == 200
    assert 'data-behind="yes"' not in admin.get("/settings/kiosks").text


def test_the_token_opens_its_own_clips_and_nothing_else(app: Flask, tenants: dict[str, TenantSet],
                                                        room: dict[str, int]) -> None:
    ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    clips = kiosk.get("/kiosk/manifest.json").json["clips"]  # type: ignore[index]
    audio = kiosk.get(clips[0]["audio"])
    assert audio.status_code == 200 and audio.mimetype == "audio/webm" and audio.data[:4] == b"\x1aE\xdf\xa3"
    assert "immutable" in audio.headers["Cache-Control"]
    part = kiosk.get(clips[0]["audio"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100

    def audio_url(clip_id: int, tenant_id: int) -> str:
        with app.app_context(), tenancy.tenant_session(tenant_id) as session:
            return kiosk_service.media_url(clip_service.get_clip(session, clip_id))

    mine_elsewhere = kiosk.get(audio_url(room["other"], tenants["a"].id))  # A's clip, another playlist
    theirs = kiosk.get(audio_url(room["theirs"], tenants["b"].id))  # B's clip
    wrong_hash = kiosk.get(re.sub(r"-[0-9a-f]{64}", "-" + "0" * 64, clips[0]["audio"]))
    assert mine_elsewhere.status_code == theirs.status_code == wrong_hash.status_code == 404
    assert mine_elsewhere.json == theirs.json == wrong_hash.json

    # The device token is no login: the web app's pages and the API do not open with it.
    bearer = {"Authorization": f"Bearer {ref.token}"}
    for url in ("/calls", "/clips", "/playlists", f"/calls/{room['call']}", f"/clips/{room['s1']}",
                "/settings/kiosks", "/room"):
        page = app.test_client().get(url, headers=bearer)
        assert page.status_code == 302 and "/login" in page.headers["Location"], url
    assert app.test_client().get(f"/api/v1/calls/{room['call']}", headers=bearer).status_code == 401
    # ... and a person's login opens no kiosk endpoint.
    person = Client(app.test_client())
    person.login(tenants["a"].users[Role.TENANT_ADMIN].email)
    assert person.get("/kiosk/manifest.json").status_code == 401
    assert person.get(clips[0]["audio"]).status_code == 401


def test_a_revoked_kiosk_stops_at_once(app: Flask, tenants: dict[str, TenantSet], room: dict[str, int],
                                       login_as: object) -> None:
    ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    audio = kiosk.get("/kiosk/manifest.json").json["clips"][0]["audio"]  # type: ignore[index]
    assert kiosk.get(audio).status_code == 200
    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    assert admin.post(f"/settings/kiosks/{ref.id}/revoke").status_code == 303
    for response in (kiosk.get("/kiosk/manifest.json"), kiosk.get(audio),
                     kiosk.raw.post("/kiosk/heartbeat", json={"state": "playing"})):
        assert response.status_code == 401 and response.json["code"] == "kiosk_unpaired"  # type: ignore[index]
    listing = admin.get("/settings/kiosks")
    assert "Désappairé" in listing.text or "Unpaired" in listing.text


def test_heartbeats_show_on_the_admin_page_and_plays_go_to_the_journal(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int], login_as: object) -> None:
    ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    version = kiosk.get("/kiosk/manifest.json").json["playlist"]["version"]  # type: ignore[index]
    played_at = (utcnow() - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")  # played while offline
    beat = kiosk.raw.post("/kiosk/heartbeat", json={
        "clip_id": room["u1"], "version": version, "state": "playing",
        "plays": [{"clip_id": room["s1"], "at": played_at}, {"clip_id": room["theirs"], "at": played_at},
                  {"clip_id": "x"}, "junk", {"clip_id": room["u1"], "at": "not a date"}]})
    assert beat.status_code == 200 and beat.json == {"accepted": 1, "dropped": 4}
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        row = session.get(Kiosk, ref.id)
        assert row is not None and row.current_clip_id == room["u1"] and row.state == "playing"
        plays = session.scalars(select(AuditEvent).where(AuditEvent.action == "clip.played")).all()
        assert [(p.target, p.kiosk_id) for p in plays] == [(f"clip:{room['s1']}", ref.id)]
        assert abs((plays[0].at - utcnow()).total_seconds() - (-180)) < 5
        tallies = session.scalars(select(PlayTally)).all()  # proof of play (issue #16, item 8)
        assert [(t.kiosk_id, t.clip_id, t.plays) for t in tallies] == [(ref.id, room["s1"], 1)]
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "clip.played")).all() == []

    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    row = re.search(rf'<tr id="kiosk-{ref.id}".*?</tr>', admin.get("/settings/kiosks").text, re.S)
    assert row is not None and 'data-online="yes"' in row.group(0)
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        session.execute(update(Kiosk).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    row = re.search(rf'<tr id="kiosk-{ref.id}".*?</tr>', admin.get("/settings/kiosks").text, re.S)
    assert row is not None and 'data-online="no"' in row.group(0)
    journal = admin.get("/people/journal")
    assert journal.status_code == 200
    plays = admin.get("/people/journal?view=plays").text
    people = admin.get("/people/journal?view=people").text
    name = re.search(r'<tr id="kiosk-\d+" data-kiosk="\d+">\s*<td>([^<]+)</td>', admin.get("/settings/kiosks").text)
    assert name is not None
    screen = f"Écran\u00a0: {name.group(1)}"  # French typography: a no-break space before the colon
    assert screen in plays and screen not in people
    assert "Écran appairé" in people and "Écran appairé" not in plays


def test_changing_a_kiosks_playlist_reaches_it(app: Flask, tenants: dict[str, TenantSet], room: dict[str, int],
                                               login_as: object) -> None:
    ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    their = admin.post(f"/settings/kiosks/{ref.id}", {"name": "Salle", "playlist_id": str(room["their_playlist"])})
    assert their.status_code == 422  # another company's playlist is not one of ours
    moved = admin.post(f"/settings/kiosks/{ref.id}", {"name": "Salle", "playlist_id": str(room["other_playlist"])})
    assert moved.status_code == 303
    assert [c["id"] for c in kiosk.get("/kiosk/manifest.json").json["clips"]] == [room["other"]]  # type: ignore[index]
    staff = login_as("a", Role.STAFF)  # type: ignore[operator]
    assert staff.get("/settings/kiosks").status_code == 403
    assert login_as("a", Role.QUALITY_MANAGER).get("/settings/kiosks").status_code == 403  # type: ignore[operator]


def test_the_kiosk_page_and_its_files_are_served(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/kiosk").status_code == 308
    page = client.get("/kiosk/", headers={"Accept-Language": "fr"})
    assert page.status_code == 200 and 'lang="fr"' in page.text
    for name, kind in (("player.js", "text/javascript"), ("sw.js", "text/javascript"), ("kiosk.css", "text/css")):
        served = client.get(f"/kiosk/{name}")
        assert served.status_code == 200 and served.mimetype == kind and served.data
    assert client.get("/kiosk/other.js").status_code == 404


def test_one_address_cannot_hoard_pairing_codes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kiosk_service, "MAX_PENDING", 2)
    screen = app.test_client()
    assert [screen.post("/kiosk/pairings").status_code for _ in range(2)] == [201, 201]
    refused = screen.post("/kiosk/pairings")
    assert refused.status_code == 429 and refused.json["code"] == "too_many_pairings"  # type: ignore[index]
    other = app.test_client().post("/kiosk/pairings", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 201  # another network is not held back
    with app.app_context(), tenancy.tenant_session(None) as session:
        assert len(session.scalars(select(KioskPairing)).all()) == 3


def test_a_manifest_is_reused_briefly_but_a_revoked_token_stops_at_once(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int], login_as: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kiosk_service, "MANIFEST_CACHE_SECONDS", 60.0)
    clock = [1000.0]
    monkeypatch.setattr(kiosk_service.time, "monotonic", lambda: clock[0])
    ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    before = kiosk.get("/kiosk/manifest.json").headers["ETag"]
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        admin = session.scalars(select(factories.User).where(factories.User.role == Role.TENANT_ADMIN)).first()
        assert admin is not None
        clip_service.retire(session, admin, clip_service.get_clip(session, room["u1"]))
    assert kiosk.get("/kiosk/manifest.json").headers["ETag"] == before  # reused
    clock[0] += 61
    after = kiosk.get("/kiosk/manifest.json")
    assert after.headers["ETag"] != before and room["u1"] not in [c["id"] for c in after.json["clips"]]  # type: ignore[index]
    login_as("a", Role.TENANT_ADMIN).post(f"/settings/kiosks/{ref.id}/revoke")  # type: ignore[operator]
    assert kiosk.get("/kiosk/manifest.json").status_code == 401


# --- plays: only those this screen could have made, within bounds (issue #13, item 6) --------


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _served_since(app: Flask, tenant_id: int, kiosk_id: int, since: dict[int, datetime]) -> None:
    """As if the kiosk had been served those clips at those times (then went offline)."""
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        kiosk = session.get(Kiosk, kiosk_id)
        assert kiosk is not None
        served = dict(kiosk.served_clips)
        for clip_id, at in since.items():
            assert str(clip_id) in served, f"clip {clip_id} was not served"
            served[str(clip_id)] = {"from": at.isoformat(), "until": None}
        kiosk.served_clips = served
        kiosk.last_seen_at = min(since.values())


def _journalled(app: Flask, tenant_id: int) -> list[tuple[str, datetime]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        plays = session.scalars(select(AuditEvent).where(AuditEvent.action == "clip.played")
                                .order_by(AuditEvent.at)).all()
        return [(p.target, p.at) for p in plays]


def _dropped(app: Flask, tenant_id: int, kiosk_id: int) -> int:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        kiosk = session.get(Kiosk, kiosk_id)
        assert kiosk is not None
        return kiosk.plays_dropped


def test_plays_made_offline_arrive_and_forged_ones_are_dropped_and_counted(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int], login_as: object) -> None:
    a = tenants["a"].id
    ref, kiosk = _kiosk(app, a, room["playlist"])
    manifest = kiosk.get("/kiosk/manifest.json").json
    assert manifest is not None and manifest["plays_per_heartbeat"] == kiosk_service.MAX_PLAYS_PER_HEARTBEAT
    now = utcnow()
    # Served two days ago (one clip five days ago, one only an hour ago), offline since.
    _served_since(app, a, ref.id, {room["s1"]: now - timedelta(days=2), room["u1"]: now - timedelta(days=2),
                                   room["s2"]: now - timedelta(days=5), room["u2"]: now - timedelta(hours=1)})
    offline = [now - timedelta(hours=47), now - timedelta(hours=30), now - timedelta(minutes=10)]
    honest = [{"clip_id": room["s1"], "at": _iso(offline[0])}, {"clip_id": room["u1"], "at": _iso(offline[1])},
              {"clip_id": room["u2"], "at": _iso(offline[2])}]
    forged = [
        {"clip_id": room["other"], "at": _iso(now - timedelta(hours=1))},  # ours, but not in its playlist
        {"clip_id": room["theirs"], "at": _iso(now - timedelta(hours=1))},  # another company's
        {"clip_id": room["s2"], "at": _iso(now - timedelta(days=4))},  # served, but before the offline window
        {"clip_id": room["u2"], "at": _iso(now - timedelta(hours=3))},  # before that clip reached the screen
        {"clip_id": room["s1"], "at": _iso(now + timedelta(hours=1))},  # in the future
        {"clip_id": room["s1"], "at": "2026-13-40T00:00:00Z"}, {"clip_id": str(room["s1"])}, "junk",
    ]
    beat = kiosk.raw.post("/kiosk/heartbeat", json={"state": "playing", "plays": honest + forged})
    assert beat.status_code == 200 and beat.json == {"accepted": 3, "dropped": len(forged)}
    assert _journalled(app, a) == [(f"clip:{room['s1']}", offline[0]), (f"clip:{room['u1']}", offline[1]),
                                   (f"clip:{room['u2']}", offline[2])]
    assert _dropped(app, a, ref.id) == len(forged)

    # The heartbeat of the report: 500 plays of a clip not in its playlist, 29 days back.
    attack = [{"clip_id": room["other"], "at": _iso(now - timedelta(days=29))}] * 500
    beat = kiosk.raw.post("/kiosk/heartbeat", json={"state": "playing", "plays": attack})
    assert beat.status_code == 200 and beat.json == {"accepted": 0, "dropped": 500}
    assert len(_journalled(app, a)) == 3 and _dropped(app, a, ref.id) == len(forged) + 500
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "clip.played")).all() == []
    listing = login_as("a", Role.TENANT_ADMIN).get("/settings/kiosks").text  # type: ignore[operator]
    row = re.search(rf'<tr id="kiosk-{ref.id}".*?</tr>', listing, re.S)
    assert row is not None and f'data-dropped="{len(forged) + 500}"' in row.group(0)


def test_plays_are_bounded_per_heartbeat_and_per_minute(make_app: object, tenants: dict[str, TenantSet],
                                                         room: dict[str, int]) -> None:
    app = make_app(kiosk_max_plays_per_minute=70)  # type: ignore[operator]
    a = tenants["a"].id
    ref, kiosk = _kiosk(app, a, room["playlist"])
    assert kiosk.get("/kiosk/manifest.json").status_code == 200
    now = utcnow()
    _served_since(app, a, ref.id, {room["s1"]: now - timedelta(hours=2)})
    plausible = [{"clip_id": room["s1"], "at": _iso(now - timedelta(minutes=100) + timedelta(seconds=i))}
                 for i in range(500)]
    first = kiosk.raw.post("/kiosk/heartbeat", json={"plays": plausible})
    assert first.json == {"accepted": kiosk_service.MAX_PLAYS_PER_HEARTBEAT,
                          "dropped": 500 - kiosk_service.MAX_PLAYS_PER_HEARTBEAT}
    second = kiosk.raw.post("/kiosk/heartbeat", json={"plays": plausible[:50]})
    assert second.json == {"accepted": 20, "dropped": 30}  # 70 a minute
    assert len(_journalled(app, a)) == 70
    assert _dropped(app, a, ref.id) == 480
    with app.app_context(), tenancy.tenant_session(a) as session:  # a minute later, the budget is back
        session.execute(update(Kiosk).values(plays_minute_at=utcnow() - timedelta(seconds=61)))
    assert kiosk.raw.post("/kiosk/heartbeat", json={"plays": plausible[:10]}).json == {"accepted": 10, "dropped": 0}


def test_a_clip_that_left_the_playlist_counts_until_the_screen_was_told(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int], login_as: object) -> None:
    a = tenants["a"].id
    ref, kiosk = _kiosk(app, a, room["playlist"])
    assert kiosk.get("/kiosk/manifest.json").status_code == 200
    now = utcnow()
    _served_since(app, a, ref.id, {room["s1"]: now - timedelta(hours=5)})
    admin = login_as("a", Role.TENANT_ADMIN)  # type: ignore[operator]
    moved = admin.post(f"/settings/kiosks/{ref.id}", {"name": "Salle", "playlist_id": str(room["other_playlist"])})
    assert moved.status_code == 303
    # While the screen has not asked again, it still plays s1 (offline, say): those plays count.
    beat = kiosk.raw.post("/kiosk/heartbeat", json={"plays": [{"clip_id": room["s1"], "at": _iso(now)}]})
    assert beat.json == {"accepted": 1, "dropped": 0}
    assert [c["id"] for c in kiosk.get("/kiosk/manifest.json").json["clips"]] == [room["other"]]  # type: ignore[index]
    with app.app_context(), tenancy.tenant_session(a) as session:  # s1 left the screen's manifest an hour ago
        row = session.get(Kiosk, ref.id)
        assert row is not None and row.served_clips[str(room["s1"])]["until"] is not None
        row.served_clips = {**row.served_clips, str(room["s1"]): {"from": (now - timedelta(hours=5)).isoformat(),
                                                                  "until": (now - timedelta(hours=1)).isoformat()}}
    before, after = _iso(now - timedelta(hours=2)), _iso(now - timedelta(minutes=30))
    beat = kiosk.raw.post("/kiosk/heartbeat", json={"plays": [{"clip_id": room["s1"], "at": before},
                                                              {"clip_id": room["s1"], "at": after}]})
    assert beat.json == {"accepted": 1, "dropped": 1}


def test_each_clip_has_a_qr_code_to_react_and_the_room_one_to_check_in(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, int]) -> None:
    """Issue #16, item 3: the manifest names a QR code per clip and the room's check-in code; each encodes
    the absolute address a phone opens (reaction page for that clip beside this screen, check-in), and
    only this screen's own clips have one."""
    ref, kiosk = _kiosk(app, tenants["a"].id, room["playlist"])
    manifest = kiosk.get("/kiosk/manifest.json").json
    assert manifest is not None and manifest["check_in_qr"] == "/kiosk/qr/check-in.svg"
    clip = next(c for c in manifest["clips"] if c["id"] == room["s1"])
    assert clip["qr"] == f"/kiosk/qr/react-{room['s1']}.svg"
    base = app.config["ECOUTE"].base_url or "http://localhost"
    react = kiosk.get(clip["qr"])
    assert react.status_code == 200 and react.mimetype == "image/svg+xml"
    assert react.data == kiosk_service.qr_svg(f"{base}/react/{room['s1']}?screen={ref.id}")
    check_in = kiosk.get("/kiosk/qr/check-in.svg")
    assert check_in.data == kiosk_service.qr_svg(f"{base}/room/check-in?screen={ref.id}")
    for other in (room["other"], room["theirs"]):  # not in its playlist; another company's
        assert kiosk.get(f"/kiosk/qr/react-{other}.svg").status_code == 404
    assert Client(app.test_client()).get("/kiosk/qr/check-in.svg").status_code == 401
