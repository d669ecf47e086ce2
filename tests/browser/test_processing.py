"""From upload to transcript, through the UI, with a real worker beside the live server.

A quality manager uploads a French call (neural speech through a phone line) and opens its page
at once. She watches the status change by itself (htmx polling) to "ready"; the transcript and
the tags then appear without a reload; clicking a word moves the player to the moment it was said.
She corrects the tags in one click each; the machine's next pass leaves her corrections alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.test_calls import open_upload_form
from tests.browser.test_onboarding import assert_same_document, log_in, mark_document, translator
from tests.conftest import PASSWORD, TenantSet
from tests.speech import speak
from webapp.models import Role
from worker.handlers import JobContext, process_call, registry
from worker.loop import Worker

SAID = "Bonjour, je vous appelle parce que ma commande n'est toujours pas arrivée, c'est inadmissible."


@pytest.fixture
def worker(app: Flask) -> Iterator[Worker]:
    """The job consumer, in a thread of the test process (the same database and storage as the server)."""
    running = Worker(app, registry(), concurrency=1)
    thread = threading.Thread(target=running.run, name="test-worker", daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.stop()
        thread.join(timeout=60)


def test_upload_then_watch_it_become_a_transcript_and_seek_by_word(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage, worker: Worker, tmp_path: Path) -> None:
    fr = translator(app, "fr")
    call = speak(tmp_path / "appel-client.wav", SAID, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    open_upload_form(page, fr, [call])
    page.get_by_role("button", name=fr("Upload"), exact=True).click()
    page.locator("#upload-list").get_by_role("link", name=fr("Open")).click()
    expect(page).to_have_url(re.compile(r"/calls/\d+$"))
    mark_document(page)

    status = page.locator("[id^=call-status-]")
    expect(status).to_have_text(fr("Ready"), timeout=120_000)  # polled every 3 s; transcription takes a few
    transcript = page.locator("#transcript")
    expect(transcript).to_be_visible()  # loaded by htmx when the status said "ready"
    assert_same_document(page)
    words = transcript.locator(".word")
    expect(words.first).to_be_visible()
    heard = " ".join(words.all_inner_texts()).lower()
    assert "commande" in heard, heard
    expect(page.locator('[data-tag="sentiment:unhappy"]')).to_have_text(fr("Unhappy"))
    expect(page.locator('[data-tag="topic:delivery"]')).to_be_visible()

    # Clicking a word plays the call from that word: the player's time lands on the word's start.
    target = next(w for w in words.all() if "commande" in w.inner_text().lower())
    start = float(target.get_attribute("data-start") or "nan")
    assert start > 0.5
    target.click()
    page.wait_for_function("() => !document.getElementById('player').paused")
    position = page.evaluate("() => document.getElementById('player').currentTime")
    assert start - 0.05 <= position <= start + 1.5, (start, position)
    expect(page.locator("#transcript .word.current")).to_have_count(1)

    # She disagrees with the machine: one click makes it "satisfied" (htmx, no reload), another
    # removes a topic. The machine tags the call again: her choices stand.
    mark_document(page)
    satisfied = page.locator('[data-tag="sentiment:satisfied"]')
    satisfied.click()
    expect(satisfied).to_have_attribute("aria-pressed", "true")
    expect(satisfied).to_contain_text("✓")
    expect(page.locator('[data-tag="sentiment:unhappy"]')).to_have_attribute("aria-pressed", "false")
    delivery = page.locator('[data-tag="topic:delivery"]')
    delivery.click()
    expect(delivery).to_have_attribute("aria-pressed", "false")
    assert_same_document(page)
    call_id = int(page.url.rsplit("/", 1)[1])
    with app.app_context():
        process_call.Handler().run(JobContext(job_id=0, kind=process_call.KIND, tenant_id=tenants["a"].id,
                                              payload={"call_id": call_id}, attempt=1, max_attempts=1,
                                              settings=app.config["ECOUTE"]))
    page.reload()
    expect(page.locator('[data-tag="sentiment:satisfied"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator('[data-tag="sentiment:unhappy"]')).to_have_attribute("aria-pressed", "false")
    expect(page.locator('[data-tag="topic:delivery"]')).to_have_attribute("aria-pressed", "false")
