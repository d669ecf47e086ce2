"""Listens (issue #13, item 14): a listen is journalled when playback really starts, not when a page
merely loads its audio (the <audio> element preloads it); once per person and recording per 30 minutes."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.models import AuditEvent, Role


def listens(app: Flask, tenant_id: int) -> list[tuple[str, str, int | None]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.target, AuditEvent.actor_id)
                               .where(AuditEvent.action.in_(("call.listened", "clip.listened")))
                               .order_by(AuditEvent.id)).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def age_listens(app: Flask, tenant_id: int, minutes: int) -> None:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        for event in session.scalars(select(AuditEvent).where(
                AuditEvent.action.in_(("call.listened", "clip.listened")))):
            event.at -= timedelta(minutes=minutes)


def listened(client: Client, url: str) -> int:
    """What the page's script sends when playback starts: a POST with the CSRF header, no form."""
    return client.raw.post(url, headers={"X-CSRFToken": client.csrf_token()}).status_code


def test_loading_the_audio_journals_nothing(app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_ready_call(a)
        clip_id = factories.make_clip(a, call_id, start=0.5, end=2.5, render=True)
    qm = login_as("a", Role.QUALITY_MANAGER)
    assert qm.get(f"/calls/{call_id}").status_code == 200
    whole = qm.get(f"/calls/{call_id}/audio")
    assert whole.status_code == 200 and whole.data[:4] == b"RIFF"
    assert qm.get(f"/calls/{call_id}/audio", headers={"Range": "bytes=0-"}).status_code == 206
    assert qm.get(f"/clips/{clip_id}/audio").status_code == 200
    assert qm.get(f"/clips/{clip_id}/audio", headers={"Range": "bytes=0-99"}).status_code == 206
    assert listens(app, a) == []


def test_playback_journals_one_listen_per_person_and_recording_per_half_hour(
        app: Flask, tenants: dict[str, TenantSet], login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_ready_call(a)
        clip_id = factories.make_clip(a, call_id, start=0.5, end=2.5, render=True)
    qm, admin = login_as("a", Role.QUALITY_MANAGER), login_as("a", Role.TENANT_ADMIN)
    me, boss = tenants["a"].users[Role.QUALITY_MANAGER].id, tenants["a"].users[Role.TENANT_ADMIN].id

    assert listened(qm, f"/calls/{call_id}/listened") == 204
    assert listened(qm, f"/calls/{call_id}/listened") == 204  # paused, played again: the same listen
    assert listened(qm, f"/clips/{clip_id}/listened") == 204
    assert listened(admin, f"/calls/{call_id}/listened") == 204  # another person: a listen of their own
    assert listens(app, a) == [("call.listened", f"call:{call_id}", me), ("clip.listened", f"clip:{clip_id}", me),
                               ("call.listened", f"call:{call_id}", boss)]

    age_listens(app, a, 29)
    assert listened(qm, f"/calls/{call_id}/listened") == 204
    assert len(listens(app, a)) == 3  # still within the half hour
    age_listens(app, a, 2)
    assert listened(qm, f"/calls/{call_id}/listened") == 204
    assert listened(qm, f"/clips/{clip_id}/listened") == 204
    assert listens(app, a)[3:] == [("call.listened", f"call:{call_id}", me), ("clip.listened", f"clip:{clip_id}", me)]


def test_a_listen_needs_the_csrf_token_a_curator_and_the_company(app: Flask, tenants: dict[str, TenantSet],
                                                                 login_as) -> None:
    a = tenants["a"].id
    with app.app_context():
        call_id = factories.make_ready_call(a)
    qm = login_as("a", Role.QUALITY_MANAGER)
    assert qm.raw.post(f"/calls/{call_id}/listened").status_code == 400  # no token: refused
    assert listened(login_as("a", Role.STAFF), f"/calls/{call_id}/listened") == 403
    assert listened(login_as("b", Role.QUALITY_MANAGER), f"/calls/{call_id}/listened") == 404
    assert listens(app, a) == []
