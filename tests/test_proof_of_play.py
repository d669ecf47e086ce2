"""Proof of play (issue #16, item 8): plays per clip, per screen and per day, in the company's time zone,
with a CSV export; it outlives a clip's retirement and erasure and holds no personal data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from flask import Flask
from sqlalchemy import delete, select, update

from tests import factories
from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import AuditEvent, Clip, Kiosk, PlayTally, Role, Tenant
from webapp.services import proof_of_play


def _count(app: Flask, tenant_id: int, kiosk_id: int, plays: list[tuple[int, datetime]]) -> None:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        kiosk = session.get(Kiosk, kiosk_id)
        assert kiosk is not None
        proof_of_play.count_plays(session, kiosk, plays)


def _tallies(app: Flask, tenant_id: int) -> list[tuple[int, int, date, int]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return [(t.kiosk_id, t.clip_id, t.day, t.plays) for t in
                session.scalars(select(PlayTally).order_by(PlayTally.day, PlayTally.clip_id))]


def test_plays_are_counted_per_clip_screen_and_company_day(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        kiosk = factories.make_kiosk(a).id
        with tenancy.all_tenants_session() as session:
            session.execute(update(Tenant).where(Tenant.id == a).values(timezone="America/New_York"))
    # 03:00 UTC on 2 Dec is still 1 Dec in New York; 15:00 UTC is 2 Dec there.
    late, day = datetime(2026, 12, 2, 3, 0, tzinfo=UTC), datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    _count(app, a, kiosk, [(7, late), (7, day), (7, day), (8, day)])
    _count(app, a, kiosk, [(7, day)])  # a second heartbeat: the same row grows (the upsert)
    assert _tallies(app, a) == [(kiosk, 7, date(2026, 12, 1), 1), (kiosk, 7, date(2026, 12, 2), 3),
                                (kiosk, 8, date(2026, 12, 2), 1)]
    assert _tallies(app, tenants["b"].id) == []


def test_the_report_outlives_retirement_and_erasure_and_exports(app: Flask, tenants: dict[str, TenantSet],
                                                                login_as: object) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        call = factories.make_ready_call(a)
        kept = factories.make_clip(a, call, start=0.0, end=1.5, title="Livraison en retard")
        erased = factories.make_clip(a, call, start=2.0, end=3.5, title="Madame Durand rappelle")
        kiosk = factories.make_kiosk(a, name="Salle client Lyon").id
        theirs = factories.make_kiosk(b, name="Their room").id
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    _count(app, a, kiosk, [(kept, at), (kept, at), (erased, at)])
    _count(app, b, theirs, [(kept, at)])
    with app.app_context(), tenancy.tenant_session(a) as session:
        session.execute(update(Clip).where(Clip.id == kept).values(status="retired", retired_at=at))
        session.execute(delete(Clip).where(Clip.id == erased))  # as erasure does

    admin = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    page = admin.get("/settings/kiosks/plays?start=2026-11-01&end=2026-11-30")
    assert page.status_code == 200
    assert "3 plays from" in page.text and "Livraison en retard" in page.text and "clip erased" in page.text
    assert "Madame Durand" not in page.text and "Their room" not in page.text
    assert f'data-clip="{kept}" data-kiosk="{kiosk}" data-day="2026-11-20"' in page.text

    export = admin.get("/settings/kiosks/plays.csv?start=2026-11-01&end=2026-11-30")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows == [["Day", "Screen", "Clip", "Clip title", "Plays"],
                    ["2026-11-20", "Salle client Lyon", str(kept), "Livraison en retard", "2"],
                    ["2026-11-20", "Salle client Lyon", str(erased), "clip erased", "1"]]
    french = login_as("a", Role.TENANT_ADMIN, locale="fr")  # type: ignore[operator]
    rows = list(csv.reader(io.StringIO(french.get("/settings/kiosks/plays.csv?start=2026-11-01&end=2026-11-30")
                                       .data.decode("utf-8-sig"))))
    assert rows[0] == ["Jour", "Écran", "Extrait", "Titre de l'extrait", "Lectures"]
    assert rows[2][3] == "extrait effacé"
    with app.app_context(), tenancy.tenant_session(a) as session:
        journal = session.scalars(select(AuditEvent).where(AuditEvent.action == "plays.exported")).all()
        assert [e.details["rows"] for e in journal] == [2, 2]

    outside = french.get("/settings/kiosks/plays?start=2026-12-01&end=2026-12-31")  # the same person, now in French
    assert "0 lecture du" in outside.text and "Livraison en retard" not in outside.text


def test_a_wrong_range_says_why_and_shows_the_last_30_days(app: Flask, tenants: dict[str, TenantSet],
                                                           login_as: object) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    for query, message in (("start=2026-13-01", "Dates are written as"), ("start=2026-11-30&end=2026-11-01",
                                                                          "ends before it starts"),
                           ("start=2020-01-01&end=2026-01-01", "a year at most")):
        page = admin.get(f"/settings/kiosks/plays?{query}")
        assert page.status_code == 200 and message in page.text, query
    now = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # already 4 December in Paris
    period = proof_of_play.date_range({}, None, now=now)
    assert (period.start, period.end, period.days) == (date(2026, 11, 5), date(2026, 12, 4), 30)
