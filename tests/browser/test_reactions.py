"""A reaction from a phone beside a screen (issue #16, item 3), in Debian's Chromium: a paired screen plays
a clip with its QR code; a phone opens the address that code holds, logs in, says « Il faut agir » with a
comment; in another browser a quality manager sees it counted on the clip's page. Then a check-in beside
the screen. Each phone page fits a phone, spaces its French punctuation, and has no WCAG 2 A/AA violation
that axe-core finds."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import DESKTOP, PHONE, accessibility, french_punctuation, overflow
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp.auth import KIOSK_COOKIE
from webapp.config import Settings
from webapp.models import Role
from webapp.services import kiosks


def looks_right(page: Page) -> None:
    """No axe-core violation, nothing wider than the screen, French punctuation spaced."""
    assert accessibility(page) == [], page.url
    found = overflow(page)
    assert found["scrollWidth"] <= found["innerWidth"], (page.url, found)  # type: ignore[operator]
    assert french_punctuation(page.locator("body").inner_text()) == [], page.url


def qr_target(kiosk: Page, img: str, candidates: list[str]) -> str:
    """The address the screen's QR code ``img`` holds, among ``candidates`` (the image is compared
    with the QR code of each: no QR decoder in the test's dependencies)."""
    expect(kiosk.locator(img)).to_have_attribute("src", re.compile(r"/kiosk/qr/"))
    drawn = kiosk.request.get(str(kiosk.locator(img).get_attribute("src"))).body()
    held = [target for target in candidates if kiosks.qr_svg(target) == drawn]
    assert len(held) == 1, (img, candidates)
    return held[0]


def test_a_reaction_from_a_phone_reaches_the_clip_page(app: Flask, settings: Settings, tenants: dict[str, TenantSet],
                                                       new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    a = tenants["a"]
    with app.app_context():
        call_id = factories.make_ready_call(a.id, seconds=3.0)
        clip_id = factories.make_clip(a.id, call_id, start=0.0, end=2.5, title="Attente au téléphone", render=True,
                                      approve=True)
        screen = factories.make_kiosk(a.id, factories.make_playlist(a.id, [clip_id]), name="Salle client Lyon")

    kiosk = new_page(viewport={"width": 1920, "height": 1080})  # the paired screen in the room
    # Paired as test_kiosk.py pairs it through the UI: the device cookie, and the page's note that it has one.
    kiosk.context.add_cookies([{"name": KIOSK_COOKIE, "value": screen.token, "url": f"{settings.base_url}/kiosk/"}])
    kiosk.add_init_script(f"localStorage.setItem('ecoute-kiosk.paired', '{{\"id\": {screen.id}}}')")
    kiosk.goto("/kiosk/")
    base = settings.base_url
    react_url = qr_target(kiosk, "#react-qr", [f"{base}/react/{clip_id}?screen={screen.id}"])
    check_in_url = qr_target(kiosk, "#checkin-qr", [f"{base}/room/check-in?screen={screen.id}"])

    phone = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.goto(react_url)
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

    phone.goto(check_in_url)  # the screen's other code: checking in
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
