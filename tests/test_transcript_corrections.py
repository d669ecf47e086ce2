"""Correcting a call's words (issue #16, item 1): in the clip editor and on the call's transcript page.

A correction changes words' text and keeps their timings; it flows into the call's transcript, queues
the call's tagging again and the clip's rendering (captions rebuilt from the corrected words, personal
data masked in them), and is journalled without the words. Approving shows the caption for one last
read. Real parts: the database of the run, ffmpeg, the ``process_call`` and ``render_clip`` handlers;
the transcript is written by the test (one word every half second), as in test_clips.py.
"""

from __future__ import annotations

import json
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, TenantSet
from tests.test_clips import get_clip, processed_call, render, set_consent
from webapp import jobs, search, tenancy
from webapp.errors import NotFound, UserError
from webapp.models import AuditEvent, Call, ClipStatus, Kiosk, RenderStatus, Role, Transcript, User
from webapp.services import clips, kiosks, transcripts

SAID = "bonjour je vous réponds car je recommandrai votre magasin à mes amis sans hésiter du tout"
#: "réponds" and "recommandrai": the recogniser's mistakes the issue quotes (words 3 and 6).
REPONDS, RECOMMANDRAI = "0-3", "0-6"


@pytest.fixture
def qm(login_as: Any) -> Client:
    client: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    return client


def _curator(session: Any) -> User:
    user = session.scalars(select(User).where(User.role == Role.QUALITY_MANAGER)).first()
    assert user is not None
    return user


def a_clip(tenant_id: int, *, consent: str = "yes", approve: bool = False) -> tuple[int, int]:
    """A processed call saying :data:`SAID` and a rendered clip of its first 5 s (words 0 to 9)."""
    call_id = processed_call(tenant_id, said=SAID, consent=consent)
    clip_id = factories.make_clip(tenant_id, call_id, start=0.0, end=4.9, render=True, approve=approve)
    return call_id, clip_id


def transcript_of(tenant_id: int, call_id: int) -> Transcript:
    with tenancy.tenant_session(tenant_id) as session:
        row = session.scalars(select(Transcript).where(Transcript.call_id == call_id)).one()
        session.expunge_all()
        return row


def queued(tenant_id: int, kind: str) -> list[jobs.Job]:
    with tenancy.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(jobs.Job).where(jobs.Job.kind == kind, jobs.Job.status == "queued")))
        session.expunge_all()
        return rows


def journal(tenant_id: int) -> list[AuditEvent]:
    with tenancy.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "transcript.corrected")))
        session.expunge_all()
        return rows


def correct(tenant_id: int, call_id: int, corrections: dict[str, str]) -> transcripts.Correction:
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        return transcripts.correct(session, _curator(session), call, corrections)


def caption_text(tenant_id: int, clip_id: int) -> str:
    return " ".join(line["text"] for line in get_clip(tenant_id, clip_id).captions)


def test_a_correction_keeps_timings_and_flows_into_the_transcript_the_tagger_and_the_journal(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id, clip_id = a_clip(a)
        before = transcript_of(a, call_id)
        assert "recommandrai" in caption_text(a, clip_id)
        done = correct(a, call_id, {REPONDS: "réponds", RECOMMANDRAI: " recommanderai ", "0-8": "grand magasin",
                                    "0-2": ""})
        assert done == transcripts.Correction(3, [clip_id])  # "réponds" was given unchanged
        after = transcript_of(a, call_id)
        old_words, new_words = before.segments[0]["words"], after.segments[0]["words"]
        # Timings stay, word for word; texts keep the recogniser's leading space; an emptied word keeps its place.
        assert [(w["start"], w["end"]) for w in new_words] == [(w["start"], w["end"]) for w in old_words]
        assert [w["word"] for w in new_words][:9] == [" bonjour", " je", "", " réponds", " car", " je",
                                                      " recommanderai", " votre", " grand magasin"]
        assert after.text == ("bonjour je réponds car je recommanderai votre grand magasin à mes amis sans hésiter "
                              "du tout")
        assert after.text_folded == search.fold(after.text) and after.corrected_at is not None
        assert after.segments[0]["text"] == after.text
        # The tagger runs again on the corrected words; the clip is rendered again from them.
        assert [j.payload for j in queued(a, "process_call") if ":corrected:" in j.idempotency_key] == [
            {"call_id": call_id}]
        clip = get_clip(a, clip_id)
        assert clip.render_status == RenderStatus.PENDING and clip.captions_corrected_at == after.corrected_at
        assert [j.payload for j in queued(a, clips.RENDER_KIND) if ":corrected:" in j.idempotency_key] == [
            {"clip_id": clip_id}]
        render(a, clip_id)
        text = caption_text(a, clip_id)
        assert "recommanderai votre grand magasin" in text and "recommandrai" not in text
        assert text.startswith("bonjour je réponds")  # the emptied word shows nothing
        # The journal says who corrected how many words of what, never the words.
        [event] = journal(a)
        assert event.target == f"call:{call_id}" and event.details == {"words": 3, "clips": [clip_id]}
        assert "recommanderai" not in json.dumps(event.details) and "magasin" not in json.dumps(event.details)
        # Nothing changed: nothing queued, nothing journalled.
        assert correct(a, call_id, {RECOMMANDRAI: "recommanderai"}) == transcripts.Correction(0, [])
        assert len(journal(a)) == 1


def test_personal_data_stays_masked_in_the_corrected_caption(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id, clip_id = a_clip(a)
        # The recogniser heard "magasin à"; the customer gave her phone number.
        correct(a, call_id, {"0-8": "au 06 12 34", "0-9": "56 78"})
        render(a, clip_id)
        text = caption_text(a, clip_id)
        assert "•••" in text and not any(ch.isdigit() for ch in text), text
        assert "06 12 34" in transcript_of(a, call_id).text  # the transcript holds what was said


def test_words_outside_the_clip_recaption_no_clip_and_a_bad_word_is_refused(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id, clip_id = a_clip(a)
        assert correct(a, call_id, {"0-14": "vraiment"}) == transcripts.Correction(1, [])
        assert get_clip(a, clip_id).render_status == RenderStatus.READY
        for bad in ({"0-99": "mot"}, {"3-0": "mot"}, {"0-1": "x" * 101}):
            with pytest.raises(UserError):
                correct(a, call_id, bad)


def test_the_kiosk_manifest_changes_version_when_a_caption_changes(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id, clip_id = a_clip(a, approve=True)
        kiosk = factories.make_kiosk(a, factories.make_playlist(a, [clip_id]))

        def served() -> tuple[str, str]:
            with tenancy.tenant_session(a) as session:
                row = session.get(Kiosk, kiosk.id)
                assert row is not None
                body, version = kiosks.manifest(session, row)
                return version, " ".join(line["text"] for c in body["clips"] for line in c["captions"])

        version, text = served()
        correct(a, call_id, {RECOMMANDRAI: "recommanderai"})
        render(a, clip_id)
        assert get_clip(a, clip_id).status == ClipStatus.APPROVED  # still in the room
        new_version, new_text = served()
        assert new_version != version and "recommanderai" in new_text and "recommanderai" not in text


def test_another_companys_clip_or_call_is_not_found(app: Flask, tenants: dict[str, TenantSet],
                                                    login_as: Any) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        call_id, clip_id = a_clip(a)
        with tenancy.tenant_session(b) as session:
            with pytest.raises(NotFound):
                clips.get_clip(session, clip_id)
            assert session.get(Call, call_id) is None
    other: Client = login_as("b", Role.QUALITY_MANAGER, locale="en")
    assert other.post(f"/clips/{clip_id}/words", data={RECOMMANDRAI: "x"}).status_code == 404
    assert other.post(f"/calls/{call_id}/transcript", data={"word-0-6": "x"}).status_code == 404
    assert other.get(f"/calls/{call_id}/transcript").status_code == 404
    assert other.get(f"/clips/{clip_id}/approve").status_code == 404
    with app.app_context():
        assert "recommandrai" in transcript_of(a, call_id).text


def test_the_clip_editor_corrects_words_and_approval_shows_the_caption_first(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id, clip_id = a_clip(a)
    page = qm.get(f"/clips/{clip_id}")
    assert page.status_code == 200
    html = unescape(page.text)
    assert 'name="word-0-6" value="recommandrai"' in html and 'aria-label="Word said at 3 sec"' in html
    # The clip page's "Approve" leads to one last read of the caption, which approves.
    assert f'action="/clips/{clip_id}/approve"' in html and 'method="get"' in html
    saved = qm.post(f"/clips/{clip_id}/words", data={"word-0-6": "recommanderai", "word-0-3": "réponds"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/clips/{clip_id}#clip-words")
    with app.app_context():
        assert "recommanderai" in transcript_of(a, call_id).text
    refused = qm.post(f"/clips/{clip_id}/words", data={"word-0-6": "x" * 101})
    assert refused.status_code == 422 and "too long" in refused.text and 'value="' + "x" * 101 in refused.text
    with app.app_context():
        render(a, clip_id)
        set_consent(a, call_id, "yes")
    last_read = qm.get(f"/clips/{clip_id}/approve")
    assert last_read.status_code == 200
    assert "recommanderai" in last_read.text and 'id="approve-refusal"' not in last_read.text
    assert qm.post(f"/clips/{clip_id}/approve").status_code == 303
    with app.app_context():
        assert get_clip(a, clip_id).status == ClipStatus.APPROVED


def test_the_call_transcript_page_corrects_a_passage(app: Flask, tenants: dict[str, TenantSet], qm: Client,
                                                     login_as: Any) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id, clip_id = a_clip(a)
    assert f'href="/calls/{call_id}/transcript"' in qm.get(f"/calls/{call_id}").text
    page = qm.get(f"/calls/{call_id}/transcript")
    assert page.status_code == 200 and 'name="word-0-6" value="recommandrai"' in unescape(page.text)
    saved = qm.post(f"/calls/{call_id}/transcript", data={"word-0-6": "recommanderai"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/calls/{call_id}/transcript#words-0")
    assert "Corrected: 1 word." in qm.get(saved.headers["Location"]).text
    with app.app_context():
        assert "recommanderai" in transcript_of(a, call_id).text
        assert get_clip(a, clip_id).render_status == RenderStatus.PENDING
    staff: Client = login_as("a", Role.STAFF, locale="en")
    assert staff.get(f"/calls/{call_id}/transcript").status_code == 403
    assert staff.post(f"/calls/{call_id}/transcript", data={"word-0-6": "x"}).status_code == 403
    with app.app_context():
        assert "recommanderai" in transcript_of(a, call_id).text


def test_personal_data_offsets_follow_the_corrected_text_until_the_tagger_runs_again(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    """Excerpts mask by character offsets into the text: a correction before an e-mail address moves it."""
    from webapp.models import Tag, TagKind
    from webapp.services import excerpts

    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a, said="bonjour mon adresse est jean.dupont@exemple.fr merci beaucoup")

        def said_at_offsets() -> list[str]:
            with tenancy.tenant_session(a) as session:
                text = excerpts.call_text(session.scalars(select(Transcript)
                                                          .where(Transcript.call_id == call_id)).one())
                tags = session.scalars(select(Tag).where(Tag.call_id == call_id, Tag.kind == TagKind.PII))
                return [text[e[0]:e[1]] for tag in tags for e in tag.evidence]

        assert "jean.dupont@exemple.fr" in said_at_offsets()
        correct(a, call_id, {"0-1": "voici donc mon", "0-0": "Bonjour madame,"})
        assert "jean.dupont@exemple.fr" in said_at_offsets()
