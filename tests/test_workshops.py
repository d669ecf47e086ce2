"""Listening workshops (issue #16, item 5): planning with invitations, check-in by QR code (once, own
company only), reactions from phones, decisions that become improvement actions, the attendees'
listening time written once, the summary and its PDF (webapp/services/workshops.py)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import jobs, mail, tenancy
from webapp.errors import NotFound, UserError
from webapp.models import (
    ActionOrigin,
    AuditEvent,
    Clip,
    ClipStatus,
    ImprovementAction,
    Listen,
    ListenSource,
    Reaction,
    RenderStatus,
    Role,
    User,
    Workshop,
    WorkshopAttendance,
    WorkshopStatus,
)
from webapp.services import workshops


def playable_clip(tenant_id: int, *, title: str, seconds: float = 30.0, render: bool = False) -> int:
    """An approved clip the room may play, of ``seconds`` (its audio rendered for real only with ``render``)."""
    call_id = factories.make_ready_call(tenant_id, seconds=4.0)
    if render:
        return factories.make_clip(tenant_id, call_id, start=0.0, end=2.0, title=title, render=True, approve=True)
    clip_id = factories.make_clip(tenant_id, call_id, start=0.0, end=2.0, title=title)
    with tenancy.tenant_session(tenant_id) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.status, clip.render_status, clip.duration_s = ClipStatus.APPROVED, RenderStatus.READY, seconds
    return clip_id


def make_workshop(t: TenantSet, *, clips: int = 2, title: str = "Atelier écoute", departments: tuple[str, ...] = (),
                  invitees: tuple[int, ...] = ()) -> int:
    """A workshop planned by the company's quality manager, on a playlist of ``clips`` playable clips; its id."""
    clip_ids = [playable_clip(t.id, title=f"Voix {n + 1}") for n in range(clips)]
    playlist_id = factories.make_playlist(t.id, clip_ids, mode="ordered")
    with tenancy.tenant_session(t.id) as session:
        manager = session.get(User, t.users[Role.QUALITY_MANAGER].id)
        assert manager is not None
        form = MultiDict([("title", title), ("day", "2026-12-10"), ("time", "14:00"),
                          ("playlist_id", str(playlist_id)), ("pause", "5"),
                          *[("invitees", str(i)) for i in invitees], *[("departments", d) for d in departments]])
        return workshops.plan(session, manager, workshops.Draft.from_form(form)).id


def _user(session: Session, t: TenantSet, role: Role) -> User:
    user = session.get(User, t.users[role].id)
    assert user is not None
    return user


def _workshop(session: Session, workshop_id: int) -> Workshop:
    return workshops.get_workshop(session, workshop_id)


def test_planning_stores_the_local_time_and_invites_people_and_departments_once(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        with tenancy.tenant_session(a.id) as session:
            _user(session, a, Role.STAFF).department = "Service client"
            _user(session, a, Role.TENANT_ADMIN).department = "Service client"
        workshop_id = make_workshop(a, departments=("Service client",), invitees=(a.users[Role.STAFF].id,))
        with tenancy.tenant_session(a.id) as session:
            workshop = _workshop(session, workshop_id)
            # 14:00 in Paris in December is 13:00 UTC.
            assert workshop.starts_at.isoformat() == "2026-12-10T13:00:00+00:00"
            assert workshop.status == WorkshopStatus.PLANNED and len(workshop.checkin_code) >= 30
            invited = workshops.invitees(session, workshop)
            assert [u.id for u in invited.people] == [a.users[Role.STAFF].id]
            assert invited.departments == ["Service client"]
            mails = list(session.scalars(select(jobs.Job).where(jobs.Job.kind == "send_mail")))
            invitations = [m for m in mails if m.payload["template"] == workshops.INVITATION]
            # The staff member, invited twice (by name and department), gets one mail; the admin one.
            assert sorted(m.payload["user_id"] for m in invitations) == sorted(
                [a.users[Role.STAFF].id, a.users[Role.TENANT_ADMIN].id])
            assert invitations[0].payload["context"]["time"] == "14:00"
            context = {**invitations[0].payload["context"], "tenant_name": "Entreprise A", "base_url": "https://x.test"}
            message = mail.build_message(app.config["ECOUTE"], "staff@a.test", workshops.INVITATION, "fr", **context)
            subject = message["Subject"].replace("\u00a0", " ").replace("\u202f", " ")
            # the day in words, in the recipient's language (it was "2026-12-10")
            assert subject == "Invitation : atelier d'écoute « Atelier écoute » le jeudi 10 décembre 2026 à 14:00"
            assert f"https://x.test/workshops/{workshop_id}/phone" in message.get_content()
            english = mail.build_message(app.config["ECOUTE"], "staff@a.test", workshops.INVITATION, "en", **context)
            assert "on Thursday, December 10, 2026 at 14:00" in english["Subject"]


def test_planning_refuses_a_missing_title_or_playlist(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        manager = _user(session, a, Role.QUALITY_MANAGER)
        for form, code in (({"title": "", "day": "2026-12-10", "time": "14:00"}, "workshop_title"),
                           ({"title": "X", "day": "demain", "time": "14:00"}, "workshop_when"),
                           ({"title": "X", "day": "2026-12-10", "time": "14:00"}, "workshop_playlist")):
            try:
                workshops.plan(session, manager, workshops.Draft.from_form(MultiDict(form)))
            except UserError as err:
                assert err.code == code
            else:
                raise AssertionError(f"planned without {code}")
        assert session.scalar(select(func.count()).select_from(Workshop)) == 0


def test_check_in_is_idempotent_and_another_companys_person_cannot_check_in(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a, b = tenants["a"], tenants["b"]
    with app.app_context():
        workshop_id = make_workshop(a)
        with tenancy.tenant_session(a.id) as session:
            code = _workshop(session, workshop_id).checkin_code
            staff = _user(session, a, Role.STAFF)
            assert workshops.check_in(session, staff, code).id == workshop_id
            assert workshops.check_in(session, staff, code).id == workshop_id  # a second scan
        with tenancy.tenant_session(b.id) as session:
            stranger = _user(session, b, Role.STAFF)
            try:
                workshops.check_in(session, stranger, code)
            except NotFound:
                pass
            else:
                raise AssertionError("another company's person checked in")
        with tenancy.tenant_session(a.id) as session:
            rows = list(session.scalars(select(WorkshopAttendance)))
            assert [(r.workshop_id, r.user_id) for r in rows] == [(workshop_id, a.users[Role.STAFF].id)]


def test_two_check_ins_at_the_same_moment_record_one_attendance(
        app: Flask, tenants: dict[str, TenantSet], monkeypatch: pytest.MonkeyPatch) -> None:
    """Both scans look, find no attendance, insert: the unique constraint refuses the second insert, and
    that scan answers as a second scan does (no error, one attendance, one journal line)."""
    a = tenants["a"]
    with app.app_context():
        workshop_id = make_workshop(a)
        with tenancy.tenant_session(a.id) as session:
            code = _workshop(session, workshop_id).checkin_code
            workshops.check_in(session, _user(session, a, Role.STAFF), code)
        looked = workshops.has_attended

        def before_the_other_committed(*args: Any) -> bool:  # the first look only
            monkeypatch.setattr(workshops, "has_attended", looked)
            return False

        monkeypatch.setattr(workshops, "has_attended", before_the_other_committed)
        with tenancy.tenant_session(a.id) as session:
            assert workshops.check_in(session, _user(session, a, Role.STAFF), code).id == workshop_id
        with tenancy.tenant_session(a.id) as session:
            assert len(list(session.scalars(select(WorkshopAttendance)))) == 1
            assert len(list(session.scalars(select(AuditEvent).where(AuditEvent.action == "workshop.checked_in")))) == 1


def test_reactions_and_decisions_during_the_workshop_and_listens_written_once(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        workshop_id = make_workshop(a, clips=3)
        with tenancy.tenant_session(a.id) as session:
            workshop, manager = _workshop(session, workshop_id), _user(session, a, Role.QUALITY_MANAGER)
            staff = _user(session, a, Role.STAFF)
            clips = workshops.clips_of(session, workshop)
            try:
                workshops.end(session, manager, workshop)
            except UserError as err:
                assert err.code == "workshop_not_started"
            workshops.start(session, manager, workshop)
            workshops.check_in(session, staff, workshop.checkin_code)
            workshops.check_in(session, manager, workshop.checkin_code)
            assert workshops.now_playing(session, workshop) == clips[0]
            assert workshops.advance(session, workshop, 1) == clips[1]
            reaction = workshops.react(session, staff, workshop, clip_id=clips[1].id, kind="touched",
                                       comment="Ça me rappelle un client")
            assert reaction.workshop_id == workshop_id
            action = workshops.decide(session, manager, workshop, title="Rappeler sous 24 h",
                                      problem="Les clients attendent", clip_id=clips[1].id)
            assert (action.origin, action.workshop_id) == (ActionOrigin.WORKSHOP, workshop_id)
            assert workshop.started_at is not None
            workshop.started_at = workshop.started_at - timedelta(minutes=10)
            assert workshops.end(session, manager, workshop) == 2
            assert workshops.end(session, manager, workshop) == 0  # ending again writes nothing
            assert workshops.credit_attendance(session, workshop) == 0
        with tenancy.tenant_session(a.id) as session:
            listens = list(session.scalars(select(Listen).order_by(Listen.user_id)))
            # The two clips played (30 s each), well within the ten minutes it ran.
            assert [(x.user_id, x.source, x.workshop_id, x.seconds) for x in listens] == sorted(
                [(a.users[Role.STAFF].id, ListenSource.WORKSHOP, workshop_id, 60.0),
                 (a.users[Role.QUALITY_MANAGER].id, ListenSource.WORKSHOP, workshop_id, 60.0)])
            actions = list(session.scalars(select(ImprovementAction)))
            assert [x.title for x in actions] == ["Rappeler sous 24 h"]
            summary = workshops.summary(session, _workshop(session, workshop_id), "fr")
            assert [c.clip.title for c in summary.clips] == ["Voix 1", "Voix 2"]
            assert summary.clips[1].total == 1 and summary.clips[1].comments[0][1] == "Ça me rappelle un client"
            assert [u.id for u, _at in summary.attendees] == [a.users[Role.STAFF].id,
                                                              a.users[Role.QUALITY_MANAGER].id]
            try:
                workshops.check_in(session, staff, summary.workshop.checkin_code)
            except UserError as err:
                assert err.code == "workshop_ended"


def test_time_credited_is_capped_by_how_long_the_workshop_ran(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        workshop_id = make_workshop(a, clips=2)
        with tenancy.tenant_session(a.id) as session:
            workshop, manager = _workshop(session, workshop_id), _user(session, a, Role.QUALITY_MANAGER)
            workshops.start(session, manager, workshop)
            workshops.check_in(session, manager, workshop.checkin_code)
            workshops.advance(session, workshop, 1)
            workshops.end(session, manager, workshop)  # ended at once: not a minute of the clips was heard
            assert workshops.listened_seconds(session, workshop) < 5
            assert session.scalar(select(Listen.seconds)) == workshops.listened_seconds(session, workshop)


def test_editing_the_playlist_of_a_started_workshop_changes_neither_its_run_nor_its_summary(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    """The run is kept when the workshop starts: a clip removed from the playlist during the workshop
    still plays and is in the summary, one added is not, and the time credited is that of the clips heard
    (it followed the playlist as it was when read)."""
    from webapp.models import Playlist
    from webapp.services import clips, playlists

    a = tenants["a"]
    with app.app_context():
        workshop_id = make_workshop(a, clips=2)
        newcomer = playable_clip(a.id, title="Voix ajoutée après", seconds=90.0)
        with tenancy.tenant_session(a.id) as session:
            workshop, manager = _workshop(session, workshop_id), _user(session, a, Role.QUALITY_MANAGER)
            workshops.start(session, manager, workshop)
            workshops.start(session, manager, workshop)  # a second start keeps the one run
            heard = [c.title for c in workshops.clips_of(session, workshop)]
            assert heard == ["Voix 1", "Voix 2"]
            playlist = session.get(Playlist, workshop.playlist_id)
            assert playlist is not None
            first = workshops.clips_of(session, workshop)[0]
            playlists.remove_clip(session, manager, playlist, first.id)
            playlists.add_clip(session, manager, playlist, clips.get_clip(session, newcomer))
        with tenancy.tenant_session(a.id) as session:
            workshop, manager = _workshop(session, workshop_id), _user(session, a, Role.QUALITY_MANAGER)
            assert [c.title for c in workshops.clips_of(session, workshop)] == heard
            assert workshops.advance(session, workshop, 1) is not None
            assert workshops.advance(session, workshop, 2) is None  # the clip added later is not in the run
            workshops.check_in(session, manager, workshop.checkin_code)
            workshops.end(session, manager, workshop)
        with tenancy.tenant_session(a.id) as session:
            workshop = _workshop(session, workshop_id)
            summary = workshops.summary(session, workshop, "fr")
            assert [c.clip.title for c in summary.clips] == heard
            assert all(c.clip.id != newcomer for c in summary.clips)


def test_a_reaction_needs_a_check_in_and_a_running_workshop(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        workshop_id = make_workshop(a, clips=1)
        with tenancy.tenant_session(a.id) as session:
            workshop, staff = _workshop(session, workshop_id), _user(session, a, Role.STAFF)
            clip_id = workshops.clips_of(session, workshop)[0].id
            for step in ("not_checked_in", "not_running"):
                try:
                    workshops.react(session, staff, workshop, clip_id=clip_id, kind="understand")
                except UserError as err:
                    assert err.code == f"workshop_{step}"
                workshops.check_in(session, staff, workshop.checkin_code)
            assert session.scalar(select(func.count()).select_from(Reaction)) == 0


# --- pages -----------------------------------------------------------------------------------------


def test_a_workshop_from_plan_to_summary_over_http(app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = playable_clip(a.id, title="Voix du jour")
        playlist_id = factories.make_playlist(a.id, [clip_id])
    manager: Client = login_as("a", Role.QUALITY_MANAGER, locale="en")
    assert "Plan a workshop" in manager.get("/workshops").text
    refused = manager.post("/workshops", {"title": "Atelier", "day": "2026-12-10", "time": "14:00", "pause": "5"})
    assert refused.status_code == 422 and "Choose the playlist" in refused.text
    made = manager.post("/workshops", {"title": "Atelier", "day": "2026-12-10", "time": "14:00", "pause": "5",
                                       "playlist_id": str(playlist_id)})
    assert made.status_code == 303
    page = manager.get(made.headers["Location"])
    assert page.status_code == 200 and "Atelier" in page.text and "Start the workshop" in page.text
    workshop_id = int(made.headers["Location"].rsplit("/", 1)[1])
    assert manager.post(f"/workshops/{workshop_id}/start").headers["Location"].endswith("/run")
    screen = manager.get(f"/workshops/{workshop_id}/run")
    assert screen.status_code == 200 and "<svg" in screen.text and "js/workshop.js" in screen.text
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        code = _workshop(session, workshop_id).checkin_code
    assert f"/workshops/check-in/{code}" in screen.text

    staff: Client = login_as("a", Role.STAFF, locale="en")
    checked = staff.get(f"/workshops/check-in/{code}")
    assert checked.headers["Location"].endswith(f"/workshops/{workshop_id}/phone")
    phone = staff.get(f"/workshops/{workshop_id}/phone")
    assert "Voix du jour" in phone.text and "It moves me" in phone.text
    assert staff.post(f"/workshops/{workshop_id}/reactions", {"clip_id": str(clip_id), "kind": "act",
                                                                  "comment": "Trop long"}).status_code == 303
    assert staff.get(f"/workshops/{workshop_id}/run").status_code == 403  # staff do not run workshops

    assert manager.post(f"/workshops/{workshop_id}/decisions", {"title": "Raccourcir l'attente",
                                                                  "clip_id": str(clip_id)}).status_code == 303
    assert manager.post(f"/workshops/{workshop_id}/end").headers["Location"].endswith("/summary")
    summary = manager.get(f"/workshops/{workshop_id}/summary")
    assert summary.status_code == 200
    for text in ("Voix du jour", "Trop long", "Raccourcir l&#39;attente", "1 person checked in"):
        assert text in summary.text, text
    assert manager.get("/workshops").status_code == 200


def test_the_summary_pdf_is_made_by_the_worker(app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    from worker.handlers import JobContext, workshop_pdf

    a = tenants["a"]
    with app.app_context():
        workshop_id = make_workshop(a, clips=1, title="Atelier PDF")
        with tenancy.tenant_session(a.id) as session:
            workshop, manager = _workshop(session, workshop_id), _user(session, a, Role.QUALITY_MANAGER)
            workshops.start(session, manager, workshop)
            workshops.check_in(session, _user(session, a, Role.STAFF), workshop.checkin_code)
            workshops.end(session, manager, workshop)
    client: Client = login_as("a", Role.QUALITY_MANAGER)
    assert client.get(f"/workshops/{workshop_id}/pdf/file").status_code == 303  # nothing asked for yet
    assert client.post(f"/workshops/{workshop_id}/pdf").status_code == 303
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        job = session.scalars(select(jobs.Job).where(jobs.Job.kind == workshops.WORKSHOP_PDF)).one()
        job_id, payload = job.id, dict(job.payload)
    with app.app_context():
        for _ in range(2):  # run twice: the same file
            workshop_pdf.Handler().run(JobContext(job_id=job_id, kind=workshop_pdf.KIND, tenant_id=a.id,
                                                  payload=payload, attempt=1, max_attempts=1,
                                                  settings=app.config["ECOUTE"]))
        with tenancy.tenant_session(a.id) as session:
            done = session.get(jobs.Job, job_id)
            assert done is not None
            done.status = jobs.JobStatus.DONE
    assert f"/workshops/{workshop_id}/pdf/file" in client.get(f"/workshops/{workshop_id}/pdf").text
    pdf = client.get(f"/workshops/{workshop_id}/pdf/file")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Atelier PDF" in text and "Staff" in text


def test_the_summary_pdf_is_purged_a_day_after_it_was_made(app: Flask, tenants: dict[str, TenantSet]) -> None:
    from webapp import storage
    from webapp.db import utcnow
    from worker.handlers import JobContext, review_pack_purge

    a, settings = tenants["a"], app.config["ECOUTE"]
    store = storage.get_storage(settings)
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        job = jobs.enqueue(session, kind=workshops.WORKSHOP_PDF, idempotency_key="pdf-purge-test", payload={})
        session.flush()
        job.status, job.finished_at = jobs.JobStatus.DONE, utcnow()
        key = workshops.pdf_key(a.id, job.id)
    store.write(key, io.BytesIO(b"%PDF-1.7 summary"), content_type="application/pdf")
    purge = {"kind": review_pack_purge.KIND, "tenant_id": a.id, "attempt": 1, "max_attempts": 1,
             "settings": settings}
    with app.app_context():
        review_pack_purge.Handler().run(JobContext(job_id=0, payload={"at": utcnow().isoformat()}, **purge))
        assert store.exists(key)  # made just now: still offered
        later = utcnow() + workshops.PDF_KEEP + timedelta(hours=1)
        review_pack_purge.Handler().run(JobContext(job_id=0, payload={"at": later.isoformat()}, **purge))
    assert not store.exists(key)


def test_the_check_in_address_asks_for_a_login_and_another_companys_code_looks_wrong(
        app: Flask, tenants: dict[str, TenantSet], client: Client, login_as: Any) -> None:
    with app.app_context():
        workshop_id = make_workshop(tenants["a"], clips=1)
        with tenancy.tenant_session(tenants["a"].id) as session:
            code = _workshop(session, workshop_id).checkin_code
    anonymous = client.get(f"/workshops/check-in/{code}")
    assert anonymous.status_code == 302 and f"next=/workshops/check-in/{code}" in anonymous.headers["Location"]
    stranger: Client = login_as("b", Role.STAFF)
    theirs, wrong = stranger.get(f"/workshops/check-in/{code}"), stranger.get("/workshops/check-in/not-a-code")
    assert theirs.status_code == wrong.status_code == 404
    assert theirs.text.replace(code, "CODE") == wrong.text.replace("not-a-code", "CODE")
    assert stranger.get(f"/workshops/{workshop_id}/phone").status_code == 404
    with app.app_context(), tenancy.all_tenants_session() as session:
        assert session.scalar(select(func.count()).select_from(WorkshopAttendance)) == 0
