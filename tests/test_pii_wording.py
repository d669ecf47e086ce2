"""Personal data is "heard" in a call and "found in the text" of a written complaint (issue #13, item 15),
on the page and in the tags an htmx correction sends back."""

from __future__ import annotations

from html import unescape

from flask import Flask

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import Role, Tag, TagKind, TagOrigin


def tag_pii(tenant_id: int, **owner: int) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        session.add(Tag(**owner, kind=TagKind.SENTIMENT, value="unhappy", origin=TagOrigin.MACHINE, confidence=0.9))
        session.add(Tag(**owner, kind=TagKind.PII, value="phone", origin=TagOrigin.MACHINE, evidence=[[10, 24]]))


def test_a_written_complaint_says_found_in_the_text_and_a_call_says_heard(app: Flask, tenants: dict[str, TenantSet],
                                                                          login_as) -> None:
    b = tenants["b"].id
    with app.app_context():
        complaint_id = factories.make_complaint(b, text="Call me on 06 12 34 56 78, the oven is broken.")
        call_id = factories.make_ready_call(b)
        tag_pii(b, complaint_id=complaint_id)
        tag_pii(b, call_id=call_id)
    qm = login_as("b", Role.QUALITY_MANAGER)

    complaint = unescape(qm.get(f"/complaints/{complaint_id}").text)
    assert "Personal data found in the text:" in complaint and "phone numbers (1)" in complaint
    assert "heard" not in complaint.split('id="tags"')[1]
    corrected = unescape(qm.post(f"/complaints/{complaint_id}/tags", {"sentiment": "satisfied"}, htmx=True).text)
    assert "Personal data found in the text:" in corrected and "heard" not in corrected

    call = unescape(qm.get(f"/calls/{call_id}").text)
    assert "Personal data heard:" in call and "found in the text" not in call
    corrected = unescape(qm.post(f"/calls/{call_id}/tags", {"sentiment": "satisfied"}, htmx=True).text)
    assert "Personal data heard:" in corrected
