"""Written complaints in the room (issue #16, item 7): a complaint's masked excerpt as a card in a
playlist, only with the customer's consent, shown for a time that fits its length, after the voice
before it; the manifest carries the cards."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.errors import UserError
from webapp.i18n import force_locale
from webapp.models import Complaint, Consent, Kiosk, PlaylistItem, Role, Tag, TagKind
from webapp.services import cards, kiosks, playlists

SAID = "Bonjour, je suis Jeanne Martin. Mon four est tombé en panne après deux jours, c'est inadmissible."


def _complaint(app: Flask, tenant_id: int, consent: Consent = Consent.YES) -> int:
    with app.app_context():
        complaint_id = factories.make_complaint(tenant_id, text=SAID)
        with tenancy.tenant_session(tenant_id) as session:
            complaint = session.get(Complaint, complaint_id)
            assert complaint is not None
            complaint.consent = consent
            start = SAID.index("Jeanne Martin")
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.PII, value="name",
                            evidence=[[start, start + len("Jeanne Martin"), "name"]]))
        return complaint_id


def test_reading_time_grows_with_length_and_is_capped() -> None:
    assert cards.card_seconds("") == 4.0
    assert cards.card_seconds("x" * 100) == 10.0
    assert cards.card_seconds("x" * 1000) == cards.MAX_SECONDS


def test_a_card_is_the_masked_excerpt_or_a_passage_of_it_and_needs_consent(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    yes, unknown = _complaint(app, a), _complaint(app, a, Consent.UNKNOWN)
    with app.app_context():
        playlist_id = factories.make_playlist(a, [])
    with app.test_request_context(), force_locale("en"), tenancy.tenant_session(a) as session:
        playlist = playlists.get_playlist(session, playlist_id)
        actor = factories._admin(session)  # noqa: SLF001  # the company's first curator, as the factories use
        with pytest.raises(UserError, match="consent"):
            cards.add_card(session, actor, playlist, session.get(Complaint, unknown))  # type: ignore[arg-type]
        with pytest.raises(UserError, match="only be shortened"):
            cards.add_card(session, actor, playlist, session.get(Complaint, yes),  # type: ignore[arg-type]
                           "Mon four est tombé en panne, Jeanne Martin")
        item = cards.add_card(session, actor, playlist, session.get(Complaint, yes),  # type: ignore[arg-type]
                              "  Mon four est tombé en panne après deux jours ")
        assert item.card_text == "…Mon four est tombé en panne après deux jours…"
        with pytest.raises(UserError, match="already"):
            cards.add_card(session, actor, playlist, session.get(Complaint, yes))  # type: ignore[arg-type]
        full = cards.masked_excerpt(session, session.get(Complaint, yes))  # type: ignore[arg-type]
        assert "Jeanne" not in full and "•••" in full


def test_the_manifest_carries_cards_after_their_voice(app: Flask, tenants: dict[str, TenantSet],
                                                     login_as: object) -> None:
    a = tenants["a"].id
    with app.app_context():
        call = factories.make_ready_call(a, seconds=6.0)
        first = factories.make_clip(a, call, start=0.0, end=2.0, render=True, approve=True)
        second = factories.make_clip(a, call, start=3.0, end=5.0, sentiment="unhappy", render=True, approve=True)
        playlist_id = factories.make_playlist(a, [first])
    complaint_id = _complaint(app, a)
    manager = login_as("a", Role.QUALITY_MANAGER, locale="en")  # type: ignore[operator]
    added = manager.post(f"/playlists/{playlist_id}/cards", {"complaint_id": str(complaint_id), "text": ""},
                         headers={"HX-Request": "true"})
    assert added.status_code == 200 and f'data-complaint-id="{complaint_id}"' in added.text
    assert "Jeanne" not in added.text and "•••" in added.text
    assert manager.post(f"/playlists/{playlist_id}/clips", {"clip_id": str(second)}).status_code == 303
    refused = manager.post(f"/playlists/{playlist_id}/cards", {"complaint_id": "999999"},
                           headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "No complaint has this number" in refused.text

    with app.app_context(), tenancy.tenant_session(a) as session:
        ref = factories.make_kiosk(a, playlist_id)
        kiosk = session.get(Kiosk, ref.id)
        assert kiosk is not None
        body, _version = kiosks.manifest(session, kiosk)
        (card,) = body["cards"]
        assert card["after"] == first and card["id"] == f"card-{complaint_id}" and "•••" in card["text"]
        assert card["seconds"] == cards.card_seconds(card["text"])
        assert [c["id"] for c in body["clips"]] == [first, second]
        # Consent withdrawn: the card leaves the room.
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        complaint.consent = Consent.NO
        session.flush()
        assert kiosks.manifest(session, kiosk)[0]["cards"] == []

    removed = manager.post(f"/playlists/{playlist_id}/cards/remove", {"complaint_id": str(complaint_id)})
    assert removed.status_code == 303
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert session.scalars(select(PlaylistItem).where(PlaylistItem.complaint_id == complaint_id)).all() == []
    assert re.search(r"card-\d+", manager.get(f"/playlists/{playlist_id}").text) is None
