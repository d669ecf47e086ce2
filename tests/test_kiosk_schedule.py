"""A screen's weekly opening hours (issue #16, item 8): typed per day on the screens page, checked with
messages that name the day, and sent in the manifest with the company's time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.db import utcnow
from webapp.errors import UserError
from webapp.i18n import force_locale
from webapp.models import AuditEvent, Clip, Kiosk, Role
from webapp.services import audit, kiosks


def test_hours_are_read_as_people_type_them() -> None:
    assert kiosks.parse_schedule({"mon": "9h-12h, 14:00 – 18h30", "sat": "10-24", "sun": ""}) == {
        "mon": [["09:00", "12:00"], ["14:00", "18:30"]], "sat": [["10:00", "24:00"]]}  # the other days: closed
    assert kiosks.parse_schedule({day: " " for day in kiosks.DAYS}) == {}  # nothing typed: always plays
    assert kiosks.schedule_text({"mon": [["09:00", "12:00"], ["14:00", "18:30"]]})["mon"] == "09:00-12:00, 14:00-18:30"


@pytest.mark.parametrize(("typed", "says"), [("18h-9h", "end after it starts"), ("9h", "a start and an end"),
                                             ("25:00-26:00", "a start and an end"), ("9:75-10", "a start and an end"),
                                             ("9-12, 11-13", "overlap")])
def test_wrong_hours_are_refused_naming_the_day(app: Flask, typed: str, says: str) -> None:
    with app.test_request_context(), force_locale("en"), pytest.raises(UserError) as refused:
        kiosks.parse_schedule({"wed": typed})
    assert says in str(refused.value.message) and "Wednesday" in str(refused.value.message)


def test_the_screens_page_saves_hours_into_the_manifest(app: Flask, tenants: dict[str, TenantSet],
                                                         login_as: object) -> None:
    a = tenants["a"].id
    with app.app_context():
        ref = factories.make_kiosk(a)
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    refused = admin.post(f"/settings/kiosks/{ref.id}/schedule", {"mon": "18h-9h", "kiosk_id": str(ref.id)})
    assert refused.status_code == 422 and "Monday: a period must end after it starts" in refused.text
    assert 'value="18h-9h"' in refused.text  # what was typed stays in the form
    saved = admin.post(f"/settings/kiosks/{ref.id}/schedule", {"mon": "9h-18h", "fri": "9-12"})
    assert saved.status_code == 303
    with app.app_context(), tenancy.tenant_session(a) as session:
        kiosk = session.get(Kiosk, ref.id)
        assert kiosk is not None and kiosk.schedule["mon"] == [["09:00", "18:00"]]
        body, _version = kiosks.manifest(session, kiosk)
        assert body["schedule"]["fri"] == [["09:00", "12:00"]] and body["timezone"] == "Europe/Paris"
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"kiosk:{ref.id}")
                                  .order_by(AuditEvent.id)).all()
        assert actions[-1] == "kiosk.scheduled"
    page = admin.get("/settings/kiosks").text
    assert f'id="schedule-{ref.id}-mon" name="mon" value="09:00-18:00"' in page


def test_the_screens_page_shows_what_each_screen_shows_now(app: Flask, tenants: dict[str, TenantSet],
                                                           login_as: object) -> None:
    """"Now showing": the clip a screen reported and its caption line at the time since it started it,
    in the rows partial that the page polls (htmx, every 10 s)."""
    a = tenants["a"].id
    with app.app_context():
        call = factories.make_ready_call(a)
        clip_id = factories.make_clip(a, call, start=0.0, end=8.0, title="Colis en retard")
        ref = factories.make_kiosk(a)
        with tenancy.tenant_session(a) as session:
            clip = session.get(Clip, clip_id)
            kiosk = session.get(Kiosk, ref.id)
            assert clip is not None and kiosk is not None
            clip.captions = [{"start": 0.0, "end": 3.0, "text": "Bonjour,"},
                             {"start": 3.0, "end": 7.9, "text": "mon colis n'est pas arrivé."}]
            now = utcnow()
            kiosk.last_seen_at, kiosk.current_clip_id, kiosk.state = now, clip_id, "playing"
            audit.record_play(session, tenant_id=a, kiosk_id=ref.id, clip_id=clip_id, title=clip.title,
                              at=now - timedelta(seconds=4))
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    rows = admin.get("/settings/kiosks", headers={"HX-Request": "true", "HX-Target": "kiosk-rows"})
    assert rows.status_code == 200 and "<tr" in rows.text and "<html" not in rows.text
    assert '<span data-now="title">Colis en retard</span>' in rows.text
    assert "mon colis n&#39;est pas arrivé." in rows.text
    with app.app_context(), tenancy.tenant_session(a) as session:
        kiosk = session.get(Kiosk, ref.id)
        assert kiosk is not None
        kiosk.state, kiosk.current_clip_id = "idle", None
    rows = admin.get("/settings/kiosks", headers={"HX-Request": "true", "HX-Target": "kiosk-rows"})
    assert 'data-now="idle"' in rows.text and "Colis en retard" not in rows.text
