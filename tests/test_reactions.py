"""Reactions from the room and room check-ins (issue #16, items 3 and 6): the service."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import column, create_engine, insert, select, table, text
from sqlalchemy.exc import IntegrityError

from tests import factories
from tests.conftest import PASSWORD, Client, CountQueries, DatabaseUnderTest, TenantSet
from tests.support.migrations import differences, fresh_database
from webapp import migrate, tenancy
from webapp.config import Settings
from webapp.db import UTCDateTime, utcnow
from webapp.errors import NotFound, UserError
from webapp.models import (
    ActionLink,
    ActionOrigin,
    ActionStatus,
    AuditEvent,
    Call,
    Clip,
    ClipStatus,
    ImprovementAction,
    Kiosk,
    Listen,
    ListenSource,
    Reaction,
    ReactionKind,
    Role,
    Tenant,
    User,
    Workshop,
)
from webapp.services import reactions


def approved_clip(tenant_id: int, *, status: ClipStatus = ClipStatus.APPROVED, title: str = "Un client patient") -> int:
    """A clip row set to ``status`` directly (no rendering: these tests need its row, not its sound)."""
    clip_id = factories.make_clip(tenant_id, factories.make_ready_call(tenant_id), title=title)
    with tenancy.tenant_session(tenant_id) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.status = status
    return clip_id


def person(session: object, ref: factories.UserRef) -> User:
    user = session.get(User, ref.id)  # type: ignore[attr-defined]
    assert user is not None
    return user  # type: ignore[no-any-return]


def test_a_reaction_is_recorded_and_journalled_without_its_comment(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            reaction = reactions.record(session, person(session, a.users[Role.STAFF]), clip_id=clip_id,
                                        kind="touched", comment="  Mon père a vécu la même chose.  ")
            reaction_id = reaction.id
        with tenancy.tenant_session(a.id) as session:
            stored = session.get(Reaction, reaction_id)
            assert stored is not None
            assert (stored.kind, stored.comment, stored.user_id, stored.kiosk_id) == (
                ReactionKind.TOUCHED, "Mon père a vécu la même chose.", a.users[Role.STAFF].id, None)
            events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "reaction.recorded")))
            assert [(e.target, e.actor_id, e.details["kind"], e.details["reaction"]) for e in events] == [
                (f"clip:{clip_id}", a.users[Role.STAFF].id, "touched", reaction_id)]
            assert "père" not in str(events[0].details)


def test_a_repeat_the_same_day_updates_the_comment_instead_of_counting_twice(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            me = person(session, a.users[Role.STAFF])
            first = reactions.record(session, me, clip_id=clip_id, kind=ReactionKind.ACT, comment="Rappeler plus vite")
            again = reactions.record(session, me, clip_id=clip_id, kind=ReactionKind.ACT, comment="Rappeler sous 24 h")
            blank = reactions.record(session, me, clip_id=clip_id, kind=ReactionKind.ACT)  # a double tap, no comment
            other_kind = reactions.record(session, me, clip_id=clip_id, kind=ReactionKind.UNDERSTAND)
            someone_else = reactions.record(session, person(session, a.users[Role.QUALITY_MANAGER]), clip_id=clip_id,
                                            kind=ReactionKind.ACT)
            assert first.id == again.id == blank.id and first.comment == "Rappeler sous 24 h"
            assert len({first.id, other_kind.id, someone_else.id}) == 3
            assert reactions.counts_by_clip(session, [clip_id]) == {clip_id: 3}
            assert len(list(session.scalars(select(AuditEvent).where(AuditEvent.action == "reaction.recorded")))) == 3
            first.created_at -= timedelta(days=1)  # yesterday's reaction: today's is another one
            first.day -= timedelta(days=1)
            session.flush()
            assert reactions.record(session, me, clip_id=clip_id, kind=ReactionKind.ACT).id != first.id
            clip = session.get(Clip, clip_id)
            assert clip is not None
            assert reactions.of_clip(session, clip, with_names=False).counts == {
                ReactionKind.UNDERSTAND: 1, ReactionKind.TOUCHED: 0, ReactionKind.ACT: 3}


def test_a_twin_recorded_at_the_same_moment_updates_the_first_instead_of_counting_twice(
        app: Flask, tenants: dict[str, TenantSet], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests for the same reaction at once: both look, find none, insert. The unique index refuses
    the second insert and the service updates the first reaction instead (no duplicate, no error)."""
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            first_id = reactions.record(session, person(session, a.users[Role.STAFF]), clip_id=clip_id,
                                        kind="touched", comment="Premier").id
        looked = reactions._of_the_day

        def before_the_other_committed(*args: Any) -> Reaction | None:  # the first look only
            monkeypatch.setattr(reactions, "_of_the_day", looked)
            return None

        monkeypatch.setattr(reactions, "_of_the_day", before_the_other_committed)
        with tenancy.tenant_session(a.id) as session:
            twin = reactions.record(session, person(session, a.users[Role.STAFF]), clip_id=clip_id, kind="touched",
                                    comment="Second")
            assert twin.id == first_id and twin.comment == "Second"
            assert reactions.counts_by_clip(session, [clip_id]) == {clip_id: 1}
        with tenancy.tenant_session(a.id) as session:
            assert [(r.id, r.comment) for r in session.scalars(select(Reaction))] == [(first_id, "Second")]
            assert len(list(session.scalars(select(AuditEvent).where(AuditEvent.action == "reaction.recorded")))) == 1


def test_the_database_refuses_a_second_reaction_of_a_kind_the_same_day_in_the_same_place(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    """The unique indexes of migration 0019: once in the room and once in each workshop per person, clip,
    kind and company day; another day, another place, or an erased person's reactions are not twins."""
    a = tenants["a"]
    today = utcnow().date()
    with app.app_context():
        clip_id = approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            one, two = (Workshop(title=f"Atelier {n}", starts_at=utcnow(), checkin_code=f"code-twin-{n}")
                        for n in (1, 2))
            session.add_all([one, two])
            session.flush()
            workshop_ids = (one.id, two.id)
        me = a.users[Role.STAFF].id

        def reaction(**given: Any) -> Reaction:
            return Reaction(**{"clip_id": clip_id, "user_id": me, "kind": ReactionKind.ACT, "day": today, **given})

        with tenancy.tenant_session(a.id) as session:
            session.add_all([reaction(), reaction(day=today - timedelta(days=1)), reaction(kind=ReactionKind.TOUCHED),
                             reaction(workshop_id=workshop_ids[0]), reaction(workshop_id=workshop_ids[1]),
                             reaction(user_id=None), reaction(user_id=None)])
        for twin in (reaction(), reaction(workshop_id=workshop_ids[0])):
            with pytest.raises(IntegrityError), tenancy.tenant_session(a.id) as session:
                session.add(twin)
        with tenancy.tenant_session(a.id) as session:
            assert reactions.counts_by_clip(session, [clip_id]) == {clip_id: 7}


def test_only_an_approved_clip_of_the_persons_company_can_be_reacted_to(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a, b = tenants["a"], tenants["b"]
    with app.app_context():
        approved, draft = approved_clip(a.id), approved_clip(a.id, status=ClipStatus.DRAFT)
        retired = approved_clip(a.id, status=ClipStatus.RETIRED)
        with tenancy.tenant_session(a.id) as session:
            assert reactions.record(session, person(session, a.users[Role.STAFF]), clip_id=approved,
                                    kind="understand").clip_id == approved
            for clip_id in (draft, retired, 999_999):
                with pytest.raises(NotFound):
                    reactions.record(session, person(session, a.users[Role.STAFF]), clip_id=clip_id, kind="understand")
        with tenancy.tenant_session(b.id) as session:  # B's person, B's session: A's clip does not exist
            with pytest.raises(NotFound):
                reactions.record(session, person(session, b.users[Role.STAFF]), clip_id=approved, kind="understand")
            assert session.scalars(select(Reaction)).all() == []


def test_a_bad_kind_or_a_long_comment_is_refused(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            me = person(session, a.users[Role.STAFF])
            with pytest.raises(UserError):
                reactions.record(session, me, clip_id=clip_id, kind="angry")
            with pytest.raises(UserError):
                reactions.record(session, me, clip_id=clip_id, kind="act", comment="x" * (reactions.COMMENT_MAX + 1))
            assert reactions.record(session, me, clip_id=clip_id, kind="act",
                                    comment="x" * reactions.COMMENT_MAX).comment == "x" * reactions.COMMENT_MAX


def test_the_screen_is_kept_when_it_is_the_companys_and_a_workshop_counts_apart(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a, b = tenants["a"], tenants["b"]
    with app.app_context():
        clip_id = approved_clip(a.id)
        ours, theirs = factories.make_kiosk(a.id), factories.make_kiosk(b.id)
        with tenancy.tenant_session(a.id) as session:
            workshop = Workshop(title="Atelier", starts_at=utcnow(), checkin_code="code-r-1")
            session.add(workshop)
            session.flush()
            me = person(session, a.users[Role.STAFF])
            assert reactions.record(session, me, clip_id=clip_id, kind="act", kiosk_id=theirs.id).kiosk_id is None
            room = reactions.record(session, me, clip_id=clip_id, kind="act", kiosk_id=ours.id)
            assert room.kiosk_id == ours.id  # the repeat tells where it was given
            in_workshop = reactions.record(session, me, clip_id=clip_id, kind="act", workshop_id=workshop.id)
            assert in_workshop.id != room.id and in_workshop.workshop_id == workshop.id
            with pytest.raises(NotFound):
                reactions.record(session, me, clip_id=clip_id, kind="act", workshop_id=workshop.id + 1000)


def test_the_clip_page_figures_name_people_only_when_asked(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id, other = approved_clip(a.id), approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            staff, qm = person(session, a.users[Role.STAFF]), person(session, a.users[Role.QUALITY_MANAGER])
            old = reactions.record(session, staff, clip_id=clip_id, kind="touched", comment="Émouvant")
            old.created_at -= timedelta(hours=2)
            reactions.record(session, qm, clip_id=clip_id, kind="act", comment="Former l'équipe")
            reactions.record(session, qm, clip_id=clip_id, kind="understand")
            session.flush()
            clip = session.get(Clip, clip_id)
            assert clip is not None
            anonymous = reactions.of_clip(session, clip, with_names=False)
            assert anonymous.total == 3
            assert [(kind, text, who) for _at, kind, text, who in anonymous.comments] == [
                (ReactionKind.ACT, "Former l'équipe", None), (ReactionKind.TOUCHED, "Émouvant", None)]
            named = reactions.of_clip(session, clip, with_names=True)
            assert [who for *_rest, who in named.comments] == [qm.name, staff.name]
            assert reactions.counts_by_clip(session, [clip_id, other]) == {clip_id: 3}
            assert reactions.counts_by_clip(session, []) == {}


def test_a_check_in_opens_one_visit_and_the_check_out_credits_at_most_the_time_there(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        screen, elsewhere = factories.make_kiosk(a.id), factories.make_kiosk(a.id)
        with tenancy.tenant_session(a.id) as session:
            me = person(session, a.users[Role.STAFF])
            kiosk = session.get(Kiosk, screen.id)
            assert kiosk is not None
            visit = reactions.check_in(session, me, kiosk)
            assert reactions.check_in(session, me, kiosk).id == visit.id  # a double scan
            other_screen = session.get(Kiosk, elsewhere.id)
            assert other_screen is not None
            assert reactions.check_in(session, me, other_screen).id == visit.id
            visit.at -= timedelta(minutes=12)
            session.flush()
            assert reactions.check_out(session, me, 45) == pytest.approx(12 * 60, abs=5)  # not more than the time there
            with pytest.raises(UserError):
                reactions.check_out(session, me, 10)
            second = reactions.check_in(session, me, kiosk)
            assert second.id != visit.id
            second.at -= timedelta(hours=3)  # forgot to check out, says so later: 60 minutes at most
            session.flush()
            assert reactions.check_out(session, me, 500) == 3600
            third = reactions.check_in(session, me, kiosk)
            third_id = third.id
            assert reactions.check_out(session, me, 0) == 0
            rows = session.execute(select(Listen.source, Listen.kiosk_id, Listen.seconds).order_by(Listen.id)).all()
            assert [tuple(r) for r in rows] == [(ListenSource.ROOM, screen.id, pytest.approx(720, abs=5)),
                                                (ListenSource.ROOM, screen.id, 3600)]
            assert session.get(Listen, third_id) is None  # nothing heard, nothing kept
            actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                       if e.action.startswith("room.")]
            assert actions == ["room.checked_in", "room.checked_out"] * 3


def test_a_visit_left_open_too_long_cannot_be_closed(app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        screen = factories.make_kiosk(a.id)
        with tenancy.tenant_session(a.id) as session:
            me, kiosk = person(session, a.users[Role.STAFF]), session.get(Kiosk, screen.id)
            assert kiosk is not None
            visit = reactions.check_in(session, me, kiosk)
            visit.at -= reactions.VISIT_OPEN_FOR + timedelta(minutes=1)
            session.flush()
            assert reactions.open_visit(session, me) is None
            with pytest.raises(UserError):
                reactions.check_out(session, me, 20)
            assert reactions.check_in(session, me, kiosk).id != visit.id


def test_il_faut_agir_proposes_one_action_linked_to_the_clip_and_the_reaction(
        app: Flask, tenants: dict[str, TenantSet]) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id, title="Attente au téléphone")
        with tenancy.tenant_session(a.id) as session:
            me = person(session, a.users[Role.STAFF])
            touched = reactions.record(session, me, clip_id=clip_id, kind="touched")
            assert reactions.act_on(session, me, touched) is None
            act = reactions.record(session, me, clip_id=clip_id, kind="act", comment="Rappeler sous 24 h")
            action = reactions.act_on(session, me, act)
            assert action is not None
            again = reactions.act_on(session, me, reactions.record(session, me, clip_id=clip_id, kind="act"))
            assert again is not None and again.id == action.id  # a double tap proposes nothing more
            assert (action.status, action.origin, action.problem, action.created_by_id) == (
                ActionStatus.PROPOSED, ActionOrigin.REACTION, "Rappeler sous 24 h", me.id)
            assert "Attente au téléphone" in action.title
            links = session.execute(select(ActionLink.clip_id, ActionLink.reaction_id)
                                    .where(ActionLink.action_id == action.id)).all()
            assert {(c, r) for c, r in links} == {(clip_id, None), (None, act.id)}
            assert reactions.action_of(session, act) == action


# --- the phone pages ------------------------------------------------------------------------


def test_the_reaction_page_logs_in_then_records_il_faut_agir_with_its_action(
        app: Flask, tenants: dict[str, TenantSet], client: Client) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id, title="Attente au téléphone")
        screen = factories.make_kiosk(a.id, name="Salle client Lyon")
    url = f"/react/{clip_id}?screen={screen.id}"
    to_login = client.get(url)
    assert to_login.status_code == 302 and to_login.headers["Location"].startswith("/login?next=")
    back = client.post(to_login.headers["Location"], {"email": a.users[Role.STAFF].email, "password": PASSWORD})
    assert back.status_code == 303 and back.headers["Location"] == url
    page = client.get(url)
    assert page.status_code == 200
    assert "Attente au téléphone" in page.text and "Salle client Lyon" in page.text
    assert 'class="react-kind react-act">Il faut agir</button>' in page.text  # the button, in French
    assert "/audio" not in page.text and "<audio" not in page.text  # never the call's (nor the clip's) audio
    sent = client.post(f"/react/{clip_id}", {"kind": "act", "comment": "Rappeler sous 24 h", "screen": str(screen.id)})
    assert sent.status_code == 303 and sent.headers["Location"] == f"/react/{clip_id}/thanks?screen={screen.id}"
    thanks = client.get(sent.headers["Location"])
    assert thanks.status_code == 200 and "Rappeler sous 24 h" in thanks.text and 'id="react-action"' in thanks.text
    assert client.post(f"/react/{clip_id}", {"kind": "act", "screen": str(screen.id)}).status_code == 303
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        rows = session.execute(select(Reaction.kind, Reaction.comment, Reaction.kiosk_id, Reaction.user_id)).all()
        assert [tuple(r) for r in rows] == [(ReactionKind.ACT, "Rappeler sous 24 h", screen.id,
                                             a.users[Role.STAFF].id)]
        actions = session.execute(select(ActionLink.action_id, ActionLink.reaction_id)
                                  .where(ActionLink.reaction_id.is_not(None))).all()
        assert len(actions) == 1


def test_the_reaction_page_refuses_what_cannot_be_reacted_to(app: Flask, tenants: dict[str, TenantSet],
                                                             login_as: Any) -> None:
    a, b = tenants["a"], tenants["b"]
    with app.app_context():
        ours, retired = approved_clip(a.id), approved_clip(a.id, status=ClipStatus.RETIRED)
        theirs = approved_clip(b.id)
        their_screen = factories.make_kiosk(b.id, name="Écran de B")
    staff = login_as("a", Role.STAFF)
    missing = staff.get("/react/987654")
    said = re.search(r'<p class="form-error" role="alert">([^<]*)</p>', missing.text)
    assert missing.status_code == 404 and said is not None and "plus, diffusé" in said.group(1)
    for clip_id in (retired, theirs):  # retired, or another company's: the same page as a missing clip
        refused = staff.get(f"/react/{clip_id}")
        assert refused.status_code == 404 and said.group(0) in refused.text
        assert staff.post(f"/react/{clip_id}", {"kind": "understand"}).status_code == 404
    page = staff.get(f"/react/{ours}?screen={their_screen.id}")
    assert page.status_code == 200 and "Écran de B" not in page.text  # another company's screen: ignored
    assert staff.post(f"/react/{ours}", {"kind": "angry"}).status_code == 422
    assert staff.get(f"/react/{ours}/thanks").status_code == 303  # nothing to confirm yet
    assert login_as("platform", Role.PLATFORM_ADMIN).get(f"/react/{ours}").status_code == 403
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        assert session.scalars(select(Reaction)).all() == []


def test_the_check_in_page_opens_one_visit_and_closes_it_with_the_minutes_said(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a, b = tenants["a"], tenants["b"]
    with app.app_context():
        screen, theirs = factories.make_kiosk(a.id, name="Salle client Lyon"), factories.make_kiosk(b.id)
    staff = login_as("a", Role.STAFF)
    nowhere = staff.get(f"/room/check-in?screen={theirs.id}")
    assert nowhere.status_code == 200 and 'id="check-in-no-screen"' in nowhere.text
    assert staff.post("/room/check-in", {"screen": str(theirs.id)}).status_code == 404
    page = staff.get(f"/room/check-in?screen={screen.id}")
    assert page.status_code == 200 and "Salle client Lyon" in page.text and 'id="check-in"' in page.text
    for _scan in range(2):  # a double scan, a second tap
        done = staff.post("/room/check-in", {"screen": str(screen.id)})
        assert done.status_code == 303 and done.headers["Location"] == f"/room/check-in?screen={screen.id}"
    assert 'id="visit-open"' in staff.get(f"/room/check-in?screen={screen.id}").text
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        visits = session.scalars(select(Listen)).all()
        assert len(visits) == 1
        visits[0].at -= timedelta(minutes=25)
    assert staff.post("/room/check-out", {"minutes": "beaucoup", "screen": str(screen.id)}).status_code == 422
    out = staff.post("/room/check-out", {"minutes": "20", "screen": str(screen.id)})
    assert out.status_code == 303
    assert "20 minutes" in staff.get(out.headers["Location"]).text
    assert staff.post("/room/check-out", {"minutes": "20"}).status_code == 422  # no visit open any more
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        rows = session.execute(select(Listen.source, Listen.kiosk_id, Listen.seconds, Listen.user_id)).all()
        assert [tuple(r) for r in rows] == [(ListenSource.ROOM, screen.id, 1200.0, a.users[Role.STAFF].id)]


def test_the_clip_page_counts_reactions_and_shows_comments_newest_first(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any) -> None:
    a = tenants["a"]
    with app.app_context():
        clip_id = approved_clip(a.id)
        with tenancy.tenant_session(a.id) as session:
            staff = person(session, a.users[Role.STAFF])
            old = reactions.record(session, staff, clip_id=clip_id, kind="touched", comment="Émouvant")
            old.created_at -= timedelta(days=3)
            reactions.record(session, staff, clip_id=clip_id, kind="act", comment="Former l'équipe")
            reactions.record(session, person(session, a.users[Role.QUALITY_MANAGER]), clip_id=clip_id, kind="act")
    page = login_as("a", Role.QUALITY_MANAGER).get(f"/clips/{clip_id}")
    assert page.status_code == 200
    counts = page.text[page.text.index('id="reaction-counts"'):page.text.index('id="reaction-comments"')]
    assert '<strong>2</strong> Il faut agir' in counts and '<strong>1</strong> Ça me touche' in counts
    assert '<strong>0</strong> Je comprends' in counts
    comments = page.text[page.text.index('id="reaction-comments"'):]
    assert comments.index("Former l&#39;équipe") < comments.index("Émouvant")
    assert staff.name in comments


def test_the_clip_list_shows_each_clips_reactions_in_the_same_queries_whatever_their_number(
        app: Flask, tenants: dict[str, TenantSet], login_as: Any, count_queries: CountQueries) -> None:
    a = tenants["a"]
    with app.app_context():
        quiet, loud = approved_clip(a.id, title="Sans réaction"), approved_clip(a.id, title="Très commenté")
    qm = login_as("a", Role.QUALITY_MANAGER)
    qm.get("/clips")  # warms what a process reads once
    with count_queries() as before:
        assert qm.get("/clips").status_code == 200
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        for ref in (a.users[Role.STAFF], a.users[Role.QUALITY_MANAGER]):
            for kind in ReactionKind:
                reactions.record(session, person(session, ref), clip_id=loud, kind=kind)
    with count_queries() as after:
        page = qm.get("/clips")
    assert len(after) == len(before)
    cells = dict(re.findall(r'<tr id="clip-(\d+)".*?<td class="n">(\d+)</td>', page.text, re.S))
    assert cells == {str(quiet): "0", str(loud): "6"}


def test_migration_0019_dates_the_reactions_in_the_companys_zone_and_merges_the_twins(
        database: DatabaseUnderTest, tmp_path: Path) -> None:
    """Reactions stored before 0019 get their company day (Tokyo's, and Paris's for a company naming no
    valid zone); the twins are merged into the first, with the latest comment, the first screen and
    the improvement-action links of all; then the unique indexes hold and row-level security is back."""
    owner_url, admin_url = fresh_database(database.engine_name, database.owner_url, tmp_path, "ecoute_reactions_0019")
    settings = Settings(data_dir=tmp_path, database_url=owner_url, database_owner_url=owner_url, secret_key="x")
    migrate.upgrade(settings, "0018")
    old_reactions = table("reactions", column("id"), column("tenant_id"), column("clip_id"), column("user_id"),
                          column("kind"), column("comment"), column("kiosk_id"), column("workshop_id"),
                          column("created_at", UTCDateTime()))
    # the workshops table as it was at 0018 (the model has grown since: run_kept, migration 0020)
    old_workshops = table("workshops", column("id"), column("tenant_id"), column("title"),
                          column("starts_at", UTCDateTime()), column("checkin_code"), column("pause_seconds"),
                          column("status"), column("created_at", UTCDateTime()), column("position"))
    engine = create_engine(admin_url)
    late = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 01:30 on the 11th in Tokyo, 17:30 on the 10th in Paris
    with engine.begin() as conn:
        conn.execute(insert(Tenant), [
            {"id": 1, "slug": "tokyo", "name": "Tokyo", "timezone": "Asia/Tokyo"},
            {"id": 2, "slug": "nowhere", "name": "Nowhere", "timezone": "Mars/Base"}])
        conn.execute(insert(User), [{"id": t, "tenant_id": t, "email": f"p{t}@example.test", "name": "P",
                                               "role": "staff", "status": "active"} for t in (1, 2)])
        conn.execute(insert(Call), [{"id": t, "tenant_id": t, "received_at": late, "channel": "phone",
                                               "original_filename": "c.wav", "storage_key": f"k{t}",
                                               "content_type": "audio/wav", "size_bytes": 1, "sha256": "ab",
                                               "duration_seconds": 3.0}
                                              for t in (1, 2)])
        conn.execute(insert(Clip), [{"id": t, "tenant_id": t, "call_id": t, "start_s": 0, "end_s": 2,
                                               "title": "Clip", "status": "approved", "sentiment": "unhappy"}
                                              for t in (1, 2)])
        conn.execute(insert(old_workshops).values(id=1, tenant_id=1, title="Atelier", starts_at=late,
                                                  checkin_code="c-0019", pause_seconds=15, status="planned",
                                                  created_at=late, position=0))
        room = {"tenant_id": 1, "clip_id": 1, "user_id": 1, "kind": "act", "kiosk_id": None, "workshop_id": None}
        conn.execute(insert(old_reactions), [
            {**room, "id": 1, "comment": "", "created_at": late},
            {**room, "id": 2, "comment": "Rappeler", "kiosk_id": 7, "created_at": late + timedelta(minutes=1)},
            {**room, "id": 3, "comment": "Rappeler sous 24 h", "kiosk_id": 8, "created_at": late + timedelta(hours=2)},
            {**room, "id": 4, "comment": "", "created_at": late + timedelta(hours=3)},  # a double tap, no comment
            {**room, "id": 5, "comment": "Autre jour", "created_at": late - timedelta(hours=8)},  # the 10th in Tokyo
            {**room, "id": 6, "comment": "", "workshop_id": 1, "created_at": late},  # a workshop's: apart
            {**room, "id": 7, "comment": "", "kind": "touched", "created_at": late},
            {**room, "id": 8, "comment": "", "user_id": None, "created_at": late},  # erased people: never twins
            {**room, "id": 9, "comment": "", "user_id": None, "created_at": late},
            {**room, "id": 10, "comment": "", "tenant_id": 2, "clip_id": 2, "user_id": 2, "created_at": late},
            {**room, "id": 11, "comment": "Bis", "tenant_id": 2, "clip_id": 2, "user_id": 2,
             "created_at": late + timedelta(minutes=5)},
        ])
        conn.execute(insert(ImprovementAction), [{"id": n, "tenant_id": 1, "title": f"Action {n}",
                                                            "origin": "reaction"} for n in (1, 2)])
        conn.execute(insert(ActionLink), [{"tenant_id": 1, "action_id": 1, "reaction_id": 1},
                                                    {"tenant_id": 1, "action_id": 2, "reaction_id": 3}])
    migrate.upgrade(settings)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, day, comment, kiosk_id FROM reactions ORDER BY id")).all()
        assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
            (1, "2026-03-11", "Rappeler sous 24 h", 7), (5, "2026-03-10", "Autre jour", None),
            (6, "2026-03-11", "", None), (7, "2026-03-11", "", None), (8, "2026-03-11", "", None),
            (9, "2026-03-11", "", None), (10, "2026-03-10", "Bis", None)]
        assert conn.execute(text("SELECT action_id, reaction_id FROM action_links ORDER BY action_id")).all() == [
            (1, 1), (2, 1)]
        with pytest.raises(IntegrityError), conn.begin_nested():  # the index holds
            conn.execute(text("INSERT INTO reactions (tenant_id, clip_id, user_id, kind, comment, created_at, day) "
                              "VALUES (1, 1, 1, 'act', '', :at, :day)"), {"at": late, "day": date(2026, 3, 11)})
        if database.engine_name == "postgresql":  # the backfill left row-level security as it was
            forced = conn.execute(text("SELECT relname FROM pg_class WHERE relforcerowsecurity AND relname IN "
                                       "('reactions', 'action_links') ORDER BY relname")).scalars().all()
            assert forced == ["action_links", "reactions"]
    engine.dispose()


def test_the_reactions_table_matches_its_migration(database: DatabaseUnderTest) -> None:
    """The migrated database and the model agree on reactions (the day column, the unique indexes)."""
    assert differences(database.owner_url, "reactions") == []
