"""The pairing form (issue #13, item 15): its playlist no longer defaults to "none", which paired
screens with nothing to play; choosing none stays possible, and says what it means."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import Kiosk, Role
from webapp.services import kiosks


def selected(page: str) -> list[str]:
    """The values of the options selected in the pairing form's playlist list."""
    form = page.split('id="pair-form"')[1].split("</form>")[0]
    select = form.split('name="playlist_id"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select)


def test_the_playlist_defaults_to_the_first_one(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    b = tenants["b"].id
    with app.app_context():
        first = factories.make_playlist(b, name="Accueil")
        factories.make_playlist(b, name="Salle du fond")
    admin = login_as("b", Role.TENANT_ADMIN)
    page = admin.get("/settings/kiosks").text
    assert selected(page) == [str(first)]
    assert "None for now" in page  # still possible, on purpose
    assert "No playlist yet" not in page


def test_without_a_playlist_the_form_warns_and_pairing_says_the_screen_plays_nothing(
        app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    b = tenants["b"].id
    admin = login_as("b", Role.TENANT_ADMIN)
    page = unescape(admin.get("/settings/kiosks").text)
    assert selected(page) == [""]
    assert "No playlist yet: a screen paired now plays nothing until you give it one." in page
    assert 'href="/playlists"' in page.split('id="pair-form"')[0] + page.split('id="pair-form"')[1]

    with app.app_context(), tenancy.tenant_session(None) as session:
        code = kiosks.start_pairing(session).code
    paired = admin.post("/settings/kiosks", {"code": code, "name": "Salle", "playlist_id": ""}, follow_redirects=True)
    assert paired.status_code == 200
    assert "it plays nothing until you choose a playlist for it below" in unescape(paired.text)
    with app.app_context(), tenancy.tenant_session(b) as session:
        kiosk = session.scalars(select(Kiosk)).one()
        assert (kiosk.name, kiosk.playlist_id) == ("Salle", None)
