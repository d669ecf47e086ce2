"""Layout in Chromium (issue #13, item 15): every main page fits a phone's screen (390×844) without
sideways scrolling, the navigation becomes a menu there, and a few things seen on screen stay fixed:
radio buttons beside their labels, the clip form's button inside its card, the 403 page with the
header and navigation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.models import Role, Tag, TagKind
from worker.handlers import JobContext, tag_complaint

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
#: Screenshots of every page, for a person to look at: ECOUTE_SCREENSHOTS=/some/folder.
SHOTS = os.environ.get("ECOUTE_SCREENSHOTS")


@dataclass(frozen=True)
class Room:
    call_id: int
    clip_id: int
    playlist_id: int
    complaint_id: int


@pytest.fixture
def room(app: Flask, tenants: dict[str, TenantSet]) -> Room:
    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_ready_call(a, seconds=6.0)
        clip_id = factories.make_clip(a, call_id, start=0.5, end=3.0, title="Une cliente ravie du service après-vente",
                                      render=True, approve=True)
        playlist_id = factories.make_playlist(a, [clip_id], name="Salle client, accueil")
        factories.make_kiosk(a, playlist_id, name="Salle client, Lyon")
        complaint_id = factories.make_complaint(a, text="Bonjour, ma commande n° 4521 est arrivée cassée. "
                                                         "Je suis très déçu. Appelez-moi au 06 12 34 56 78.")
        # tagged, so that its page shows the tags, with a topic mentioned in passing among them
        tag_complaint.Handler().run(JobContext(job_id=0, kind=tag_complaint.KIND, tenant_id=a,
                                               payload={"complaint_id": complaint_id}, attempt=1, max_attempts=1,
                                               settings=app.config["ECOUTE"]))
        with tenancy.tenant_session(a) as session:
            session.add(Tag(complaint_id=complaint_id, kind=TagKind.TOPIC, value="billing", mention=True,
                            evidence=["n° 4521"]))
    return Room(call_id, clip_id, playlist_id, complaint_id)


def admin_pages(room: Room) -> list[str]:
    return ["/people", "/people/journal", "/calls", "/calls/upload", f"/calls/{room.call_id}",
            f"/calls/{room.call_id}/erase", "/complaints", f"/complaints/{room.complaint_id}",
            f"/complaints/{room.complaint_id}/erase", "/room", "/clips", f"/clips/{room.clip_id}",
            f"/clips/{room.clip_id}/approve", f"/calls/{room.call_id}/transcript", "/playlists",
            f"/playlists/{room.playlist_id}", "/settings/kiosks", "/settings/api-tokens", "/settings/taxonomy",
            "/settings/privacy", "/settings/company", "/account"]


def overflow(page: Page) -> dict[str, object]:
    """How far the page is wider than the screen, and the widest elements that stick out."""
    result: dict[str, object] = page.evaluate("""() => {
        const width = window.innerWidth, doc = document.documentElement;
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            if (box.right > width + 1 && box.width > 0)
                out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${Math.round(box.right)}`);
        }
        return {scrollWidth: doc.scrollWidth, innerWidth: width, outside: out.slice(0, 8)};
    }""")
    return result


def shoot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(SHOTS) / f"{name}.png", full_page=True)


#: French typography: a no-break space (U+00A0 or the narrow U+202F) before : ; ! ? and none other.
_PLAIN_SPACE_BEFORE = re.compile(r".{0,30} [:;!?].{0,30}")
_NO_SPACE_BEFORE = re.compile(r".{0,30}[^\s\u00a0\u202f][;!?](?=\s|$).{0,30}|.{0,30}[^\s\u00a0\u202f\d]:(?=\s).{0,30}")


def french_punctuation(text: str) -> list[str]:
    """The places in a page's visible French text where « : ; ! ? » lack their no-break space."""
    return _PLAIN_SPACE_BEFORE.findall(text) + _NO_SPACE_BEFORE.findall(text)


#: axe-core, installed by bin/setup from package.json (npm), never fetched by the tests.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def accessibility(page: Page) -> list[str]:
    """The WCAG 2 A and AA violations axe-core finds on the page (injected through the DevTools
    protocol, which the page's Content-Security-Policy does not govern)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, object]] = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => r.violations.map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))")
    return [f"{v['id']}: {v['nodes']}" for v in found]


@dataclass
class Findings:
    wide: list[str]
    typography: list[str]
    accessibility: list[str]


def check_pages(page: Page, pages: list[str], label: str, findings: Findings) -> None:
    """Open each page: note those wider than the screen, the French punctuation without its space,
    and what axe-core finds."""
    for url in pages:
        response = page.goto(url)
        assert response is not None and response.status < 400, f"{url}: {response and response.status}"
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)  # scripts run (the waveform, htmx), then the layout is measured
        found = overflow(page)
        shoot(page, f"{label}{re.sub(r'[^a-z0-9]+', '-', url)}")
        if found["scrollWidth"] > found["innerWidth"]:  # type: ignore[operator]
            findings.wide.append(f"{url}: {found}")
        findings.typography += [f"{url}: {place!r}"
                                for place in french_punctuation(page.locator("body").inner_text())]
        findings.accessibility += [f"{label} {url}: {problem}" for problem in accessibility(page)]


def check_every_main_page(app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage,
                          viewport: dict[str, int], label: str) -> Findings:
    fr = translator(app, "fr")
    findings = Findings([], [], [])
    for role, pages in ((None, ["/login", "/password/forgot"]), (Role.TENANT_ADMIN, admin_pages(room)),
                        (Role.PLATFORM_ADMIN, ["/admin/tenants"])):
        page = new_page(viewport=viewport)
        if role is not None:
            log_in(page, fr, tenants["platform" if role == Role.PLATFORM_ADMIN else "a"].users[role].email, PASSWORD)
        check_pages(page, pages, label, findings)
    return findings


def test_every_main_page_fits_a_phone(app: Flask, tenants: dict[str, TenantSet], room: Room,
                                      new_page: OpenPage, console: ConsoleWatch) -> None:
    """... with its French punctuation spaced, and no WCAG 2 A/AA violation that axe-core finds."""
    console.allow(r"/peaks\.json\): Failed to load resource: .* status of 404")  # made without the worker
    found = check_every_main_page(app, tenants, room, new_page, PHONE, "phone")
    assert not found.wide, "pages wider than a 390 px phone:\n" + "\n".join(found.wide)
    assert not found.accessibility, "axe-core, WCAG 2 A/AA:\n" + "\n".join(found.accessibility)
    assert not found.typography, "French punctuation without its no-break space:\n" + "\n".join(found.typography)


def test_every_main_page_passes_axe_on_a_wide_screen(app: Flask, tenants: dict[str, TenantSet], room: Room,
                                                     new_page: OpenPage, console: ConsoleWatch) -> None:
    console.allow(r"/peaks\.json\): Failed to load resource: .* status of 404")
    found = check_every_main_page(app, tenants, room, new_page, DESKTOP, "desktop")
    assert not found.wide, "pages wider than a 1440 px screen:\n" + "\n".join(found.wide)
    assert not found.accessibility, "axe-core, WCAG 2 A/AA:\n" + "\n".join(found.accessibility)


def test_the_navigation_is_a_menu_on_a_phone_and_works_without_javascript(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    page = new_page(viewport=PHONE, java_script_enabled=False)
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/people$"))
    nav = page.get_by_role("navigation", name=fr("Main menu"))
    journal = nav.get_by_role("link", name=fr("Journal"), exact=True)
    expect(journal).to_be_hidden()  # folded away: the page starts with its content
    menu = page.locator(".topbar summary")
    expect(menu).to_have_text(fr("Menu"))
    expect(menu).to_be_visible()
    menu.click()
    expect(journal).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    journal.click()
    expect(page).to_have_url(re.compile(r"/people/journal$"))

    wide = new_page(viewport=DESKTOP)
    log_in(wide, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    expect(wide.locator(".topbar summary")).to_be_hidden()  # room enough: the links show at once
    expect(wide.get_by_role("navigation", name=fr("Main menu")).get_by_role("link", name=fr("Journal"),
                                                                            exact=True)).to_be_visible()


def radios_beside_labels(page: Page) -> None:
    radios = page.locator("label.choice input[type=radio]")
    assert radios.count() >= 2
    for radio in radios.all():
        box = radio.bounding_box()
        label = radio.locator("xpath=..").bounding_box()
        assert box is not None and label is not None
        assert box["width"] < 40, f"a radio button {box['width']} px wide"
        assert box["x"] - label["x"] < 10, "the radio button is not at the start of its label"
        assert abs(box["y"] - label["y"]) < 12, "not on its label's first line"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_radio_buttons_sit_beside_their_labels_and_buttons_inside_their_cards(
        app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage, console: ConsoleWatch,
        viewport: dict[str, int]) -> None:
    fr = translator(app, "fr")
    console.allow(r"/peaks\.json\): Failed to load resource: .* status of 404")
    page = new_page(viewport=viewport)
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    for url in ("/settings/company", f"/calls/{room.call_id}/erase", f"/complaints/{room.complaint_id}/erase",
                f"/calls/{room.call_id}"):
        page.goto(url)
        radios_beside_labels(page)

    # The clip form's "Play selection" stays inside its card (it overflowed in French).
    play = page.locator("#clip-play")
    expect(play).to_be_visible()
    button, card = play.bounding_box(), page.locator("section.clip-new").bounding_box()
    assert button is not None and card is not None
    assert card["x"] <= button["x"] and button["x"] + button["width"] <= card["x"] + card["width"], (button, card)
    assert play.evaluate("b => b.scrollWidth <= b.clientWidth"), "its text is cut"


def test_the_403_page_keeps_the_header_and_navigation(app: Flask, tenants: dict[str, TenantSet],
                                                      new_page: OpenPage, console: ConsoleWatch) -> None:
    fr = translator(app, "fr")
    console.allow(r"status of 403")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.STAFF].email, PASSWORD)
    response = page.goto("/calls")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Access refused"))
    nav = page.get_by_role("navigation", name=fr("Main menu"))
    expect(nav.get_by_role("link", name=fr("Customer room"), exact=True)).to_be_attached()
    expect(page.get_by_role("button", name=fr("Log out"), exact=True)).to_be_visible()
