"""Listens in Chromium (issue #13, item 14): opening a call's page, which preloads its audio, journals
nothing; pressing play journals one listen, and playing again after a pause does not add another."""

from __future__ import annotations

import re
import time

from flask import Flask
from playwright.sync_api import Page, Request, expect

from tests import factories
from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_listens import listens
from webapp.models import Role


def wait_for_listens(app: Flask, tenant_id: int, count: int) -> list[tuple[str, str, int | None]]:
    deadline = time.monotonic() + 5
    found = listens(app, tenant_id)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        found = listens(app, tenant_id)
    return found


def loaded(page: Page, selector: str) -> None:
    page.locator(selector).evaluate(
        "p => new Promise(ok => p.readyState >= 1 ? ok() : p.addEventListener('loadedmetadata', ok))")


def test_opening_a_page_journals_nothing_pressing_play_journals_one_listen(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage, console: ConsoleWatch) -> None:
    fr, a = translator(app, "fr"), tenants["a"].id
    console.allow(r"/peaks\.json\): Failed to load resource: .* status of 404")  # made without the worker: no waveform
    with app.app_context():
        call_id = factories.make_ready_call(a, seconds=4.0)
        clip_id = factories.make_clip(a, call_id, start=0.5, end=2.5, render=True)
    me = tenants["a"].users[Role.QUALITY_MANAGER].id
    page = new_page()
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/listened") else None)
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/calls$"))

    with page.expect_response(re.compile(rf"/calls/{call_id}/audio$")):
        page.goto(f"/calls/{call_id}")
    loaded(page, "audio#player")
    page.wait_for_timeout(300)
    assert listens(app, a) == [] and posts == []

    player = page.locator("audio#player")
    with page.expect_response(re.compile(rf"/calls/{call_id}/listened$")) as answer:
        player.evaluate("p => p.play()")
    assert answer.value.status == 204
    assert answer.value.request.header_value("x-csrftoken")
    assert wait_for_listens(app, a, 1) == [("call.listened", f"call:{call_id}", me)]
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.2")
    player.evaluate("p => { p.pause(); return p.play(); }")  # paused, played again: the same listen
    page.wait_for_timeout(300)
    assert len(posts) == 1 and len(listens(app, a)) == 1

    page.goto(f"/clips/{clip_id}")
    loaded(page, "audio#clip-player")
    page.wait_for_timeout(300)
    assert len(listens(app, a)) == 1
    page.locator("audio#clip-player").evaluate("p => p.play()")
    assert wait_for_listens(app, a, 2)[1:] == [("clip.listened", f"clip:{clip_id}", me)]
