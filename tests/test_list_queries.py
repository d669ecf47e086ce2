"""Every list page costs the same number of queries whatever the number of rows it shows (no N+1).

Each page is rendered with one row of its kind, then with five, by the person who may see it; the
query counts (``count_queries`` in tests/conftest.py) must be equal. A first rendering, not counted,
warms what a process reads once (the row-level-security key, translations).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask

from tests import factories
from tests.conftest import CountQueries, TenantSet
from webapp import tenancy
from webapp.models import Channel, Role, TokenScope
from webapp.services import register

Seed = Callable[[dict[str, TenantSet]], None]


def _call(t: dict[str, TenantSet]) -> None:
    call_id = factories.make_ready_call(t["a"].id, seconds=2.0)
    factories.make_clip(t["a"].id, call_id, start=0.0, end=1.5)  # a call with a clip shows it


def _clip(t: dict[str, TenantSet]) -> None:
    factories.make_clip(t["a"].id, factories.make_ready_call(t["a"].id, seconds=2.0), start=0.0, end=1.5)


def _playlist(t: dict[str, TenantSet]) -> None:
    factories.make_playlist(t["a"].id)


def _person(t: dict[str, TenantSet]) -> None:
    factories.make_user(t["a"].id, role=Role.STAFF)


def _journal(t: dict[str, TenantSet]) -> None:
    # Entries naming different kinds of target: an API token and a kiosk (paired, then collected).
    factories.make_api_token(t["a"].id, TokenScope.READ)
    factories.make_kiosk(t["a"].id)


def _kiosk(t: dict[str, TenantSet]) -> None:
    factories.make_kiosk(t["a"].id, factories.make_playlist(t["a"].id))


def _token(t: dict[str, TenantSet]) -> None:
    factories.make_api_token(t["a"].id, TokenScope.READ)


def _complaint(t: dict[str, TenantSet]) -> None:
    factories.make_complaint(t["a"].id)


def _tenant(_t: dict[str, TenantSet]) -> None:
    tenant_id = factories.make_tenant()
    factories.make_user(tenant_id, role=Role.TENANT_ADMIN)


def _product(t: dict[str, TenantSet]) -> None:
    factories.make_product(t["a"].id)


def _alert(t: dict[str, TenantSet]) -> None:
    factories.make_alert(t["a"].id)


def _action(t: dict[str, TenantSet]) -> None:
    # An action with an owner: the list names owners in one query, whatever their number.
    from tests.test_actions import make_action

    make_action(t["a"])


def _register(t: dict[str, TenantSet]) -> None:
    # An entry with an owner: the list names owners in one query, whatever their number.
    with tenancy.tenant_session(t["a"].id) as session:
        register.create_entry(session, actor=register.Actor.machine(), received_on=date(2026, 1, 5),
                              channel=Channel.LETTER, subject="Four en panne",
                              owner_id=t["a"].users[Role.QUALITY_MANAGER].id)


def _workshop(t: dict[str, TenantSet]) -> None:
    # A workshop with someone checked in: its playlist's name and attendance are read in one query each.
    from tests.test_workshops import make_workshop
    from webapp.models import User, Workshop
    from webapp.services import workshops

    workshop_id = make_workshop(t["a"], clips=0)
    with tenancy.tenant_session(t["a"].id) as session:
        workshop, staff = session.get(Workshop, workshop_id), session.get(User, t["a"].users[Role.STAFF].id)
        assert workshop is not None and staff is not None
        workshops.check_in(session, staff, workshop.checkin_code)


def _counted_person(t: dict[str, TenantSet]) -> None:
    # Someone who joined long ago and listened this quarter: the page reads their minutes in one query.
    from datetime import UTC, datetime

    from webapp.db import utcnow
    from webapp.models import Listen, ListenSource, User

    ref = factories.make_user(t["a"].id, role=Role.STAFF)
    with tenancy.tenant_session(t["a"].id) as session:
        user = session.get(User, ref.id)
        assert user is not None
        user.created_at, user.department = datetime(2020, 1, 6, tzinfo=UTC), "Ventes"
        session.add(Listen(user_id=ref.id, source=ListenSource.OWN, at=utcnow(), seconds=90.0))


#: URL, who reads it, and how to add one row to it.
PAGES: dict[str, tuple[str, tuple[str, Role], Seed]] = {
    "calls": ("/calls", ("a", Role.QUALITY_MANAGER), _call),
    "clips": ("/clips", ("a", Role.QUALITY_MANAGER), _clip),
    "playlists": ("/playlists", ("a", Role.QUALITY_MANAGER), _playlist),
    "people": ("/people", ("a", Role.TENANT_ADMIN), _person),
    "journal": ("/people/journal", ("a", Role.TENANT_ADMIN), _journal),
    "kiosks": ("/settings/kiosks", ("a", Role.TENANT_ADMIN), _kiosk),
    "tokens": ("/settings/api-tokens", ("a", Role.TENANT_ADMIN), _token),
    "complaints": ("/complaints", ("a", Role.QUALITY_MANAGER), _complaint),
    "admin tenants": ("/admin/tenants", ("platform", Role.PLATFORM_ADMIN), _tenant),
    "register": ("/register", ("a", Role.QUALITY_MANAGER), _register),
    "products": ("/products", ("a", Role.TENANT_ADMIN), _product),
    "scorecards": ("/scorecards", ("a", Role.QUALITY_MANAGER), _product),
    "alerts": ("/alerts", ("a", Role.QUALITY_MANAGER), _alert),
    "actions": ("/actions", ("a", Role.QUALITY_MANAGER), _action),
    "actions, staff": ("/actions", ("a", Role.STAFF), _action),
    "workshops": ("/workshops", ("a", Role.QUALITY_MANAGER), _workshop),
    "coverage people": ("/coverage/people", ("a", Role.TENANT_ADMIN), _counted_person),
}


@pytest.mark.parametrize("page", PAGES)
def test_list_page_queries_do_not_grow_with_its_rows(app: Flask, tenants: dict[str, TenantSet], login_as: Any,
                                                     count_queries: CountQueries, page: str) -> None:
    url, (tenant_key, role), seed = PAGES[page]
    reader = login_as(tenant_key, role)
    with app.app_context():
        seed(tenants)
    assert reader.get(url).status_code == 200
    with count_queries() as one:
        first = reader.get(url)
    with app.app_context():
        for _ in range(4):
            seed(tenants)
    with count_queries() as five:
        second = reader.get(url)
    assert first.status_code == second.status_code == 200
    assert len(second.text) > len(first.text), "the five rows are not on the page"
    assert len(one) > 0, "the counter saw no query"
    assert len(five) == len(one), f"one row: {one}\n\nfive rows: {five}"
