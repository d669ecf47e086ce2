"""Captions that are right on the wall (issue #16, item 1), in Debian's Chromium against the live server.

A screen plays the room's playlist; a quality manager corrects a misheard word of a clip in the clip
editor; once the clip is rendered again (its captions rebuilt from the corrected words), the screen
shows the corrected caption at its next manifest. The pages (clip editor, the last read before
approving, the call's transcript) have no WCAG 2 A/AA violation that axe-core finds.
"""

from __future__ import annotations

from flask import Flask, current_app
from playwright.sync_api import expect
from sqlalchemy import select

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_kiosk import Room, live_server, paired_kiosk, quick_polls, switchable  # noqa: F401 - fixtures
from tests.browser.test_layout import accessibility
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.models import Role, Transcript
from worker.handlers import JobContext, render_clip


def render(tenant_id: int, clip_id: int) -> None:
    """The worker's ``render_clip`` job, run here (the test's worker, without the others it would claim)."""
    render_clip.Handler().run(JobContext(job_id=0, kind=render_clip.KIND, tenant_id=tenant_id,
                                         payload={"clip_id": clip_id}, attempt=1, max_attempts=5,
                                         settings=current_app.config["ECOUTE"]))


#: What the tone "says", a word every half second (the factory's "mot0", "mot1"... would be masked as a number).
SAID = ["merci", "pour", "votre", "accueil", "vraiment"]


def words_said(tenant_id: int, call_id: int) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        transcript = session.scalars(select(Transcript).where(Transcript.call_id == call_id)).one()
        words = [{**w, "word": f" {SAID[i % len(SAID)]}"} for i, w in enumerate(transcript.segments[0]["words"])]
        transcript.segments = [{**transcript.segments[0], "words": words}]


def test_a_caption_corrected_in_the_clip_editor_appears_on_the_kiosk(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    tenant_id = tenants["a"].id
    made: dict[int, str] = {}
    calls: list[int] = []
    with app.app_context():
        for sentiment in ("satisfied", "unhappy"):
            calls.append(call_id := factories.make_ready_call(tenant_id, seconds=3.0))
            words_said(tenant_id, call_id)
            made[factories.make_clip(tenant_id, call_id, start=0.0, end=2.5, sentiment=sentiment,
                                     render=True, approve=True)] = sentiment
        factories.make_playlist(tenant_id, list(made), name="Tonalités")
    clip_id, corrected_call = next(iter(made)), calls[0]
    kiosk = paired_kiosk(new_page, app, tenants, Room(tenant_id, "Tonalités", made))
    kiosk.wait_for_function("() => window.__seen.captions.some(text => text.includes('pour'))", timeout=20_000)

    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    page.goto(f"/clips/{clip_id}")
    word = page.get_by_label(fr("Word said at %(time)s") % {"time": "0,5 s"}, exact=True)
    expect(word).to_have_value("pour")
    assert accessibility(page) == []
    word.fill("Bonjour madame")
    page.get_by_role("button", name=fr("Save the corrected words")).click()
    expect(page.locator("#flash")).to_contain_text(fr("Corrected. The captions are being prepared again, and the "
                                                      "call is being tagged again."))
    with app.app_context():
        render(tenant_id, clip_id)
    # The clip page was polling its render status: it reloads with the corrected captions.
    expect(page.locator("#captions")).to_contain_text("Bonjour madame", timeout=10_000)

    # The screen shows the corrected caption at its next manifest (within the manifest's cache and a poll).
    kiosk.wait_for_function("() => window.__seen.captions.some(text => text.includes('Bonjour madame'))",
                            timeout=40_000)

    # One last read before approving, and the call's transcript page, corrected the same way.
    page.goto(f"/clips/{clip_id}/approve")
    expect(page.locator("#approve-captions")).to_contain_text("Bonjour madame")
    assert accessibility(page) == []
    page.goto(f"/calls/{corrected_call}/transcript")
    expect(page.get_by_label(fr("Word said at %(time)s") % {"time": "0,5 s"}, exact=True)).to_have_value(
        "Bonjour madame")
    assert accessibility(page) == []
