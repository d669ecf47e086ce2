"""Curating the customer room, through the UI, with a real worker beside the live server.

A French call (neural speech through a phone line) comes in through ingestion; the worker
transcribes it. A quality manager opens it: the waveform is drawn from the worker's peaks (the page
never downloads the call to decode it). She drags a moment on the waveform, then prefers to select
words of the transcript with the mouse: the clip's start and end follow. She plays the selection,
names the clip and saves it (htmx); the worker renders it while the list polls. Approval is refused
while the customer's consent is unknown, and the page says why; she records the consent, approves,
makes a playlist and adds the clip: the playlist shows it in its play order.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.browser.test_onboarding import assert_same_document, log_in, mark_document, translator
from tests.browser.test_processing import worker  # noqa: F401 - the fixture: the job consumer in a thread
from tests.conftest import PASSWORD, TenantSet
from tests.speech import speak
from webapp import tenancy
from webapp.models import Role, Source
from webapp.services import ingestion
from worker.loop import Worker

SAID = ("Bonjour, je voulais vous remercier: le technicien est venu très vite "
        "et la machine à laver fonctionne parfaitement. Merci beaucoup.")
#: Chromium logs every 4xx answer as a console error; refusing an approval answers 422.
REFUSED_APPROVAL_LOG = r"/clips/\d+/approve\): Failed to load resource: .* status of 422"


def ingest(app: Flask, tenant_id: int, wav: Path) -> int:
    """The call arrives as a telephony system would send it; the worker does the rest."""
    with app.app_context(), wav.open("rb") as stream, tenancy.tenant_session(tenant_id) as session:
        done = ingestion.ingest_call(session, app.config["ECOUTE"], tenant_id, stream=stream, filename=wav.name,
                                     meta=ingestion.clean_meta({"product": "Lave-linge LX", "language": "fr"}),
                                     origin=ingestion.Origin(Source.API))
        return done.call.id


SHADOW_COUNT = "s => document.querySelector('#waveform > div').shadowRoot.querySelectorAll(s).length"


def shadow_count(page: Page, selector: str) -> int:
    """How many elements match ``selector`` inside the waveform's shadow root."""
    return int(page.evaluate(SHADOW_COUNT, selector))


def wait_for_shadow_count(page: Page, selector: str, count: int) -> None:
    page.wait_for_function(f"s => ({SHADOW_COUNT})(s) === {count}", arg=selector)


def drag_over_words(page: Page, first: Locator, last: Locator) -> None:
    """Press the mouse on ``first``, move it to ``last``, release: as a person selects words."""
    first_box, last_box = first.bounding_box(), last.bounding_box()
    assert first_box and last_box
    page.mouse.move(first_box["x"] + 1, first_box["y"] + first_box["height"] / 2)
    page.mouse.down()
    page.mouse.move(last_box["x"] + last_box["width"] - 1, last_box["y"] + last_box["height"] / 2, steps=10)
    page.mouse.up()


def inputs(page: Page) -> tuple[float, float]:
    return float(page.locator("#clip-start").input_value()), float(page.locator("#clip-end").input_value())


def test_a_quality_manager_cuts_approves_and_programs_a_clip(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage, worker: Worker,  # noqa: F811
        console: ConsoleWatch, tmp_path: Path) -> None:
    fr = translator(app, "fr")
    console.allow(REFUSED_APPROVAL_LOG)
    call_id = ingest(app, tenants["a"].id, speak(tmp_path / "merci.wav", SAID, "fr"))
    page = new_page()
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    page.goto(f"/calls/{call_id}")
    mark_document(page)
    expect(page.locator(f"#call-status-{call_id}")).to_have_text(fr("Ready"), timeout=120_000)

    # The waveform appears with the transcript (htmx, no reload), drawn from the worker's peaks.
    waveform = page.locator("#waveform")
    expect(waveform).to_have_attribute("data-ready", "true")
    expect(page.locator("#waveform canvas").first).to_be_visible()  # inside wavesurfer's shadow root
    # Canvases are redrawn (replaced) as the player learns the duration: wait for one that is drawn wide.
    page.wait_for_function("""() => Array.from(document.querySelector('#waveform > div').shadowRoot
        .querySelectorAll('canvas')).some(c => c.getBoundingClientRect().width > 200
                                             && c.getBoundingClientRect().height > 20 && c.width > 0)""")
    assert_same_document(page)
    assert [r.url for r in requests if r.url.endswith(f"/calls/{call_id}/peaks.json")], "no peaks.json request"
    fetched_audio = [r.url for r in requests if "/audio" in r.url and r.resource_type in ("fetch", "xhr")]
    assert fetched_audio == [], "the page downloaded the call to decode it"

    # Dragging across the waveform marks a moment: the start and end fill in.
    area = waveform.bounding_box()
    assert area
    duration = float(waveform.get_attribute("data-duration") or "nan")
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.5, y, steps=8)
    page.mouse.up()
    start, end = inputs(page)
    assert abs(start - duration * 0.2) < duration * 0.05 and abs(end - duration * 0.5) < duration * 0.05, \
        (start, end, duration)
    assert shadow_count(page, '[part~="region"]') == 1

    # Typed times move the region.
    page.locator("#clip-end").fill(f"{duration * 0.7:.2f}")
    left_right = page.evaluate("""() => {
        const r = document.querySelector('#waveform > div').shadowRoot.querySelector('[part~="region"]');
        return [parseFloat(r.style.left), parseFloat(r.style.right)];
    }""")
    assert abs(left_right[1] - 30) < 1, left_right

    # Selecting words of the transcript with the mouse chooses them instead (one region still).
    words = page.locator("#transcript .word")
    first, last = words.nth(2), words.nth(8)
    drag_over_words(page, first, last)
    chosen = (float(first.get_attribute("data-start") or "nan"), float(last.get_attribute("data-end") or "nan"))
    expect(page.locator("#clip-start")).to_have_value(f"{chosen[0]:.2f}")
    expect(page.locator("#clip-end")).to_have_value(f"{chosen[1]:.2f}")
    assert shadow_count(page, '[part~="region"]') == 1
    expect(page.locator("#transcript .word.in-clip")).to_have_count(7)

    # A drag on the waveform afterwards wins again (the words' selection is used up), then the words again.
    area = waveform.bounding_box()  # the page scrolled to the inputs meanwhile
    assert area
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * 0.6, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.8, y, steps=8)
    page.mouse.up()
    page.wait_for_timeout(100)  # past the transcript's deferred reading of the selection
    start, end = inputs(page)
    assert abs(start - duration * 0.6) < duration * 0.05 and abs(end - duration * 0.8) < duration * 0.05, \
        (start, end, duration)
    assert shadow_count(page, '[part~="region"]') == 1
    drag_over_words(page, first, last)
    expect(page.locator("#clip-start")).to_have_value(f"{chosen[0]:.2f}")
    expect(page.locator("#clip-end")).to_have_value(f"{chosen[1]:.2f}")

    # "Play selection" plays from the start and stops at the end.
    page.get_by_role("button", name=fr("Play selection")).click()
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.wait_for_function("() => document.getElementById('player').paused", timeout=15_000)
    stopped = page.evaluate("() => document.getElementById('player').currentTime")
    assert chosen[1] - 0.3 <= stopped <= chosen[1] + 0.4, (chosen, stopped)

    # A title, a sentiment (the machine's guess is there already), save: the list shows it (htmx).
    form = page.locator("#clip-form")
    expect(form.get_by_label(fr("Satisfied"), exact=True)).to_be_checked()
    form.get_by_label(fr("Title"), exact=True).fill("Technicien très rapide")
    form.get_by_label(fr("Internal note"), exact=True).fill("À garder pour l'accueil.")
    form.get_by_role("button", name=fr("Save the clip")).click()
    row = page.locator("#call-clips tr", has_text="Technicien très rapide")
    expect(row).to_be_visible()
    assert_same_document(page)
    expect(page.locator("#clip-form").get_by_label(fr("Title"), exact=True)).to_have_value("")  # a new form
    expect(page.locator("#clip-start")).to_have_value("")
    wait_for_shadow_count(page, '[part~="region"]', 0)  # the region went with the saved clip
    status = row.locator("[data-render-status]")
    expect(status).to_have_text(fr("Ready"), timeout=60_000)  # the rows poll every 2 s; the worker renders it
    assert_same_document(page)
    expect(page.locator("#consent-notice")).to_be_visible()

    # On its page: it plays, but approval is refused and the page says why.
    row.get_by_role("link", name="Technicien très rapide").click()
    expect(page).to_have_url(re.compile(r"/clips/\d+$"))
    clip_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#clip-player")).to_have_attribute("src", f"/clips/{clip_id}/audio")
    expect(page.locator("#captions li").first).to_be_visible()
    refusal = page.locator("#approve-refusal")
    expect(refusal).to_contain_text(fr("The customer's consent to reuse this call is not recorded. Set consent to "
                                       "\"yes\" on the call once the customer has agreed, then approve the clip."))
    page.get_by_role("button", name=fr("Approve for the room")).click()
    # Approving starts with one last read of the caption; pressing on still says why not.
    expect(page).to_have_url(re.compile(rf"/clips/{clip_id}/approve\??$"))  # a form with no field: "?"
    expect(page.locator("#approve-captions li").first).to_be_visible()
    expect(page.locator("#approve-refusal")).to_be_visible()
    page.get_by_role("button", name=fr("Approve for the room")).click()
    expect(page.locator("#form-error")).to_contain_text(fr("The customer's consent to reuse this call is not "
                                                           "recorded. Set consent to \"yes\" on the call once the "
                                                           "customer has agreed, then approve the clip."))
    expect(page.locator("[data-clip-status]").first).to_have_text(fr("Draft"))

    # The customer agreed: she records it on the call, comes back, approves.
    page.get_by_role("link", name="merci.wav", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/calls/{call_id}$"))
    page.get_by_label(fr("Customer consent to reuse the recording"), exact=True).select_option(
        label=fr("Consent given"))
    page.get_by_role("button", name=fr("Save consent")).click()
    expect(page.locator("#flash")).to_contain_text(fr("Consent given"))
    expect(page.locator("#consent-notice")).to_have_count(0)
    page.goto(f"/clips/{clip_id}")
    page.get_by_role("button", name=fr("Approve for the room")).click()
    expect(page.locator("#approve-captions li").first).to_be_visible()
    page.get_by_role("button", name=fr("Approve for the room")).click()
    expect(page.locator("#flash")).to_contain_text(fr("Approved: the clip can now be added to the room's playlists."))
    expect(page.locator("[data-clip-status]").first).to_have_text(fr("Approved"))

    # A playlist for the entrance, with the clip: its page lists it, and in the play order.
    page.goto("/playlists")
    page.get_by_label(fr("Name"), exact=True).fill("Accueil")
    expect(page.get_by_label(fr("Alternate satisfied and unhappy"), exact=True)).to_be_checked()
    page.get_by_role("button", name=fr("Create the playlist")).click()
    expect(page).to_have_url(re.compile(r"/playlists/\d+$"))
    mark_document(page)
    page.get_by_label(fr("Add an approved clip"), exact=True).select_option(str(clip_id))
    page.locator("#playlist-add").get_by_role("button", name=fr("Add")).click()
    expect(page.locator(f"#item-{clip_id}")).to_contain_text("Technicien très rapide")
    expect(page.locator("#play-order li")).to_have_count(1)
    expect(page.locator("#play-order li").first).to_contain_text("Technicien très rapide")
    expect(page.locator(f'#add-clip option[value="{clip_id}"]')).to_have_count(0)  # not offered twice
    assert_same_document(page)
