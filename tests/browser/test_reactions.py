"""A reaction from a phone beside a screen (issue #16, item 3), in Debian's Chromium: a person opens the
reaction page a kiosk's QR code names, logs in, says « Il faut agir » with a comment; in another browser
a quality manager sees it counted on the clip's page. Then a check-in beside the screen. Each page fits
a phone, spaces its French punctuation, and has no WCAG 2 A/AA violation that axe-core finds."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import DESKTOP, PHONE, accessibility, french_punctuation, overflow
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_reactions import approved_clip
from webapp.models import Role


def looks_right(page: Page) -> None:
    """No axe-core violation, nothing wider than the screen, French punctuation spaced."""
    assert accessibility(page) == [], page.url
    found = overflow(page)
    assert found["scrollWidth"] <= found["innerWidth"], (page.url, found)  # type: ignore[operator]
    assert french_punctuation(page.locator("body").inner_text()) == [], page.url


def test_a_reaction_from_a_phone_reaches_the_clip_page(app: Flask, tenants: dict[str, TenantSet],
                                                       new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id, title="Attente au téléphone")
        screen = factories.make_kiosk(a.id, name="Salle client Lyon")

    phone = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(f"/react/{clip_id}?screen={screen.id}")  # what the kiosk's QR code names
    expect(phone).to_have_url(re.compile(r"/login\?next="))
    phone.get_by_label(fr("E-mail"), exact=True).fill(a.users[Role.STAFF].email)
    phone.get_by_label(fr("Password"), exact=True).fill(PASSWORD)
    phone.get_by_role("button", name=fr("Log in"), exact=True).click()
    expect(phone).to_have_url(re.compile(rf"/react/{clip_id}\?screen={screen.id}$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Attente au téléphone")
    expect(phone.get_by_text("Salle client Lyon")).to_be_visible()
    looks_right(phone)
    phone.get_by_label(fr("A comment (optional)"), exact=True).fill("Rappeler sous 24 h")
    phone.get_by_role("button", name=fr("We must act"), exact=True).click()
    expect(phone.locator("#react-confirmation")).to_contain_text("Il faut agir")
    expect(phone.locator("#react-action")).to_be_visible()
    looks_right(phone)

    phone.goto(f"/room/check-in?screen={screen.id}")  # the screen's other code: checking in
    expect(phone.get_by_text("Salle client Lyon")).to_be_visible()
    looks_right(phone)
    phone.get_by_role("button", name=fr("Check in"), exact=True).click()
    expect(phone.locator("#visit-open")).to_be_visible()
    looks_right(phone)

    quality = new_page(viewport=DESKTOP)
    log_in(quality, fr, a.users[Role.QUALITY_MANAGER].email, PASSWORD)
    quality.goto(f"/clips/{clip_id}")
    expect(quality.locator("#reaction-count-act")).to_have_text(re.compile(r"^\s*1\s+Il faut agir\s*$"))
    expect(quality.locator("#reaction-comments")).to_contain_text("Rappeler sous 24 h")
    assert accessibility(quality) == []
