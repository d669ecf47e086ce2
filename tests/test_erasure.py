"""Erasure: a call with its clips, a complaint, one customer everywhere, and the retention period.

Real parts: the database of the run, storage (local files), ffmpeg (renditions and clips), the
``process_call``, ``render_clip``, ``purge_media`` and ``apply_retention`` handlers, and the
worker's claim loop for retention. A kiosk watches its playlist lose the erased clips.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from tests import factories
from tests.conftest import Client, TenantSet
from tests.test_clips import processed_call, run_job
from webapp import jobs, storage, tenancy
from webapp.db import utcnow
from webapp.models import (
    AuditEvent,
    Call,
    Channel,
    Clip,
    Complaint,
    EntryStatus,
    Outcome,
    PlaylistItem,
    RegisterEntry,
    RegisterEvent,
    Role,
    Tag,
    Tenant,
    Transcript,
)
from webapp.services import erasure, register
from worker.handlers import apply_retention, purge_media, registry
from worker.loop import Worker


def _store(app: Flask) -> storage.Storage:
    return storage.get_storage(app.config["ECOUTE"])


def _objects(app: Flask, tenant_id: int, call_id: int) -> list[str]:
    """The keys in storage of a call: its upload, its renditions and its clips' audio."""
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        assert call is not None
        keys = [call.storage_key, *storage.rendition_keys(tenant_id, call.id, call.sha256).all()]
        keys += [k for k in session.scalars(select(Clip.audio_key).where(Clip.call_id == call_id)) if k]
    return keys


def _count(app: Flask, tenant_id: int, model: Any, *where: Any) -> int:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _events(app: Flask, tenant_id: int, action: str) -> list[AuditEvent]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        found = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        session.expunge_all()
        return found


def _purge_jobs(app: Flask, tenant_id: int) -> list[jobs.Job]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        found = list(session.scalars(select(jobs.Job).where(jobs.Job.kind == erasure.PURGE_MEDIA)))
        session.expunge_all()
        return found


def _run_purges(app: Flask, tenant_id: int) -> None:
    """Every purge job of the tenant, twice, as a worker retrying it would."""
    with app.app_context():
        for job in _purge_jobs(app, tenant_id):
            for _ in range(2):
                run_job(purge_media.Handler(), purge_media.KIND, tenant_id, **job.payload)


@pytest.fixture
def room(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, Any]:
    """Company A: a call with two approved clips and one with one clip, all three in one playlist
    that a screen plays; the screen has played the first clip. Company B: a call and a clip."""
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        call = processed_call(a, consent="yes")
        kept_call = processed_call(a, consent="yes", said="merci beaucoup pour votre aide vous avez été parfaits")
        erased = [factories.make_clip(a, call, start=s, end=s + 2.0, sentiment=m, render=True, approve=True)
                  for s, m in ((0.5, "satisfied"), (3.0, "unhappy"))]
        kept = factories.make_clip(a, kept_call, start=0.5, end=2.5, render=True, approve=True)
        playlist = factories.make_playlist(a, [*erased, kept])
        kiosk = factories.make_kiosk(a, playlist)
        their_call = processed_call(b, consent="yes")
        theirs = factories.make_clip(b, their_call, start=0.5, end=2.5, render=True, approve=True)
    screen = Client(app.test_client())
    screen.raw.set_cookie("ecoute_kiosk", kiosk.token, path="/kiosk")
    assert screen.raw.get("/kiosk/manifest.json").status_code == 200  # a screen plays only what it was served
    played = screen.raw.post("/kiosk/heartbeat", json={"state": "playing", "plays": [
        {"clip_id": erased[0], "at": utcnow().isoformat().replace("+00:00", "Z")}]})
    assert played.status_code == 200
    assert played.get_json()["accepted"] == 1
    return {"call": call, "kept_call": kept_call, "erased": erased, "kept": kept, "playlist": playlist,
            "screen": screen, "their_call": their_call, "theirs": theirs}


def test_a_curator_erases_a_call_its_clips_leave_the_room_and_its_files_storage(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, Any], login_as: Any) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    screen: Client = room["screen"]
    manifest = screen.get("/kiosk/manifest.json").json
    assert {c["id"] for c in manifest["clips"]} == {*room["erased"], room["kept"]}
    erased_audio = [c["audio"] for c in manifest["clips"] if c["id"] in room["erased"]]
    assert all(screen.get(url).status_code == 200 for url in erased_audio)
    files, kept_files = _objects(app, a, room["call"]), _objects(app, a, room["kept_call"])
    assert len(files) == 6 and all(_store(app).exists(k) for k in files)  # upload, 3 renditions, 2 clips

    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    page = qm.get(f"/calls/{room['call']}/erase")
    assert page.status_code == 200
    assert "2 clips made from it" in page.text and "2 of them are in a playlist" in page.text
    assert f'action="/calls/{room["call"]}/erase"' in page.text

    refused = qm.post(f"/calls/{room['call']}/erase", {})  # no reason given
    assert refused.status_code == 422 and "Say why it is erased" in refused.text
    assert _count(app, a, Call, Call.id == room["call"]) == 1 and _purge_jobs(app, a) == []

    done = qm.post(f"/calls/{room['call']}/erase", {"reason": "customer_request"})
    assert done.status_code == 303 and done.headers["Location"] == "/calls"
    assert f"Call #{room['call']} erased" in qm.get("/calls").text
    assert qm.get(f"/calls/{room['call']}").status_code == 404
    for model, where in ((Call, Call.id == room["call"]), (Transcript, Transcript.call_id == room["call"]),
                         (Tag, Tag.call_id == room["call"]), (Clip, Clip.call_id == room["call"]),
                         (PlaylistItem, PlaylistItem.clip_id.in_(room["erased"]))):
        assert _count(app, a, model, where) == 0, model
    assert _count(app, a, PlaylistItem, PlaylistItem.clip_id == room["kept"]) == 1
    with app.app_context(), tenancy.tenant_session(a) as session:
        assert session.scalars(select(jobs.Job.kind).where(jobs.Job.payload["call_id"].as_integer()
                                                           == room["call"])).all() == []

    (event,) = _events(app, a, "call.erased")
    assert event.actor_id == tenants["a"].users[Role.QUALITY_MANAGER].id
    assert (event.target, event.details) == (f"call:{room['call']}", {"reason": "customer_request", "clips": 2})
    (play,) = _events(app, a, "clip.played")
    assert play.details == {"erased": True}  # the clip's title is gone from the journal, the play stays

    # The room: the erased clips leave the manifest at once, and their audio is refused.
    after = screen.get("/kiosk/manifest.json").json
    assert [c["id"] for c in after["clips"]] == [room["kept"]] and after["version"] != manifest["version"]
    assert all(screen.get(url).status_code == 404 for url in erased_audio)

    # Storage: the purge job deletes the call's files (twice is harmless), and nothing else.
    (purge,) = _purge_jobs(app, a)
    assert set(files) <= set(purge.payload["keys"])
    assert all(k.startswith(storage.tenant_prefix(a)) for k in purge.payload["keys"])
    _run_purges(app, a)
    assert not any(_store(app).exists(k) for k in files)
    assert all(_store(app).exists(k) for k in kept_files)
    assert all(_store(app).exists(k) for k in _objects(app, b, room["their_call"]))
    assert _count(app, b, Clip) == 1


def test_only_curators_erase_and_another_companys_call_looks_missing(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, Any], login_as: Any) -> None:
    a = tenants["a"].id
    staff = login_as("a", Role.STAFF)
    assert staff.get(f"/calls/{room['call']}/erase").status_code == 403
    assert staff.post(f"/calls/{room['call']}/erase", {"reason": "not_needed"}).status_code == 403
    other = login_as("b", Role.QUALITY_MANAGER)
    assert other.get(f"/calls/{room['call']}/erase").status_code == 404
    assert other.post(f"/calls/{room['call']}/erase", {"reason": "not_needed"}).status_code == 404
    assert _count(app, a, Call, Call.id == room["call"]) == 1 and _count(app, a, Clip) == 3
    assert _events(app, a, "call.erased") == []


def test_a_purge_keeps_a_sound_a_clip_still_uses_and_never_touches_another_tenant(
        app: Flask, tenants: dict[str, TenantSet], room: dict[str, Any]) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context(), tenancy.tenant_session(a) as session:
        used = session.scalar(select(Clip.audio_key).where(Clip.id == room["kept"]))
    with app.app_context(), tenancy.tenant_session(b) as session:
        foreign = session.scalar(select(Clip.audio_key).where(Clip.id == room["theirs"]))
    assert used and foreign
    with app.app_context():
        run_job(purge_media.Handler(), purge_media.KIND, a, keys=[used])
        assert _store(app).exists(used)
        with pytest.raises(Exception, match="outside the tenant's prefix"):
            run_job(purge_media.Handler(), purge_media.KIND, a, keys=[foreign])
    assert _store(app).exists(foreign)


def test_a_complaint_is_erased_with_its_tags_and_the_company_model_forgets_it(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    with app.app_context():
        complaint = factories.make_complaint(a, text="Le livreur a été odieux, je veux être remboursée.")
        kept = factories.make_complaint(a)
    qm = login_as("a", Role.QUALITY_MANAGER, locale="en")
    assert qm.post(f"/complaints/{complaint}/tags", {"sentiment": "unhappy"}).status_code == 303  # a person's tag
    page = qm.get(f"/complaints/{complaint}/erase")
    assert page.status_code == 200 and "The text of the complaint" in page.text
    assert qm.post(f"/complaints/{complaint}/erase", {"reason": "made_up"}).status_code == 422
    assert _count(app, a, Complaint, Complaint.id == complaint) == 1
    done = qm.post(f"/complaints/{complaint}/erase", {"reason": "not_needed"})
    assert done.status_code == 303 and done.headers["Location"] == "/complaints"
    assert _count(app, a, Complaint, Complaint.id == complaint) == 0
    assert _count(app, a, Tag, Tag.complaint_id == complaint) == 0
    assert _count(app, a, Complaint, Complaint.id == kept) == 1
    (event,) = _events(app, a, "complaint.erased")
    assert event.details == {"reason": "not_needed"}
    with app.app_context(), tenancy.tenant_session(a) as session:
        keys = session.scalars(select(jobs.Job.idempotency_key).where(jobs.Job.kind == "retrain_tagger")).all()
    assert any(k.startswith("retrain:erasure:") for k in keys)  # the model is fitted again without it
    assert qm.get(f"/complaints/{complaint}").status_code == 404


def test_a_customer_is_erased_everywhere_in_their_company_and_only_there(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        theirs = [factories.make_call(a, customer_ref="CRM-42") for _ in range(2)]
        clip = factories.make_clip(a, factories.make_ready_call(a), render=False)
        with tenancy.tenant_session(a) as session:  # one of the customer's calls has a clip
            session.execute(update(Clip).where(Clip.id == clip).values(call_id=theirs[0]))
        complaint = factories.make_complaint(a, customer_ref="CRM-42")
        other_customer = factories.make_call(a, customer_ref="CRM-420")
        namesake = factories.make_call(b, customer_ref="CRM-42")  # another company's customer
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    found = admin.get("/settings/privacy?customer_ref=+CRM-42+")
    assert found.status_code == 200
    assert "2 calls" in found.text and "1 written complaint" in found.text and "1 clip made from" in found.text
    assert "Nothing is kept" in admin.get("/settings/privacy?customer_ref=NOPE-1").text

    unconfirmed = admin.post("/settings/privacy/customer", {"customer_ref": "CRM-42"})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    assert _count(app, a, Call, Call.customer_ref == "CRM-42") == 2

    done = admin.post("/settings/privacy/customer", {"customer_ref": "CRM-42", "confirm": "yes"})
    assert done.status_code == 303
    assert "Customer “CRM-42” erased. Calls: 2. Complaints: 1." in admin.get("/settings/privacy").text
    assert _count(app, a, Call, Call.id.in_(theirs)) == 0 and _count(app, a, Clip, Clip.id == clip) == 0
    assert _count(app, a, Complaint, Complaint.id == complaint) == 0
    assert _count(app, a, Call, Call.id == other_customer) == 1
    assert _count(app, b, Call, Call.id == namesake) == 1
    assert [e.details["reason"] for e in _events(app, a, "call.erased")] == ["customer_request"] * 2
    (summary,) = _events(app, a, "customer.erased")
    assert summary.details == {"calls": 2, "complaints": 1, "clips": 1, "entries": 1}  # the complaint's entry
    with app.app_context(), tenancy.tenant_session(a) as session:
        journal = json.dumps([e.details for e in session.scalars(select(AuditEvent))] +
                             [e.target for e in session.scalars(select(AuditEvent))])
    assert "CRM-42" not in journal  # the journal says that a customer was erased, not who
    assert login_as("a", Role.QUALITY_MANAGER).get("/settings/privacy").status_code == 403


def test_a_customer_s_erasure_reaches_the_register_entries_that_name_them(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    """Entries typed by hand with the customer's reference, about their call, or whose words write the
    reference keep their place in the register (reference, dates, status, outcome, timeline) and lose what
    people wrote about the customer; other customers' entries and another company's are untouched; the
    timeline and the journal name the fields emptied, never the words."""
    a, b = tenants["a"].id, tenants["b"].id
    machine = register.Actor.machine()
    with app.app_context():
        call = factories.make_call(a, customer_ref="CRM-42")
        with tenancy.tenant_session(a) as session:
            typed = register.create_entry(session, actor=machine, received_on=date(2026, 3, 2),
                                          channel=Channel.LETTER, customer_ref="CRM-42", product="Four X2",
                                          subject="Mme Dupont : four en panne", remedy="Remboursement à Mme Dupont")
            register.answer(session, typed, "Chère Madame Dupont, nous vous remboursons.", Outcome.UPHELD, machine)
            about_call = register.create_entry(session, actor=machine, received_on=date(2026, 3, 3),
                                               channel=Channel.PHONE, subject="Rappel de M. Martin", call_id=call)
            written = register.create_entry(session, actor=machine, received_on=date(2026, 3, 4),
                                            channel=Channel.EMAIL, remedy="Geste commercial (client CRM-42).")
            others = [register.create_entry(session, actor=machine, received_on=date(2026, 3, 5),
                                            channel=Channel.EMAIL, customer_ref="CRM-420", subject=words)
                      for words in ("Client CRM-420", "Client crm-42 ?")]  # another reference; not as typed
            ids = [typed.id, about_call.id, written.id, *(e.id for e in others)]
            reference = typed.reference
        with tenancy.tenant_session(b) as session:
            namesake = register.create_entry(session, actor=machine, received_on=date(2026, 3, 2),
                                             channel=Channel.LETTER, customer_ref="CRM-42", subject="Mme Dupont").id
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    found = admin.get("/settings/privacy?customer_ref=CRM-42")
    assert "1 call" in found.text and "3 complaint register entries naming them" in found.text

    assert admin.post("/settings/privacy/customer", {"customer_ref": "CRM-42", "confirm": "yes"}).status_code == 303
    with app.app_context(), tenancy.tenant_session(a) as session:
        entries = [session.get(RegisterEntry, entry_id) for entry_id in ids]
        assert all(e is not None for e in entries)
        kept = {e.id: (e.customer_ref, e.subject, e.remedy, e.answer_text) for e in entries if e is not None}
        assert kept[ids[0]] == kept[ids[1]] == kept[ids[2]] == ("", "", "", "")
        assert [kept[i] for i in ids[3:]] == [("CRM-420", "Client CRM-420", "", ""),
                                                ("CRM-420", "Client crm-42 ?", "", "")]
        first = entries[0]
        assert first is not None
        assert (first.reference, first.status, first.outcome, first.product) == (
            reference, EntryStatus.ANSWERED, Outcome.UPHELD, "Four X2")
        last = register.timeline(session, first)[-1]
        assert (last.event.action, last.event.detail, last.who) == (
            "erased", {"fields": ["customer_ref", "subject", "remedy", "answer_text"]}, "Tenant_Admin")
        journal = json.dumps([[e.action, e.target, e.details] for e in session.scalars(select(AuditEvent))]
                             + [e.detail for e in session.scalars(select(RegisterEvent))])
    assert "Dupont" not in journal and "CRM-42" not in journal and "Martin" not in journal
    assert [e.target for e in _events(app, a, "register.erased")] == [f"register:{i}" for i in ids[:3]]
    assert _events(app, a, "customer.erased")[0].details["entries"] == 3
    with app.app_context(), tenancy.tenant_session(b) as session:
        other_company = session.get(RegisterEntry, namesake)
        assert other_company is not None and (other_company.customer_ref, other_company.subject) == (
            "CRM-42", "Mme Dupont")
    assert "Chère Madame" not in admin.get(f"/register/{ids[0]}").text


def test_the_admin_sets_the_retention_period(app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"].id
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    assert 'name="retention_days" type="number" required min="1" max="3650" value="180"' in \
        admin.get("/settings/privacy").text
    bad = admin.post("/settings/privacy/retention", {"retention_days": "0"})
    assert bad.status_code == 422 and "between 1 and 3650 days" in bad.text
    assert admin.post("/settings/privacy/retention", {"retention_days": "90"}).status_code == 303
    with app.app_context(), tenancy.tenant_session(a) as session:
        tenant = session.get(Tenant, a)
        assert tenant is not None and tenant.retention_days == 90
    (event,) = _events(app, a, "tenant.retention_changed")
    assert event.details == {"before": 180, "after": 90}


def _age(app: Flask, tenant_id: int, model: Any, row_id: int, days: int) -> None:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        session.execute(update(model).where(model.id == row_id).values(received_at=utcnow() - timedelta(days=days)))


def test_the_worker_erases_each_day_what_outlived_its_companys_retention(
        app: Flask, tenants: dict[str, TenantSet], make_app: Any) -> None:
    a, b = tenants["a"].id, tenants["b"].id
    with app.app_context():
        with tenancy.tenant_session(a) as session:
            tenant = session.get(Tenant, a)
            assert tenant is not None
            tenant.retention_days = 30
        old, recent = factories.make_call(a), factories.make_call(a)
        old_complaint, recent_complaint = factories.make_complaint(a), factories.make_complaint(a)
        theirs = factories.make_call(b)  # company B keeps 180 days
    for model, row_id, days, tenant_id in ((Call, old, 31, a), (Call, recent, 29, a), (Complaint, old_complaint, 40, a),
                                           (Complaint, recent_complaint, 2, a), (Call, theirs, 40, b)):
        _age(app, tenant_id, model, row_id, days)
    old_files = _objects(app, a, old)

    daily = make_app(retention_check_s=3600, schedules=True)
    handlers = {k: h for k, h in registry().items() if k in (apply_retention.KIND, purge_media.KIND)}
    with daily.app_context():
        assert Worker(daily, handlers, once=True).run() == 0
        assert erasure.schedule_retention() == 0  # today's are queued (and done) already
        with tenancy.tenant_session(a) as session:
            retention_jobs = session.scalars(select(jobs.Job).where(jobs.Job.kind == erasure.APPLY_RETENTION)).all()
            assert [(j.status, j.idempotency_key) for j in retention_jobs] == [
                (jobs.JobStatus.DONE, f"retention:{utcnow().date().isoformat()}")]
    assert _count(app, a, Call, Call.id == old) == 0 and _count(app, a, Complaint, Complaint.id == old_complaint) == 0
    assert _count(app, a, Call, Call.id == recent) == 1
    assert _count(app, a, Complaint, Complaint.id == recent_complaint) == 1
    assert _count(app, b, Call, Call.id == theirs) == 1
    assert not any(_store(app).exists(k) for k in old_files)  # the worker ran the purge too
    events = _events(app, a, "call.erased") + _events(app, a, "complaint.erased")
    assert [(e.actor_id, e.details["reason"]) for e in events] == [(None, "retention")] * 2


def test_retention_erases_in_batches_until_nothing_has_expired(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"].id
    with app.app_context():
        calls = [factories.make_call(a) for _ in range(3)]
        for call in calls:
            _age(app, a, Call, call, 400)
        with tenancy.tenant_session(a) as session:
            assert erasure.apply_retention(session, limit=2).calls == 2
        with tenancy.tenant_session(a) as session:
            assert erasure.apply_retention(session, limit=2).calls == 1
        with tenancy.tenant_session(a) as session:
            done = erasure.apply_retention(session, limit=2)
            assert (done.calls, done.complaints) == (0, 0)
    assert _count(app, a, Call) == 0
