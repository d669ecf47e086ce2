"""Improvement actions through the UI in Debian's Chromium (issue #16, item 4): a quality manager starts an action
from a complaint's page, gives it to a staff member, who accepts it, starts it and marks it done; once time has
passed the quality manager reads the evidence (voices before and after, new voices) and confirms it verified.
The list, the new action form and the action's page pass axe-core."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import accessibility
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.db import utcnow
from webapp.models import Complaint, ImprovementAction, Role, Tag, TagKind


def _complaints(session: Session, count: int, days_ago: float, text: str) -> None:
    for n in range(count):
        complaint = Complaint(text=text, received_at=utcnow() - timedelta(days=days_ago, hours=n))
        session.add(complaint)
        session.flush()
        session.add(Tag(complaint_id=complaint.id, kind=TagKind.TOPIC, value="delivery"))


def test_an_action_goes_from_a_complaint_to_verified(app: Flask, tenants: dict[str, TenantSet],
                                                     new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    a = tenants["a"]
    with app.app_context():
        complaint_id = factories.make_complaint(a.id, text="Mon colis n'est jamais arrivé.")
    manager = new_page()
    log_in(manager, fr, a.users[Role.QUALITY_MANAGER].email, PASSWORD)

    # Started from the complaint's page: the form knows where it comes from.
    manager.goto(f"/complaints/{complaint_id}")
    manager.get_by_role("link", name=fr("Start an action"), exact=True).click()
    expect(manager.locator("#action-origin")).to_contain_text(fr("A complaint"))
    assert accessibility(manager) == []
    form = manager.locator("#action-form")
    form.get_by_label(fr("Title"), exact=True).fill("Prévenir les clients des retards de livraison")
    form.get_by_label(fr("Topic"), exact=True).fill("delivery")
    form.get_by_label(fr("Owner"), exact=True).select_option(str(a.users[Role.STAFF].id))
    form.get_by_role("button", name=fr("Propose the action"), exact=True).click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Prévenir les clients des retards de livraison")
    expect(manager.locator("#action-status")).to_have_text(fr("Proposed", "action status"))
    expect(manager.locator(f'#action-links a[href="/complaints/{complaint_id}"]')).to_be_visible()
    action_path = manager.url.split("#")[0].removeprefix(manager.url.split("/actions")[0])
    assert accessibility(manager) == []

    # Its owner (staff) moves it through accepted, in progress and done.
    owner = new_page()
    log_in(owner, fr, a.users[Role.STAFF].email, PASSWORD)
    owner.goto(action_path)
    for status in ("Accepted", "In progress", "Done"):
        name = fr(status, "action status")
        owner.get_by_role("button", name=fr("Mark as “%(status)s”", status=name), exact=True).click()
        expect(owner.locator("#action-status")).to_have_text(name)
    expect(owner.locator("#to-verified")).to_have_count(0)  # verifying is the quality manager's

    # Three weeks later: fewer voices on the topic than before, and a new one.
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        action = session.get(ImprovementAction, int(action_path.rsplit("/", 1)[1]))
        assert action is not None and action.done_at is not None
        action.done_at = utcnow() - timedelta(days=21)
        _complaints(session, 30, 30, "Toujours pas de colis.")
        _complaints(session, 1, 2, "Livré en retard, mais prévenu cette fois.")
    manager.goto("/actions")
    expect(manager.locator("#action-results")).to_contain_text("Prévenir les clients")
    assert accessibility(manager) == []
    manager.goto(action_path)
    evidence = manager.locator("#evidence")
    expect(evidence.locator("#evidence-topic")).to_contain_text("delivery")
    expect(evidence.locator("#evidence-topic")).to_contain_text(fr("significant fall"))
    expect(evidence.locator("#evidence-voices")).to_contain_text("prévenu cette fois")
    assert accessibility(manager) == []
    evidence.get_by_role("button", name=fr("Confirm it verified"), exact=True).click()
    expect(manager.locator("#action-status")).to_have_text(fr("Verified", "action status"))
    expect(manager.locator("#action-timeline li")).to_have_count(5)
    assert accessibility(manager) == []
