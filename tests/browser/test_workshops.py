"""A listening workshop from plan to summary in Debian's Chromium (issue #16, item 5), in two browser
contexts: the quality manager plans it and runs the facilitator screen (two clips, a one-second pause
between them); a staff member follows the QR code's address from their phone, logs in, is checked in
and reacts to the clip now playing; a decision is recorded and the workshop ended; the summary lists
who attended, the clips, the reaction's comment and the action. Every page has no WCAG 2 A/AA
violation that axe-core finds, and its French punctuation is spaced."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import accessibility, french_punctuation
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp.models import Role


def test_a_workshop_from_plan_to_summary(app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    fr, a = translator(app, "fr"), tenants["a"]
    with app.app_context():
        clips = [factories.make_clip(a.id, factories.make_ready_call(a.id, seconds=3.0), start=0.2, end=1.4,
                                     title=title, render=True, approve=True) for title in ("Voix une", "Voix deux")]
        factories.make_playlist(a.id, clips, name="Atelier de décembre", mode="ordered")

    host = new_page()
    log_in(host, fr, a.users[Role.QUALITY_MANAGER].email, PASSWORD)
    host.get_by_role("link", name=fr("Workshops"), exact=True).click()
    expect(host.get_by_role("heading", level=1)).to_have_text(fr("Workshops"))
    assert accessibility(host) == []
    host.get_by_role("link", name=fr("Plan a workshop"), exact=True).click()
    assert accessibility(host) == []
    host.get_by_label(fr("Title"), exact=True).fill("Écouter les retards")
    host.get_by_label(fr("Date"), exact=True).fill("2026-12-10")
    host.get_by_label(fr("Time"), exact=True).fill("14:00")
    host.get_by_label(fr("Playlist"), exact=True).select_option(label="Atelier de décembre")
    host.get_by_label(fr("Pause between clips (seconds)"), exact=True).fill("1")
    host.get_by_label(fr("People"), exact=True).select_option(label="Staff")
    host.get_by_role("button", name=fr("Plan the workshop and invite"), exact=True).click()
    expect(host.get_by_role("heading", level=1)).to_have_text("Écouter les retards")
    expect(host.get_by_text(fr("Workshop “%(title)s” planned: the invitations are on their way.",
                               title="Écouter les retards"))).to_be_visible()
    assert accessibility(host) == []
    assert french_punctuation(host.locator("main").inner_text()) == []

    host.get_by_role("button", name=fr("Start the workshop"), exact=True).click()
    expect(host.locator("#stage-clip-title")).to_have_text("Voix une")
    expect(host.locator(".workshop-qr svg")).to_be_visible()
    assert accessibility(host) == []
    checkin_url = host.locator("#checkin-url").get_attribute("href")
    assert checkin_url and "/workshops/check-in/" in checkin_url

    phone = new_page(viewport={"width": 390, "height": 844})
    phone.goto(checkin_url)  # the QR code's address: the login page first
    phone.get_by_label(fr("E-mail"), exact=True).fill(a.users[Role.STAFF].email)
    phone.get_by_label(fr("Password"), exact=True).fill(PASSWORD)
    phone.get_by_role("button", name=fr("Log in"), exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Écouter les retards")
    expect(phone.locator("#now-playing")).to_contain_text("Voix une")
    expect(host.locator("#workshop-attendees")).to_contain_text("Staff")  # the screen polls its attendees
    assert accessibility(phone) == []

    host.get_by_role("button", name=fr("Play"), exact=True).click()
    expect(host.locator("#stage-status")).to_contain_text(fr("Pause: the next clip starts in %s s.").split("%s")[0])
    expect(host.locator("#stage-clip-title")).to_have_text("Voix deux")
    expect(host.locator("#stage-count")).to_have_text(fr("Clip %(num)s of %(total)s", num=2, total=2))
    expect(phone.locator("#now-playing")).to_contain_text("Voix deux")  # the phone follows the screen
    phone.get_by_label(fr("Your comment (optional)"), exact=True).fill("On attend trop au téléphone")
    phone.get_by_role("button", name=fr("It moves me"), exact=True).click()
    expect(phone.get_by_text(fr("Thank you: your reaction is recorded."))).to_be_visible()
    assert accessibility(phone) == []
    assert french_punctuation(phone.locator("main").inner_text()) == []

    host.get_by_label(fr("What was decided"), exact=True).fill("Rappeler sous une heure")
    expect(host.get_by_label(fr("About the clip"), exact=True)).to_have_value(str(clips[1]))
    host.get_by_role("button", name=fr("Record the decision"), exact=True).click()
    expect(host.locator("#decision-list")).to_contain_text("Rappeler sous une heure")
    host.get_by_role("button", name=fr("End the workshop"), exact=True).click()
    expect(host.get_by_role("heading", level=1)).to_have_text(fr("Summary: %(title)s", title="Écouter les retards"))
    expect(host.locator("#summary-attendee-list")).to_contain_text("Staff")
    expect(host.locator("#summary-clip-table")).to_contain_text("Voix deux")
    expect(host.locator("main")).to_contain_text("On attend trop au téléphone")
    expect(host.locator("#summary-action-list")).to_contain_text("Rappeler sous une heure")
    assert accessibility(host) == []
    assert french_punctuation(host.locator("main").inner_text()) == []
    host.get_by_role("button", name=fr("Make the PDF"), exact=True).click()
    expect(host.get_by_role("heading", level=1)).to_have_text(fr("Workshop summary as PDF"))
    assert accessibility(host) == []
