"""The upload page follows its calls (issue #13, item 15): it said "Processing is queued" long after
both calls were ready; each new upload's line now shows the call's status until it is final."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import OpenPage
from tests.browser.test_calls import open_upload_form
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.models import Call, CallStatus, Role


def test_the_upload_page_shows_when_the_calls_are_ready(app: Flask, tenants: dict[str, TenantSet],
                                                        audio: dict[str, Path], new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/calls$"))
    open_upload_form(page, fr, [audio["call.wav"], audio["call.mp3"]])
    page.get_by_role("button", name=fr("Upload"), exact=True).click()
    items = page.locator("#upload-list").get_by_role("listitem")
    expect(items).to_have_count(2)
    for item in items.all():
        expect(item.get_by_role("status")).to_have_text(fr("Uploaded. Processing is queued."))

    # The worker processes one, then the other: each line follows, without a reload.
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        first, second = session.scalars(select(Call).order_by(Call.id)).all()
        first.status = CallStatus.PROCESSING
    expect(page.locator("#upload-list .badge", has_text=fr("Processing"))).to_have_count(1, timeout=10_000)
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        for call in session.scalars(select(Call)):
            call.status = CallStatus.READY
    for item in items.all():
        expect(item.get_by_role("status")).to_have_text(fr("Ready"), timeout=10_000)
    expect(page.get_by_text(fr("Uploaded. Processing is queued."))).to_have_count(0)
    # Final: the polling has stopped (the server answered 286).
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if re.search(r"/calls/\d+/status$", r.url) else None)
    page.wait_for_timeout(3_500)
    assert polls == []
