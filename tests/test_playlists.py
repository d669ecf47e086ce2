"""Playlists over HTTP: created (names unique), approved clips added (drafts refused), reordered,
removed, their mode changed, deleted; and the order the room plays: satisfied and unhappy voices
in turn, or as ordered, without the clips that may not play (retired, consent withdrawn, not rendered).

Clips are real rows made through the services and rendered by the real ``render_clip`` job on
calls of generated audio with a written transcript (``factories.make_ready_call``).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.models import AuditEvent, Playlist, PlaylistMode, Role
from webapp.services import playlists


@pytest.fixture
def qm(login_as: Any) -> Client:
    client: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    return client


def approved_clip(tenant_id: int, title: str, sentiment: str, *, consent: str = "yes") -> int:
    """A rendered, approved clip of its own call (needs an app context)."""
    call_id = factories.make_ready_call(tenant_id, consent=consent, seconds=3.0)
    return factories.make_clip(tenant_id, call_id, start=0.0, end=2.0, title=title, sentiment=sentiment,
                               render=True, approve=True)


def items(tenant_id: int, playlist_id: int) -> list[int]:
    with tenancy.tenant_session(tenant_id) as session:
        return [item.clip_id for item in playlists.get_playlist(session, playlist_id).items]


def play_order(tenant_id: int, playlist_id: int) -> list[str]:
    with tenancy.tenant_session(tenant_id) as session:
        return [clip.title for clip in playlists.playable(playlists.get_playlist(session, playlist_id))]


def shown_order(page: str) -> list[str]:
    """The play order as the playlist page shows it."""
    block = re.search(r'<ol class="play-order" id="play-order">(.*?)</ol>', page, re.S)
    return [unescape(t).strip() for t in re.findall(r'<li data-clip-id="\d+">([^<]*)<', block.group(1))] \
        if block else []


def listed(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li id="item-(\d+)"', page)]


def test_create_a_playlist_and_names_stay_unique(app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    page = qm.get("/playlists")
    assert page.status_code == 200 and "No playlist yet" in page.text
    assert re.search(r'value="alternate" checked', page.text)  # the default mode
    made = qm.post("/playlists", {"name": "  Accueil   Lyon ", "mode": "alternate"})
    assert made.status_code == 303
    playlist_id = int(made.headers["Location"].rsplit("/", 1)[1])
    with app.app_context(), tenancy.tenant_session(a) as session:
        playlist = session.get(Playlist, playlist_id)
        assert playlist is not None and (playlist.name, playlist.mode) == ("Accueil Lyon", PlaylistMode.ALTERNATE)
        created = session.scalars(select(AuditEvent).where(AuditEvent.action == "playlist.created")).one()
        assert created.target == f"playlist:{playlist_id}"
    refused = qm.post("/playlists", {"name": "Accueil Lyon", "mode": "ordered"})
    assert refused.status_code == 422 and "A playlist already has this name" in refused.text
    assert 'value="Accueil Lyon"' in refused.text and re.search(r'value="ordered" checked', refused.text)
    assert qm.post("/playlists", {"name": "", "mode": "ordered"}).status_code == 422
    assert qm.post("/playlists", {"name": "Autre", "mode": "shuffle"}).status_code == 422
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert session.scalars(select(Playlist.name)).all() == ["Accueil Lyon"]
    listing = qm.get("/playlists").text
    assert f'href="/playlists/{playlist_id}"' in listing and "0 clips" in listing
    assert "Alternate satisfied and unhappy" in listing


def test_approved_clips_are_added_drafts_are_refused(app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        good = approved_clip(a, "Merci pour tout", "satisfied")
        draft = factories.make_clip(a, factories.make_ready_call(a, seconds=3.0), start=0.0, end=2.0,
                                    title="Brouillon")
        playlist_id = factories.make_playlist(a, name="Hall")
    page = qm.get(f"/playlists/{playlist_id}").text
    assert f'<option value="{good}">' in page and f'<option value="{draft}">' not in page  # approved only
    added = qm.post(f"/playlists/{playlist_id}/clips", {"clip_id": str(good)}, htmx=True)
    assert added.status_code == 200 and "<html" not in added.text
    assert added.text.lstrip().startswith('<section class="card" id="playlist-items"')
    assert listed(added.text) == [good] and shown_order(added.text) == ["Merci pour tout"]
    assert f'<option value="{good}">' not in added.text  # in the list now: not offered again
    refused = qm.post(f"/playlists/{playlist_id}/clips", {"clip_id": str(draft)}, htmx=True)
    assert refused.status_code == 422 and "Only approved clips can be added" in refused.text
    assert 'id="playlist-items"' in refused.text
    plain = qm.post(f"/playlists/{playlist_id}/clips", {"clip_id": str(draft)})
    assert plain.status_code == 422 and "Only approved clips can be added" in plain.text and "<html" in plain.text
    assert qm.post(f"/playlists/{playlist_id}/clips", {"clip_id": "x"}).status_code == 422
    assert qm.post(f"/playlists/{playlist_id}/clips", {"clip_id": "987654"}).status_code == 404
    with app.app_context():
        assert items(a, playlist_id) == [good]

    # From the clip's page too, into a second playlist: a clip can be in several.
    with app.app_context():
        other = factories.make_playlist(a, name="Vitrine")
    clip_page = qm.get(f"/clips/{good}").text
    assert f'<option value="{other}">Vitrine</option>' in clip_page and "Hall" in clip_page
    assert qm.post(f"/clips/{good}/playlists", {"playlist_id": str(other)}).status_code == 303
    with app.app_context():
        assert items(a, other) == [good] and items(a, playlist_id) == [good]
    assert qm.post(f"/clips/{draft}/playlists", {"playlist_id": str(other)}).status_code == 422
    clip_page = qm.get(f"/clips/{good}").text
    assert f'href="/playlists/{other}"' in clip_page and f'href="/playlists/{playlist_id}"' in clip_page


def test_clips_move_up_and_down_and_leave(app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        one, two, three = (approved_clip(a, t, "satisfied") for t in ("Un", "Deux", "Trois"))
        playlist_id = factories.make_playlist(a, [one, two, three], mode="ordered")
    moved = qm.post(f"/playlists/{playlist_id}/move", {"clip_id": str(three), "offset": "-1"}, htmx=True)
    assert moved.status_code == 200 and listed(moved.text) == [one, three, two]
    assert shown_order(moved.text) == ["Un", "Trois", "Deux"]
    assert qm.post(f"/playlists/{playlist_id}/move", {"clip_id": str(one), "offset": "1"}).status_code == 303
    assert qm.post(f"/playlists/{playlist_id}/move", {"clip_id": str(two), "offset": "1"}).status_code == 303  # last
    with app.app_context():
        assert items(a, playlist_id) == [three, one, two]
    page = qm.get(f"/playlists/{playlist_id}").text
    assert listed(page) == [three, one, two]
    assert 'aria-label="Move “Trois” up" disabled' in page and 'aria-label="Move “Deux” down" disabled' in page
    removed = qm.post(f"/playlists/{playlist_id}/remove", {"clip_id": str(one)}, htmx=True)
    assert removed.status_code == 200 and listed(removed.text) == [three, two]
    assert qm.post(f"/playlists/{playlist_id}/remove", {"clip_id": str(one)}).status_code == 404  # not there
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert items(a, playlist_id) == [three, two]
        done = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("playlist.%"))
                                                  .order_by(AuditEvent.id))]
    assert done[-4:] == ["playlist.reordered", "playlist.reordered", "playlist.reordered", "playlist.clip_removed"]


def test_rename_change_the_mode_and_delete(app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        clip = approved_clip(a, "Merci", "satisfied")
        playlist_id = factories.make_playlist(a, [clip], name="Hall")
        factories.make_playlist(a, name="Vitrine")
    assert qm.post(f"/playlists/{playlist_id}", {"name": "Hall d'accueil", "mode": "ordered"}).status_code == 303
    refused = qm.post(f"/playlists/{playlist_id}", {"name": "Vitrine", "mode": "alternate"})
    assert refused.status_code == 422 and "A playlist already has this name" in refused.text
    with app.app_context(), tenancy.tenant_session(a) as session:
        playlist = session.get(Playlist, playlist_id)
        assert playlist is not None and (playlist.name, playlist.mode) == ("Hall d'accueil", PlaylistMode.ORDERED)
    page = qm.get(f"/playlists/{playlist_id}").text
    assert re.search(r'value="ordered" checked', page) and "hx-confirm=" in page
    deleted = qm.post(f"/playlists/{playlist_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/playlists"
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert session.get(Playlist, playlist_id) is None
        assert session.scalars(select(Playlist.name)).all() == ["Vitrine"]
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "playlist.deleted")).one()
        assert event.details == {"name": "Hall d'accueil"}
    assert qm.get(f"/playlists/{playlist_id}").status_code == 404
    assert qm.get(f"/clips/{clip}").status_code == 200  # the clip stays
    with app.app_context():
        other = factories.make_playlist(a, name="Encore")
    confirmed = qm.post(f"/playlists/{other}/delete", htmx=True)  # after hx-confirm: the page goes to the list
    assert confirmed.status_code == 204 and confirmed.headers["HX-Redirect"] == "/playlists"


def test_the_room_alternates_satisfied_and_unhappy_voices_or_plays_as_ordered(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        clips = [approved_clip(a, title, sentiment) for title, sentiment in
                 (("S1", "satisfied"), ("S2", "satisfied"), ("U1", "unhappy"), ("U2", "unhappy"))]
        playlist_id = factories.make_playlist(a, clips)
        assert play_order(a, playlist_id) == ["S1", "U1", "S2", "U2"]
    page = qm.get(f"/playlists/{playlist_id}").text
    assert shown_order(page) == ["S1", "U1", "S2", "U2"] and listed(page) == clips
    assert qm.post(f"/playlists/{playlist_id}", {"name": "Hall", "mode": "ordered"}).status_code == 303
    with app.app_context():
        assert play_order(a, playlist_id) == ["S1", "S2", "U1", "U2"]
    assert shown_order(qm.get(f"/playlists/{playlist_id}").text) == ["S1", "S2", "U1", "U2"]


def test_retired_clips_and_withdrawn_consent_fall_silent(app: Flask, tenants: dict[str, TenantSet],
                                                         qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        clips = [approved_clip(a, title, sentiment) for title, sentiment in
                 (("S1", "satisfied"), ("S2", "satisfied"), ("U1", "unhappy"), ("U2", "unhappy"))]
        playlist_id = factories.make_playlist(a, clips)
        with tenancy.tenant_session(a) as session:
            from webapp.models import Clip

            u1 = session.get(Clip, clips[2])
            assert u1 is not None
            u1_call = u1.call_id
    assert qm.post(f"/clips/{clips[0]}/retire").status_code == 303
    assert qm.post(f"/calls/{u1_call}/consent", {"consent": "no"}).status_code == 303
    with app.app_context():
        assert play_order(a, playlist_id) == ["S2", "U2"]
    page = unescape(qm.get(f"/playlists/{playlist_id}").text)
    assert shown_order(page) == ["S2", "U2"] and listed(page) == clips  # still listed, not played
    assert "Will not play: Retired: it no longer plays in the room." in page
    assert "Will not play: The customer's consent is not \"yes\" any more." in page
    # Consent given again, clip approved again: both play again, in turn.
    assert qm.post(f"/calls/{u1_call}/consent", {"consent": "yes"}).status_code == 303
    assert qm.post(f"/clips/{clips[0]}/approve").status_code == 303
    with app.app_context():
        assert play_order(a, playlist_id) == ["S1", "U1", "S2", "U2"]
