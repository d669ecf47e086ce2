"""The journal names what each event is about, with a link, instead of ``user:6`` or ``clip:4``
(issue #13, item 15); an erased item shows a neutral label; the names cost one query per kind."""

from __future__ import annotations

from html import unescape

from flask import Flask

from tests import factories
from tests.conftest import Client, CountQueries, TenantSet
from webapp import tenancy
from webapp.models import Call, Role
from webapp.services import erasure


def journal_rows(admin: Client) -> str:
    page = admin.get("/people/journal")
    assert page.status_code == 200
    return unescape(page.text.split('id="journal-rows"')[1].split("</tbody>")[0])


def some_events(app: Flask, tenants: dict[str, TenantSet], admin: Client, n: int) -> dict[str, int]:
    """One event about each kind of thing: a person, a call, a complaint, a clip, a playlist, a screen
    (in company B, whose journal is in English)."""
    b = tenants["b"].id
    with app.app_context():
        call_id = factories.make_ready_call(b)
        clip_id = factories.make_clip(b, call_id, title=f"Cliente ravie {n}")
        playlist_id = factories.make_playlist(b, name=f"Accueil {n}")
        kiosk = factories.make_kiosk(b, playlist_id, name=f"Salle de Lyon {n}")
        complaint_id = factories.make_complaint(b)
        person = factories.make_user(b, role=Role.STAFF, name=f"Léa Martin {n}")
    assert admin.post(f"/people/{person.id}/role", {"role": "quality_manager"}).status_code == 303
    assert admin.post(f"/complaints/{complaint_id}/tags", {"sentiment": "unhappy"}).status_code == 303
    assert admin.raw.post(f"/calls/{call_id}/listened", headers={"X-CSRFToken": admin.csrf_token()}).status_code == 204
    return {"call": call_id, "clip": clip_id, "playlist": playlist_id, "kiosk": kiosk.id,
            "complaint": complaint_id, "user": person.id}


def test_the_journal_names_and_links_what_each_event_is_about(app: Flask, tenants: dict[str, TenantSet],
                                                              login_as) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    ids = some_events(app, tenants, admin, 1)
    rows = journal_rows(admin)
    for kind, object_id in ids.items():
        assert f"{kind}:{object_id}" not in rows, f"{kind}:{object_id} shown raw"
    assert f'<a href="/calls/{ids["call"]}">call.wav</a>' in rows
    assert f'<a href="/clips/{ids["clip"]}">Cliente ravie 1</a>' in rows
    assert f'<a href="/playlists/{ids["playlist"]}">Accueil 1</a>' in rows
    assert f'<a href="/settings/kiosks#kiosk-{ids["kiosk"]}">Salle de Lyon 1</a>' in rows
    assert f'<a href="/complaints/{ids["complaint"]}">Complaint #{ids["complaint"]}</a>' in rows
    assert f'<a href="/people#person-{ids["user"]}">Léa Martin 1</a>' in rows
    assert "No longer exists" not in rows

    # Erased: the journal keeps the event, and names nothing.
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        call = session.get(Call, ids["call"])
        assert call is not None
        erasure.erase_call(session, None, call, "not_needed")
    rows = journal_rows(admin)
    assert f'href="/calls/{ids["call"]}"' not in rows and "call.wav" not in rows
    assert rows.count('<span class="muted">No longer exists</span>') >= 2  # the listen, and the erasure itself


def test_the_journal_names_cost_one_query_per_kind(app: Flask, tenants: dict[str, TenantSet], login_as,
                                                   count_queries: CountQueries) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    some_events(app, tenants, admin, 1)
    with count_queries() as few:
        journal_rows(admin)
    some_events(app, tenants, admin, 2)
    some_events(app, tenants, admin, 3)
    with count_queries() as more:
        rows = journal_rows(admin)
    assert "Léa Martin 3" in rows and "Cliente ravie 2" in rows
    assert len(more.reads()) == len(few.reads()), "\n".join(more.reads())
