"""Calls, through the UI only, in Debian's Chromium.

A quality manager uploads two valid recordings and a corrupt file together: each file gets its own
request and progress bar, the valid ones are queued and listed, the corrupt one shows the server's
reason. She filters the list by product (htmx), opens a call, plays it and seeks. Without
JavaScript the same form sends every file in one request and the answer page lists each result.

Expected texts come from the app's own catalog (see test_onboarding.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask_babel import ngettext
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.browser.test_onboarding import Translate, assert_same_document, log_in, mark_document, row_of, translator
from tests.conftest import PASSWORD, TenantSet
from webapp.i18n import force_locale
from webapp.models import Role

PRODUCT = "Box Fibre XL"
#: Chromium logs every 4xx answer as a console error; a refused upload answers 422.
REFUSED_UPLOAD_LOG = r"/calls/upload\): Failed to load resource: .* status of 422"


def plural(app: Flask, locale: str) -> Callable[[str, str, int], str]:
    def n(singular: str, plural_: str, num: int) -> str:
        with app.test_request_context(), force_locale(locale):
            return str(ngettext(singular, plural_, num))

    return n


def open_upload_form(page: Page, t: Translate, files: list[Path]) -> None:
    """Go to the upload page, pick ``files`` at once and fill the shared metadata."""
    page.goto("/calls/upload")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Upload recordings"))
    page.get_by_label(t("Drop audio files here, or choose them"), exact=True).set_input_files(files)
    page.get_by_label(t("Product or SKU"), exact=True).fill(PRODUCT)
    page.get_by_label(t("Customer consent to reuse the recording"), exact=True).select_option(
        label=t("Consent given"))


def test_upload_list_and_play(app: Flask, tenants: dict[str, TenantSet], audio: dict[str, Path],
                              new_page: OpenPage, console: ConsoleWatch, tmp_path: Path) -> None:
    fr, n = translator(app, "fr"), plural(app, "fr")
    uploaded, refused = fr("Uploaded. Processing is queued."), fr(
        "This file can't be read as audio: it may be damaged. Upload an MP3, WAV, M4A, OGG, FLAC, WebM or AMR file.")
    assert uploaded != "Uploaded. Processing is queued.", "no French for the calls pages: run bin/setup"
    shots = tmp_path / "shots"
    console.allow(REFUSED_UPLOAD_LOG)
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/calls$"))

    # She picks three files at once: each gets a line with a progress bar before anything is sent.
    files = [audio["call.wav"], audio["call.mp3"], audio["text.mp3"]]
    open_upload_form(page, fr, files)
    items = page.locator("#upload-list").get_by_role("listitem")
    expect(items).to_have_count(3)
    for item, file in zip(items.all(), files, strict=True):
        expect(item.locator(".upload-name")).to_have_text(file.name)
        expect(item.get_by_role("progressbar", name=file.name)).to_be_attached()

    # ... and sends them: one request per file, the page stays, each line ends with the server's answer.
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/calls/upload") else None)
    mark_document(page)
    page.get_by_role("button", name=fr("Upload"), exact=True).click()
    expect(page.get_by_role("button", name=fr("Upload"), exact=True)).to_be_enabled()  # all three answered
    expect(items).to_have_count(3)
    for item, file in zip(items.all(), files[:2], strict=False):
        expect(item.locator(".upload-name")).to_have_text(file.name)
        expect(item).to_have_class(re.compile(r"\bok\b"))
        expect(item.get_by_role("status")).to_have_text(uploaded)
        expect(item.get_by_role("link", name=fr("Open"))).to_have_attribute("href", re.compile(r"^/calls/\d+$"))
    corrupt = items.nth(2)
    expect(corrupt.locator(".upload-name")).to_have_text("text.mp3")
    expect(corrupt).to_have_class(re.compile(r"\brefused\b"))
    expect(corrupt.get_by_role("alert")).to_have_text(refused)
    expect(corrupt.get_by_role("link")).to_have_count(0)
    expect(page.get_by_role("progressbar")).to_have_count(0)
    assert_same_document(page)
    assert sorted(a.status for a in answers) == [200, 200, 422]
    assert all(a.request.method == "POST" and a.request.header_value("hx-request") == "true" for a in answers)
    page.screenshot(path=shots / "upload.png", full_page=True)

    # The list shows the two valid calls, queued.
    page.get_by_role("link", name=fr("See all calls")).click()
    expect(page).to_have_url(re.compile(r"/calls$"))
    results = page.locator("#call-results")
    expect(results.get_by_role("status")).to_have_text(n("%(num)d call", "%(num)d calls", 2))
    expect(page.locator("#call-rows").get_by_role("row")).to_have_count(2)
    for name in ("call.wav", "call.mp3"):
        expect(row_of(page, name)).to_contain_text(PRODUCT)
        expect(row_of(page, name).locator(".badge")).to_have_text(fr("Queued"))
    expect(row_of(page, "text.mp3")).to_have_count(0)
    page.screenshot(path=shots / "calls.png", full_page=True)

    # htmx, search: typing in the product filter swaps the results, without a reload.
    mark_document(page)
    product = page.get_by_label(fr("Product"), exact=True)
    with page.expect_response(lambda r: "product=nothing" in r.url) as answer:
        product.press_sequentially("nothing")
    assert answer.value.status == 200
    assert answer.value.request.header_value("hx-request") == "true"
    expect(results.get_by_role("status")).to_have_text(n("%(num)d call", "%(num)d calls", 0))
    expect(page.locator("#call-rows")).to_have_count(0)
    product.fill("")
    with page.expect_response(lambda r: "product=fibre" in r.url):
        product.press_sequentially("fibre")  # part of the product, any case
    expect(page.locator("#call-rows").get_by_role("row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]product=fibre\b"))
    assert_same_document(page)

    # She opens a call: its audio is served in ranges, plays, and seeks.
    audio_answers: list[Response] = []
    page.on("response", lambda r: audio_answers.append(r) if re.search(r"/calls/\d+/audio$", r.url) else None)
    row_of(page, "call.mp3").get_by_role("link", name="call.mp3").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("call.mp3")
    player = page.locator("audio#player")
    player.evaluate("p => new Promise(ok => p.readyState >= 1 ? ok() : p.addEventListener('loadedmetadata', ok))")
    assert abs(player.evaluate("p => p.duration") - 3.0) < 0.2
    player.evaluate("p => p.play()")
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.3")
    player.evaluate("p => new Promise(ok => { p.addEventListener('seeked', ok, {once: true}); p.currentTime = 2.0; })")
    assert player.evaluate("p => p.currentTime") >= 2.0
    # ... and goes on playing from there (one check, so that the end of the 3 s clip cannot race it).
    page.wait_for_function("() => { const p = document.getElementById('player');"
                           " return p.currentTime > 2.2 && !p.paused && !p.error; }")
    ranged = [a for a in audio_answers if a.request.header_value("range")]
    assert ranged, f"no Range request for the audio: {[(a.status, a.url) for a in audio_answers]}"
    assert {a.status for a in ranged} == {206}
    assert all(re.fullmatch(r"bytes \d+-\d+/\d+", a.header_value("content-range") or "") for a in ranged)
    assert ranged[0].header_value("accept-ranges") == "bytes"
    page.screenshot(path=shots / "call.png", full_page=True)


def test_upload_without_javascript(app: Flask, tenants: dict[str, TenantSet], audio: dict[str, Path],
                                   new_page: OpenPage, console: ConsoleWatch) -> None:
    """Without the script, every file goes in one request; the answer page lists each result."""
    fr = translator(app, "fr")
    console.allow(REFUSED_UPLOAD_LOG)
    page = new_page(java_script_enabled=False)
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/calls$"))

    open_upload_form(page, fr, [audio["other.wav"], audio["garbage.m4a"]])
    expect(page.get_by_role("progressbar")).to_have_count(0)  # no script, no bars
    with page.expect_response(lambda r: r.url.endswith("/calls/upload") and r.request.method == "POST") as answer:
        page.get_by_role("button", name=fr("Upload"), exact=True).click()
    assert answer.value.status == 422  # one file was refused

    items = page.locator("#upload-list").get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.nth(0).locator(".upload-name")).to_have_text("other.wav")
    expect(items.nth(0).get_by_role("status")).to_have_text(fr("Uploaded. Processing is queued."))
    expect(items.nth(0).get_by_role("link", name=fr("Open"))).to_have_attribute("href", re.compile(r"^/calls/\d+$"))
    expect(items.nth(1).locator(".upload-name")).to_have_text("garbage.m4a")
    expect(items.nth(1).get_by_role("alert")).to_have_text(fr(
        "This file can't be read as audio: it may be damaged. Upload an MP3, WAV, M4A, OGG, FLAC, WebM or AMR file."))
    # The metadata typed once is still in the form, ready for another try.
    expect(page.get_by_label(fr("Product or SKU"), exact=True)).to_have_value(PRODUCT)

    page.goto("/calls")
    expect(page.locator("#call-rows").get_by_role("row")).to_have_count(1)
    expect(row_of(page, "other.wav").locator(".badge")).to_have_text(fr("Queued"))
