"""Clips over HTTP: made on the call page, refused when they make no sense, approved only with the
customer's consent, edited (new edges: rendered again, approved again), searched, listened to;
the call's waveform peaks; only curators, only their company.

Real parts: the database of the run, ffmpeg (renditions and clips), the tagger, the ``process_call``
and ``render_clip`` handlers. The calls' transcripts are written by the test (one word every half
second), so the words and their times are known exactly; Whisper is tested elsewhere.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, CountQueries, TenantSet
from webapp import jobs, tenancy
from webapp.models import AuditEvent, Call, Clip, ClipStatus, Consent, RenderStatus, Role, Transcript
from webapp.services import audit, clips
from worker.handlers import JobContext, process_call, render_clip

SAID = "bonjour ma commande n'est toujours pas arrivée c'est inadmissible je voudrais être remboursée rapidement"
WORD_SECONDS = 0.5


def processed_call(tenant_id: int, *, said: str = SAID, product: str = "", consent: str = "unknown") -> int:
    """A call of a generated tone whose transcript is ``said`` (one word every half second), processed by
    the real ``process_call`` job: renditions, waveform peaks, tags; status "ready". Needs an app context."""
    words = said.split()
    call_id = factories.make_call(tenant_id, product=product, seconds=len(words) * WORD_SECONDS + 0.5)
    timed = [{"start": i * WORD_SECONDS, "end": i * WORD_SECONDS + 0.4, "word": f" {w}", "probability": 0.9}
             for i, w in enumerate(words)]
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.consent = Consent(consent)
        session.add(Transcript(call_id=call_id, language="fr", language_probability=1.0, text=said, engine="test",
                               segments=[{"start": 0.0, "end": timed[-1]["end"], "text": said, "words": timed}]))
    run_job(process_call.Handler(), process_call.KIND, tenant_id, call_id=call_id)
    return call_id


def run_job(handler: Any, kind: str, tenant_id: int, **payload: object) -> None:
    from flask import current_app

    handler.run(JobContext(job_id=0, kind=kind, tenant_id=tenant_id, payload=dict(payload), attempt=1,
                           max_attempts=5, settings=current_app.config["ECOUTE"]))


def render(tenant_id: int, clip_id: int) -> None:
    """Run the real ``render_clip`` job, as the worker would."""
    run_job(render_clip.Handler(), render_clip.KIND, tenant_id, clip_id=clip_id)


def set_consent(tenant_id: int, call_id: int, consent: str) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.consent = Consent(consent)


def get_clip(tenant_id: int, clip_id: int) -> Clip:
    with tenancy.tenant_session(tenant_id) as session:
        clip = clips.get_clip(session, clip_id)
        session.expunge_all()
        return clip


def all_clips(tenant_id: int) -> list[Clip]:
    with tenancy.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(Clip).order_by(Clip.id)))
        session.expunge_all()
        return rows


def render_jobs(tenant_id: int) -> list[jobs.Job]:
    with tenancy.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(jobs.Job).where(jobs.Job.kind == clips.RENDER_KIND).order_by(jobs.Job.id)))
        session.expunge_all()
        return rows


def actions(tenant_id: int, action: str) -> list[AuditEvent]:
    with tenancy.tenant_session(tenant_id) as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        session.expunge_all()
        return rows


def clip_form(**changes: str) -> dict[str, str]:
    form = {"start": "1.00", "end": "4.40", "title": "Commande jamais arrivée", "sentiment": "unhappy",
            "topic": "delivery", "note": "Ton très calme malgré la colère."}
    form.update(changes)
    return form


@pytest.fixture
def qm(login_as: Any) -> Client:
    """Company A's quality manager, reading English (company A speaks French)."""
    client: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    return client


# --- making a clip on the call page --------------------------------------------------------------


def test_the_call_page_offers_the_waveform_and_a_form_prefilled_from_the_tags(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    with app.app_context():
        call_id = processed_call(tenants["a"].id)
    page = qm.get(f"/calls/{call_id}")
    assert page.status_code == 200
    html = page.text
    assert f'data-peaks-url="/calls/{call_id}/peaks.json"' in html
    nonce = re.search(r'data-style-nonce="([^"]+)"', html)
    assert nonce and f"style-src 'self' 'nonce-{nonce.group(1)}'" in page.headers["Content-Security-Policy"]
    assert "<style" not in html and " style=" not in html
    assert f'action="/calls/{call_id}/clips"' in html and 'hx-post="/calls/' in html
    # The machine heard an unhappy customer talking about a delivery: the form says so already.
    assert re.search(r'value="unhappy" checked', html) and not re.search(r'value="satisfied" checked', html)
    assert re.search(r'<option value="delivery" selected>', html)
    assert 'id="consent-notice"' in html and "consent to reuse this call is not recorded" in unescape(html)
    assert "No clip made from this call yet." in html


def test_a_clip_made_with_a_plain_form_is_stored_and_queued_for_rendering(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a)
    done = qm.post(f"/calls/{call_id}/clips", clip_form())
    assert done.status_code == 303 and done.headers["Location"] == f"/calls/{call_id}#call-clips"
    with app.app_context():
        [clip] = all_clips(a)
        [job] = render_jobs(a)
        [created] = actions(a, "clip.created")
    assert (clip.call_id, clip.start_s, clip.end_s, clip.title) == (call_id, 1.0, 4.4, "Commande jamais arrivée")
    assert (clip.sentiment, clip.topic, clip.note) == ("unhappy", "delivery", "Ton très calme malgré la colère.")
    assert (clip.status, clip.render_status) == (ClipStatus.DRAFT, RenderStatus.PENDING)
    assert clip.created_by_id == tenants["a"].users[Role.QUALITY_MANAGER].id
    assert job.payload == {"clip_id": clip.id} and job.status == "queued"
    assert created.target == f"clip:{clip.id}"
    page = qm.get(f"/calls/{call_id}").text
    assert "saved as a draft" in page and f'href="/clips/{clip.id}"' in page
    assert 'data-render-status="pending"' in page and 'hx-trigger="every 2s"' in page

    # While it renders the rows poll themselves; once rendered the answer says "stop" (286).
    headers = {"HX-Request": "true", "HX-Target": "call-clip-rows"}
    polled = qm.get(f"/calls/{call_id}/clips", headers=headers)
    assert polled.status_code == 200 and "Being prepared" in polled.text and "<html" not in polled.text
    with app.app_context():
        render(a, clip.id)
    polled = qm.get(f"/calls/{call_id}/clips", headers=headers)
    assert polled.status_code == 286 and 'data-render-status="ready"' in polled.text


def test_a_clip_made_with_htmx_comes_back_in_the_list_with_an_empty_form(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    with app.app_context():
        call_id = processed_call(tenants["a"].id)
    answer = qm.post(f"/calls/{call_id}/clips", clip_form(title="Colis perdu"), htmx=True)
    assert answer.status_code == 200 and "<html" not in answer.text
    assert answer.text.lstrip().startswith('<section class="card" id="call-clips"')
    assert "Colis perdu" in answer.text
    form = re.search(r'<form id="clip-form".*?</form>', answer.text, re.S)
    assert form and 'hx-swap-oob="true"' in form.group(0)
    assert 'name="start" type="number" step="0.01" min="0" inputmode="decimal" value=""' in form.group(0)
    assert 'id="flash" hx-swap-oob="innerHTML"' in answer.text


@pytest.mark.parametrize(("changes", "message"), [
    ({"start": "4.00", "end": "1.00"}, "A clip lasts between 1 second and 120 seconds"),
    ({"start": "2.00", "end": "2.50"}, "A clip lasts between 1 second and 120 seconds"),
    ({"start": "", "end": "3"}, "Choose the start and end of the clip"),
    ({"start": "deux", "end": "3"}, "Choose the start and end of the clip"),
    ({"title": "   "}, "Give the clip a title"),
    ({"sentiment": "neutral"}, "Say whether this customer is satisfied or unhappy"),
    ({"topic": "not_a_topic"}, "This topic is not in your company's list"),
])
def test_bad_clip_input_is_refused_with_its_reason_and_nothing_is_stored(
        app: Flask, tenants: dict[str, TenantSet], qm: Client, changes: dict[str, str], message: str) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a)
    refused = qm.post(f"/calls/{call_id}/clips", clip_form(**changes))
    assert refused.status_code == 422
    assert message in unescape(refused.text) and 'id="clip-form"' in refused.text
    assert 'value="Commande jamais arrivée"' in refused.text or "title" in changes  # what was typed stays
    partial = qm.post(f"/calls/{call_id}/clips", clip_form(**changes), htmx=True)
    assert partial.status_code == 422 and message in unescape(partial.text) and "<html" not in partial.text
    assert partial.headers["HX-Retarget"] == "#clip-form" and partial.headers["HX-Reswap"] == "outerHTML"
    with app.app_context():
        assert all_clips(a) == [] and render_jobs(a) == [] and actions(a, "clip.created") == []


def test_no_clip_of_a_call_that_is_not_ready(app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_call(a, seconds=6)
    page = qm.get(f"/calls/{call_id}").text
    assert 'id="clip-form"' not in page and 'id="waveform"' not in page
    refused = qm.post(f"/calls/{call_id}/clips", clip_form())
    assert refused.status_code == 422 and "This call is not transcribed yet" in refused.text
    assert qm.get(f"/calls/{call_id}/peaks.json").status_code == 404
    with app.app_context():
        assert all_clips(a) == [] and render_jobs(a) == []


def test_the_waveform_peaks_come_from_the_worker(app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    with app.app_context():
        call_id = processed_call(tenants["a"].id)
    answer = qm.get(f"/calls/{call_id}/peaks.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    doc = json.loads(answer.data)
    seconds = len(SAID.split()) * WORD_SECONDS + 0.5
    assert doc["seconds_per_peak"] == 0.05
    assert abs(len(doc["peaks"]) - seconds * 20) <= 2
    assert max(doc["peaks"]) > 0.1 and all(0 <= p <= 1 for p in doc["peaks"])


# --- approval, consent, retirement, edits ---------------------------------------------------------


def test_approval_needs_the_customers_consent_and_says_why(app: Flask, tenants: dict[str, TenantSet],
                                                          qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a)
    assert qm.post(f"/calls/{call_id}/clips", clip_form()).status_code == 303
    with app.app_context():
        [clip] = all_clips(a)
    clip_id = clip.id

    # Not rendered yet, and no consent recorded: the consent is what the page explains first.
    page = unescape(qm.get(f"/clips/{clip_id}").text)
    assert 'id="approve-refusal"' in page and "consent to reuse this call is not recorded" in page
    assert 'class="primary looks-disabled"' in page  # still a button: pressing it says why again
    with app.app_context():
        render(a, clip_id)
    refused = qm.post(f"/clips/{clip_id}/approve")
    assert refused.status_code == 422 and "consent to reuse this call is not recorded" in unescape(refused.text)

    # The customer said no.
    said_no = qm.post(f"/calls/{call_id}/consent", {"consent": "no"})
    assert said_no.status_code == 303
    refused = qm.post(f"/clips/{clip_id}/approve")
    assert refused.status_code == 422 and "The customer refused that this call be reused" in refused.text
    with app.app_context():
        assert get_clip(a, clip_id).status == ClipStatus.DRAFT
        assert actions(a, "clip.approved") == []
        [changed] = actions(a, "call.consent_changed")
    assert changed.target == f"call:{call_id}" and changed.details == {"before": "unknown", "after": "no"}
    assert qm.post(f"/calls/{call_id}/consent", {"consent": "maybe"}).status_code == 422

    # The customer agreed: approval goes through, and is journalled.
    assert qm.post(f"/calls/{call_id}/consent", {"consent": "yes"}).status_code == 303
    assert "consent-notice" not in qm.get(f"/calls/{call_id}").text
    approved = qm.post(f"/clips/{clip_id}/approve")
    assert approved.status_code == 303 and approved.headers["Location"] == f"/clips/{clip_id}"
    with app.app_context():
        clip = get_clip(a, clip_id)
        assert actions(a, "clip.approved")[0].target == f"clip:{clip_id}"
    assert clip.status == ClipStatus.APPROVED and clip.approved_at is not None
    assert clip.approved_by_id == tenants["a"].users[Role.QUALITY_MANAGER].id
    page = qm.get(f"/clips/{clip_id}").text
    assert 'data-clip-status="approved"' in page and 'id="clip-approve"' not in page
    assert "Add to playlist" in page or "No other playlist" in page

    # Retired: out of the room; it can be approved again.
    assert qm.post(f"/clips/{clip_id}/retire").status_code == 303
    with app.app_context():
        clip = get_clip(a, clip_id)
        assert [e.target for e in actions(a, "clip.retired")] == [f"clip:{clip_id}"]
    assert clip.status == ClipStatus.RETIRED and clip.retired_at is not None
    page = qm.get(f"/clips/{clip_id}").text
    assert "Approve again" in page and 'id="clip-retire"' not in page
    assert qm.post(f"/clips/{clip_id}/approve").status_code == 303
    with app.app_context():
        assert get_clip(a, clip_id).status == ClipStatus.APPROVED


def test_moving_the_edges_renders_again_and_sends_an_approved_clip_back_to_draft(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a, consent="yes")
        clip_id = factories.make_clip(a, call_id, start=1.0, end=4.4, render=True, approve=True)
        clip = get_clip(a, clip_id)
    assert clip.status == ClipStatus.APPROVED
    start, end = f"{clip.start_s:.3f}", f"{clip.end_s:.3f}"

    # New words only: still approved, nothing to render.
    same_edges = {"start": start, "end": end, "title": "Nouveau titre", "sentiment": "unhappy", "topic": "",
                  "note": ""}
    assert qm.post(f"/clips/{clip_id}", same_edges).status_code == 303
    with app.app_context():
        clip = get_clip(a, clip_id)
        assert len(render_jobs(a)) == 1
    assert (clip.title, clip.status, clip.render_status) == ("Nouveau titre", ClipStatus.APPROVED, RenderStatus.READY)

    # New edges: new audio, and a person approves again what the room will hear.
    moved = qm.post(f"/clips/{clip_id}", {**same_edges, "start": "3.00", "end": "6.40"})
    assert moved.status_code == 303
    assert "back to draft" in qm.get(moved.headers["Location"]).text
    with app.app_context():
        clip = get_clip(a, clip_id)
        queued = render_jobs(a)
        [edited, _moved] = actions(a, "clip.edited")
    assert (clip.start_s, clip.end_s) == (3.0, 6.4)
    assert (clip.status, clip.render_status, clip.approved_at) == (ClipStatus.DRAFT, RenderStatus.PENDING, None)
    assert len(queued) == 2 and queued[1].payload == {"clip_id": clip_id}
    assert edited.details == {"moved": False} and _moved.details == {"moved": True}

    refused = qm.post(f"/clips/{clip_id}", {**same_edges, "start": "6", "end": "3"})
    assert refused.status_code == 422 and "A clip lasts between" in refused.text
    with app.app_context():
        assert (get_clip(a, clip_id).start_s, len(render_jobs(a))) == (3.0, 2)


# --- listening ------------------------------------------------------------------------------------


def test_the_clip_audio_is_served_once_rendered_and_listening_is_journalled(
        app: Flask, tenants: dict[str, TenantSet], qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a)
        clip_id = factories.make_clip(a, call_id, start=1.0, end=4.4)
    assert qm.get(f"/clips/{clip_id}/audio").status_code == 404  # not rendered yet
    page = qm.get(f"/clips/{clip_id}").text
    assert f'hx-get="/clips/{clip_id}/status"' in page
    assert qm.get(f"/clips/{clip_id}/status", headers={"HX-Request": "true"}).status_code == 200
    with app.app_context():
        render(a, clip_id)
        clip = get_clip(a, clip_id)
    status = qm.get(f"/clips/{clip_id}/status", headers={"HX-Request": "true"})
    assert status.status_code == 286 and status.headers["HX-Refresh"] == "true"
    audio = qm.get(f"/clips/{clip_id}/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/webm"
    assert audio.data[:4] == b"\x1a\x45\xdf\xa3" and len(audio.data) == clip.audio_size  # a WebM file, whole
    rest = qm.get(f"/clips/{clip_id}/audio", headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.data == audio.data[100:]
    with app.app_context():
        assert actions(a, "clip.listened") == []  # served is not heard: the page's script says when it plays
    started = qm.raw.post(f"/clips/{clip_id}/listened", headers={"X-CSRFToken": qm.csrf_token()})
    assert started.status_code == 204
    with app.app_context():
        listened = actions(a, "clip.listened")
    me = tenants["a"].users[Role.QUALITY_MANAGER].id
    assert [(e.target, e.actor_id) for e in listened] == [(f"clip:{clip_id}", me)]
    page = unescape(qm.get(f"/clips/{clip_id}").text)
    assert (f'<audio id="clip-player" controls preload="metadata" src="/clips/{clip_id}/audio"'
            f' data-listen-url="/clips/{clip_id}/listened">') in page
    assert clip.captions
    for line in clip.captions:
        assert line["text"] in page


# --- the list -------------------------------------------------------------------------------------


def test_clips_are_found_by_words_sentiment_status_and_product(app: Flask, tenants: dict[str, TenantSet],
                                                               qm: Client) -> None:
    a = tenants["a"].id
    with app.app_context():
        oven = processed_call(a, product="Four FX-200", consent="yes")
        fridge = processed_call(a, said="merci beaucoup le frigo fonctionne parfaitement je suis ravie du service",
                                product="Frigo Polar")
        late = factories.make_clip(a, oven, start=1.0, end=4.4, title="Commande en retard", sentiment="unhappy",
                                   render=True, approve=True)
        happy = factories.make_clip(a, fridge, start=0.0, end=3.4, title="Cliente ravie", sentiment="satisfied")
    listed = qm.get("/clips")
    assert listed.status_code == 200 and "2 clips" in listed.text and "Vary" in listed.headers
    assert listed.headers["Vary"] == "HX-Request" or "HX-Request" in listed.headers["Vary"]

    def found(query: str) -> set[int]:
        answer = qm.get(f"/clips?{query}", headers={"HX-Request": "true"})
        assert answer.status_code == 200 and "<html" not in answer.text, query
        return {int(n) for n in re.findall(r'<tr id="clip-(\d+)"', answer.text)}

    assert found("q=remboursée") == {late}  # said in the call
    assert found("q=ravie") == {happy}  # in the title (and said)
    assert found("q=RETARD") == {late}
    assert found("sentiment=satisfied") == {happy}
    assert found("status=approved") == {late}
    assert found("status=draft") == {happy}
    assert found("product=polar") == {happy}
    assert found("product=four&sentiment=satisfied") == set()
    assert found("status=nonsense") == {late, happy}  # ignored, like the calls list
    assert "No clip matches these filters" in qm.get("/clips?q=introuvable").text

    # One clip is still being prepared: the rows poll themselves until it is rendered (then 286: stop).
    assert 'id="clip-rows" hx-get="/clips"' in listed.text
    rows = {"HX-Request": "true", "HX-Target": "clip-rows"}
    assert qm.get("/clips", headers=rows).status_code == 200
    with app.app_context():
        render(a, happy)
    polled = qm.get("/clips", headers=rows)
    assert polled.status_code == 286 and "<html" not in polled.text
    assert re.findall(r'<tr id="clip-(\d+)"', polled.text) == [str(happy), str(late)]  # newest first
    assert 'hx-trigger="every 3s"' not in qm.get("/clips").text


def test_the_clip_list_asks_the_database_the_same_number_of_times_for_any_number_of_clips(
        app: Flask, tenants: dict[str, TenantSet], qm: Client, count_queries: CountQueries) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_ids = [factories.make_ready_call(a, seconds=4.0) for _ in range(4)]
        for call_id in call_ids[:2]:
            factories.make_clip(a, call_id)
    qm.get("/clips")  # warm caches (the logged-in person, the tenant) as a real session would
    with count_queries() as few:
        assert qm.get("/clips").status_code == 200
    with app.app_context():
        for call_id in call_ids[2:]:
            factories.make_clip(a, call_id)
            factories.make_clip(a, call_id, start=1.0, end=3.0)
    with count_queries() as many:
        page = qm.get("/clips")
    assert page.status_code == 200 and "6 clips" in page.text
    assert len(many) == len(few), str(many)
    # The person (and company), the count, the page of clips with their calls, their reactions from the room,
    # the topics for the filter, the alerts the menu counts as new.
    assert len(few.reads()) == 6, few.reads()


# --- who may -----------------------------------------------------------------------------------------


def _curation_urls(clip_id: int, playlist_id: int, call_id: int) -> list[tuple[str, str]]:
    return [("GET", "/clips"), ("GET", f"/clips/{clip_id}"), ("POST", f"/clips/{clip_id}"),
            ("POST", f"/clips/{clip_id}/approve"), ("POST", f"/clips/{clip_id}/retire"),
            ("POST", f"/clips/{clip_id}/playlists"), ("GET", f"/clips/{clip_id}/status"),
            ("GET", f"/clips/{clip_id}/audio"), ("POST", f"/clips/{clip_id}/listened"),
            ("GET", f"/clips/{clip_id}/approve"), ("POST", f"/clips/{clip_id}/words"),
            ("GET", "/playlists"), ("POST", "/playlists"),
            ("GET", f"/playlists/{playlist_id}"), ("POST", f"/playlists/{playlist_id}"),
            ("POST", f"/playlists/{playlist_id}/clips"), ("POST", f"/playlists/{playlist_id}/move"),
            ("POST", f"/playlists/{playlist_id}/remove"), ("GET", f"/calls/{call_id}/peaks.json"),
            ("GET", f"/calls/{call_id}/clips"), ("POST", f"/calls/{call_id}/clips"),
            ("POST", f"/calls/{call_id}/consent"), ("POST", f"/playlists/{playlist_id}/delete"),
            ("POST", f"/playlists/{playlist_id}/cards"), ("POST", f"/playlists/{playlist_id}/cards/remove")]


def test_the_urls_above_are_every_curation_route(app: Flask) -> None:
    rules = {(m, r.rule) for r in app.url_map.iter_rules() for m in (r.methods or set()) - {"HEAD", "OPTIONS"}
             if r.rule.startswith(("/clips", "/playlists")) or r.endpoint in (
                 "calls.call_peaks", "calls.call_clip_list", "calls.call_clip_create", "calls.call_consent")}
    listed = {(m, re.sub(r"/\d+", "/<id>", u)) for m, u in _curation_urls(1, 2, 3)}
    assert {(m, re.sub(r"<int:\w+>", "<id>", r)) for m, r in rules} == listed


def test_staff_may_not_curate_and_another_company_sees_nothing(app: Flask, tenants: dict[str, TenantSet],
                                                               login_as: Any) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a, consent="yes")
        clip_id = factories.make_clip(a, call_id, start=1.0, end=4.4, render=True, approve=True)
        playlist_id = factories.make_playlist(a, [clip_id])
    before = _state(app, a)
    staff = login_as("a", Role.STAFF)
    for method, url in _curation_urls(clip_id, playlist_id, call_id):
        answer = staff.get(url) if method == "GET" else staff.post(url, {"clip_id": str(clip_id),
                                                                          "playlist_id": str(playlist_id)})
        assert answer.status_code == 403, (method, url, answer.status_code)
    other = login_as("b", Role.QUALITY_MANAGER)
    for method, url in _curation_urls(clip_id, playlist_id, call_id):
        if url in ("/clips", "/playlists"):
            continue  # their own lists: A's clips are not in them (below)
        answer = other.get(url) if method == "GET" else other.post(url, {"clip_id": str(clip_id),
                                                                          "playlist_id": str(playlist_id)})
        assert answer.status_code == 404, (method, url, answer.status_code)
    assert "Commande" not in other.get("/clips").text and f'href="/playlists/{playlist_id}"' not in \
        other.get("/playlists").text
    assert _state(app, a) == before


def _state(app: Flask, tenant_id: int) -> list[tuple[Any, ...]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        clip_rows = [(c.id, c.status, c.title, c.start_s, c.end_s) for c in session.scalars(select(Clip))]
        consents = [(c.id, c.consent) for c in session.scalars(select(Call))]
        return [*clip_rows, *consents]


# --- the journal ---------------------------------------------------------------------------------------


def test_the_journal_names_the_screen_that_played_a_clip(app: Flask, tenants: dict[str, TenantSet],
                                                         login_as: Any) -> None:
    from webapp.db import utcnow

    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_ready_call(a)
        clip_id = factories.make_clip(a, call_id, title="Merci beaucoup")
        kiosk = factories.make_kiosk(a, name="Salle client Lyon")
        with tenancy.tenant_session(a) as session:
            audit.record_play(session, tenant_id=a, kiosk_id=kiosk.id, clip_id=clip_id, title="Merci beaucoup",
                              at=utcnow())
    journal = login_as("a", Role.TENANT_ADMIN, locale="en").get("/people/journal").text
    row = re.search(r"<tr><td>[^<]*</td>\s*<td>Screen: Salle client Lyon</td>\s*<td>([^<]*)</td>", journal)
    assert row and row.group(1) == "Clip played in the room"
    assert "Clip made" in journal
