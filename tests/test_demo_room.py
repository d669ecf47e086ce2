"""The demo company's customer room, made by the real pipeline: calls spoken, transcribed, cut into
clips, approved and put in a playlist that a screen can play at once; done only once."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.conftest import TenantSet
from tests.speech import speak
from webapp import tenancy
from webapp.models import Call, Clip, ClipStatus, Playlist, RenderStatus
from webapp.services import playlists
from worker import demo_room

SHORT = (("Merci", "satisfied", "Box", "Merci beaucoup, tout fonctionne très bien maintenant."),
         ("Colère", "unhappy", "Canapé", "Ma commande n'est jamais arrivée, c'est inadmissible."))


def test_the_demo_room_is_ready_to_play_and_made_once(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id

    def voice(path, text):  # type: ignore[no-untyped-def]
        return speak(path, text, "fr")

    with app.app_context():
        assert demo_room.seed_room(a, voice, SHORT) is True
        assert demo_room.seed_room(a, voice, SHORT) is False  # the company has calls: nothing more
        with tenancy.tenant_session(a) as session:
            assert session.scalar(select(func.count()).select_from(Call)) == 2
            playlist = session.scalars(select(Playlist)).one()
            assert playlist.name == demo_room.PLAYLIST
            played = playlists.playable(playlist)
            assert [c.sentiment for c in played] == ["satisfied", "unhappy"]
            assert all(c.status == ClipStatus.APPROVED and c.render_status == RenderStatus.READY for c in played)
            assert "merci" in " ".join(line["text"] for line in played[0].captions).lower()
        with tenancy.tenant_session(tenants["b"].id) as session:
            assert session.scalars(select(Clip)).all() == []
        ref = factories.make_kiosk(a, playlist.id)
    kiosk = app.test_client()
    kiosk.set_cookie("ecoute_kiosk", ref.token, path="/kiosk")
    assert len(kiosk.get("/kiosk/manifest.json").json["clips"]) == 2  # type: ignore[index]
