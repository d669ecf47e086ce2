"""Numbers and dates as people read them (issue #13, item 15): every number in the interface's
language, with one helper ("-16,0 LUFS" beside "2,5 s" in French, not "-16.0 LUFS"), and a date
entered without a time shown without "00:00"."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape

from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.i18n import force_locale, format_loudness, format_number
from webapp.models import Call, Clip, Complaint, Role
from webapp.services import ingestion


def test_numbers_follow_the_language(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        assert format_number(1234.56, 1) == "1\u202f234,6"
        assert format_number(3) == "3"
        assert format_loudness(-16.04) == "-16,0\u00a0LUFS"
    with app.test_request_context(), force_locale("en"):
        assert format_number(1234.56, 1) == "1,234.6"
        assert format_loudness(-16.04) == "-16.0\u00a0LUFS"


def test_the_clip_page_formats_its_numbers_alike(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        clip_id = factories.make_clip(a, factories.make_ready_call(a), start=0.5, end=3.0, render=True)
        with tenancy.tenant_session(a) as session:
            clip = session.get(Clip, clip_id)
            assert clip is not None
            clip.loudness_lufs = -16.04
    page = unescape(login_as("a", Role.QUALITY_MANAGER).get(f"/clips/{clip_id}").text)
    assert "-16,0\u00a0LUFS" in page and "-16.0" not in page
    assert "2,5\u202fs" in page  # its length, by the same rules


def test_a_date_without_a_time_shows_no_midnight(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    a = tenants["a"].id
    qm = login_as("a", Role.QUALITY_MANAGER)
    assert qm.post("/complaints", {"text": "Le four ne chauffe plus.", "received_at": "2026-03-02"}).status_code == 303
    with app.app_context():
        timed = factories.make_complaint(a, text="Livraison en retard.")
        call_id = factories.make_call(a)
        with tenancy.tenant_session(a) as session:
            dated = session.scalars(select(Complaint.id).where(Complaint.text == "Le four ne chauffe plus.")).one()
            complaint, call = session.get(Complaint, timed), session.get(Call, call_id)
            assert complaint is not None and call is not None
            complaint.received_at = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
            call.received_at = ingestion.clean_meta({"received_at": "2026-03-02"}).received_at  # a date alone
    page = unescape(qm.get(f"/complaints/{dated}").text)
    assert "02/03/2026" in page and "00:00" not in page
    assert "02/03/2026 14:05" in unescape(qm.get(f"/complaints/{timed}").text)
    detail = unescape(qm.get(f"/calls/{call_id}").text)
    assert "02/03/2026" in detail and "00:00" not in detail
    listed = unescape(qm.get("/calls").text)
    assert "02/03/2026" in listed and "00:00" not in listed
