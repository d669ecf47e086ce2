"""The register's reminders (webapp/services/reminders.py) with the clock moved: owners two working days
before each deadline, admins a daily list of overdue entries, each mail once, in the reader's language."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import TenantSet
from tests.support.smtpsink import SmtpSink, body_text
from webapp import jobs, tenancy
from webapp.models import Channel, RegisterEntry, Role, Tenant
from webapp.services import register, reminders
from webapp.services.complaint_clocks import ACPR, OUVRES, ClockRules, DayKind, add_days
from worker.handlers import Handler, register_reminders, send_mail
from worker.loop import Worker


def _paris(day: date, hour: int = 9) -> datetime:
    """``hour`` o'clock in France on ``day`` (winter: UTC+1)."""
    return datetime(day.year, day.month, day.day, hour - 1, tzinfo=UTC)


def _entry(tenant_id: int, received: date, *, owner: int | None, subject: str = "Carte bloquée",
           remedy: str = "") -> int:
    with tenancy.tenant_session(tenant_id) as session:
        entry = register.create_entry(session, actor=register.Actor.machine(), received_on=received,
                                      channel=Channel.EMAIL, subject=subject, remedy=remedy, owner_id=owner)
        return entry.id


def _load(tenant_id: int, entry_id: int) -> RegisterEntry:
    with tenancy.tenant_session(tenant_id) as session:
        entry = session.get(RegisterEntry, entry_id)
        assert entry is not None
        session.expunge(entry)
        return entry


def _run_day(app: Flask, smtp: SmtpSink, now: datetime) -> list[EmailMessage]:
    """Move the clock to ``now``: the schedule queues the day's job, the worker runs it and sends the mails;
    the mails that arrived."""
    smtp.clear()
    with app.app_context():
        reminders.schedule_reminders(now)
        handlers: dict[str, Handler] = {register_reminders.KIND: register_reminders.Handler(),
                                        send_mail.KIND: send_mail.Handler()}
        Worker(app, handlers, once=True).run()
    return smtp.messages


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"] == address]


def _subject(msg: EmailMessage) -> str:
    """The subject as people read it (a long one comes back folded)."""
    return re.sub(r"[ \t\r\n]+", " ", str(msg["Subject"])).strip()


@pytest.mark.parametrize(("deadline", "rules", "expected"), [
    (date(2026, 12, 14), ACPR, date(2026, 12, 11)),  # Monday: Saturday and Friday count (jours ouvrables)
    (date(2026, 12, 14), OUVRES, date(2026, 12, 10)),  # Monday: Friday and Thursday (jours ouvrés)
    (date(2026, 11, 12), OUVRES, date(2026, 11, 9)),  # 11 November does not count
    (date(2027, 1, 4), ACPR, date(2026, 12, 31)),  # over New Year's Day and a Sunday
    (date(2026, 12, 14), ClockRules(days=DayKind.CALENDAR), date(2026, 12, 12)),
])
def test_an_owner_is_reminded_two_of_the_companys_working_days_before(
        deadline: date, rules: ClockRules, expected: date) -> None:
    assert reminders.remind_on(deadline, rules) == expected


@pytest.mark.parametrize("rules", [ACPR, OUVRES])
def test_the_query_bound_matches_the_reminder_day(rules: ClockRules) -> None:
    """due_reminders looks for deadlines up to the second working day ahead: the same as remind_on <= day."""
    start = date(2026, 12, 1)
    for offset in range(60):
        day = start + timedelta(days=offset)
        until = add_days(day, reminders.REMIND_DAYS, rules.days, rules.calendar)
        for ahead in range(10):
            deadline = day + timedelta(days=ahead)
            assert (reminders.remind_on(deadline, rules) <= day) == (deadline <= until), (day, deadline)


def test_owners_are_reminded_once_per_deadline_with_the_clock_moved(
        app: Flask, tenants: dict[str, TenantSet], smtp: SmtpSink) -> None:
    a = tenants["a"]
    owner = a.users[Role.QUALITY_MANAGER]
    with app.app_context():
        entry_id = _entry(a.id, date(2026, 11, 30), owner=owner.id)  # Monday 30 November
        entry = _load(a.id, entry_id)
    assert entry.acknowledge_by == date(2026, 12, 11)  # 10 jours ouvrables: Friday 11 December
    remind = reminders.remind_on(entry.acknowledge_by, ACPR)
    assert remind == date(2026, 12, 9)

    assert _to(_run_day(app, smtp, _paris(remind - timedelta(days=1))), owner.email) == []
    (mail,) = _to(_run_day(app, smtp, _paris(remind)), owner.email)
    assert _subject(mail) == (f"Réclamation {entry.reference}\u00a0: accuser réception d'ici le "
                              "vendredi 11 décembre 2026")
    text = body_text(mail)
    assert "vendredi 11 décembre 2026" in text and "Carte bloquée" in text and f"/register/{entry_id}" in text
    assert "2 jours restants" in text
    # The same day again (a second worker, a retry) and the next day: not again.
    assert _to(_run_day(app, smtp, _paris(remind, 15)), owner.email) == []
    with app.app_context():
        reminders.schedule_reminders(_paris(remind, 15))
        with tenancy.tenant_session(a.id) as session:
            assert reminders.send_reminders(session, remind) == reminders.Sent(owners=0, admins=0)
    assert _to(_run_day(app, smtp, _paris(remind + timedelta(days=1))), owner.email) == []

    # Acknowledged: no more about that deadline; the answer's reminder comes two working days before it.
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        stored = session.get(RegisterEntry, entry_id)
        assert stored is not None
        register.transition(session, stored, "acknowledged", register.Actor.machine())
    assert entry.answer_by == date(2027, 1, 30)  # 2 calendar months from 30 November... a Saturday
    answer_remind = reminders.remind_on(entry.answer_by, ACPR)
    assert answer_remind == date(2027, 1, 28)
    assert _to(_run_day(app, smtp, _paris(answer_remind - timedelta(days=1))), owner.email) == []
    (mail,) = _to(_run_day(app, smtp, _paris(answer_remind)), owner.email)
    assert _subject(mail) == f"Réclamation {entry.reference}\u00a0: répondre d'ici le samedi 30 janvier 2027"


def test_a_late_entry_is_reminded_up_to_its_deadline_and_answered_ones_never(
        app: Flask, tenants: dict[str, TenantSet], smtp: SmtpSink) -> None:
    b = tenants["b"]  # English
    owner = b.users[Role.QUALITY_MANAGER]
    with app.app_context():
        entry_id = _entry(b.id, date(2026, 11, 30), owner=owner.id, subject="Late parcel")
        reference = _load(b.id, entry_id).reference
        answered = _entry(b.id, date(2026, 11, 30), owner=owner.id, subject="Answered already")
        with tenancy.tenant_session(b.id) as session:
            stored = session.get(RegisterEntry, answered)
            assert stored is not None
            register.answer(session, stored, "We refund you.", "upheld", register.Actor.machine())
    # The worker was down on the reminder day: the next run, on the deadline itself, still reminds.
    messages = _to(_run_day(app, smtp, _paris(date(2026, 12, 11))), owner.email)
    assert [_subject(m) for m in messages] == [
        f"Complaint {reference}: to acknowledge by Friday, December 11, 2026"]
    assert "It is due today." in body_text(messages[0])
    assert _to(_run_day(app, smtp, _paris(date(2026, 12, 12))), owner.email) == []  # overdue: the admins' list


def test_nothing_is_queued_before_seven_in_france(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        assert reminders.schedule_reminders(_paris(date(2026, 12, 9), 6)) == 0
        assert reminders.schedule_reminders(_paris(date(2026, 12, 9), 7)) == 2  # A and B
        assert reminders.schedule_reminders(_paris(date(2026, 12, 9), 8)) == 0
        with tenancy.tenant_session(tenants["a"].id) as session:
            keys = session.scalars(select(jobs.Job.idempotency_key)
                                   .where(jobs.Job.kind == reminders.SEND_REMINDERS)).all()
    assert keys == ["reminders:2026-12-09"]


def test_admins_get_one_overdue_list_a_day_without_the_customers_words(
        app: Flask, tenants: dict[str, TenantSet], smtp: SmtpSink) -> None:
    a, b = tenants["a"], tenants["b"]
    owner = a.users[Role.QUALITY_MANAGER]
    with app.app_context():
        late = _entry(a.id, date(2026, 11, 2), owner=owner.id, subject="Prélèvement en double",
                      remedy="Je veux être remboursé de 42 euros")  # acknowledge by 14 November
        later = _entry(a.id, date(2026, 11, 20), owner=None, subject="Agence fermée")
        _entry(a.id, date(2026, 12, 8), owner=owner.id, subject="Pas encore en retard")
        with tenancy.tenant_session(a.id) as session:
            tenant = session.get(Tenant, a.id)
            assert tenant is not None
            tenant.default_locale = "fr"
    day = date(2026, 12, 9)
    messages = _run_day(app, smtp, _paris(day))
    (mail,) = _to(messages, a.users[Role.TENANT_ADMIN].email)
    assert _subject(mail) == "2 réclamations en retard chez Entreprise A"
    text = body_text(mail)
    with app.app_context():
        first, second = _load(a.id, late), _load(a.id, later)
    assert text.index(first.reference) < text.index(second.reference)  # the longest overdue first
    assert "Prélèvement en double" in text and "Agence fermée" in text and "Pas encore en retard" not in text
    assert f"{(day - first.acknowledge_by).days} jours de retard" in text
    assert "responsable\u00a0: Quality_Manager" in text and "sans responsable" in text
    assert "42 euros" not in text and "remboursé" not in text
    assert _to(messages, b.users[Role.TENANT_ADMIN].email) == []  # B has nothing overdue
    assert _to(messages, a.users[Role.QUALITY_MANAGER].email) == []  # only admins get the list

    assert _to(_run_day(app, smtp, _paris(day, 16)), a.users[Role.TENANT_ADMIN].email) == []  # once a day
    assert len(_to(_run_day(app, smtp, _paris(day + timedelta(days=1))), a.users[Role.TENANT_ADMIN].email)) == 1


def test_overdue_improvement_actions_join_the_admins_daily_list(
        app: Flask, tenants: dict[str, TenantSet], smtp: SmtpSink) -> None:
    """Issue #16: an action past its due date and not done is listed, with the clock moved; done ones are not."""
    from webapp.models import ActionStatus, User
    from webapp.services import actions

    a = tenants["a"]
    with app.app_context(), tenancy.tenant_session(a.id) as session:
        manager = session.get(User, a.users[Role.QUALITY_MANAGER].id)
        assert manager is not None
        staff_id = a.users[Role.STAFF].id
        actions.propose(session, manager, title="Rappeler sous 48 heures", origin="manual", owner_id=staff_id,
                        due_on=date(2026, 12, 1))
        actions.propose(session, manager, title="Pas encore due", origin="manual", due_on=date(2026, 12, 20))
        done = actions.propose(session, manager, title="Déjà faite", origin="manual", due_on=date(2026, 11, 1))
        done.status = ActionStatus.DONE
    day = date(2026, 12, 9)
    (mail,) = _to(_run_day(app, smtp, _paris(day)), a.users[Role.TENANT_ADMIN].email)
    assert _subject(mail) == "1 action d’amélioration en retard chez Entreprise A"
    text = body_text(mail)
    assert "Rappeler sous 48 heures" in text and "8 jours de retard" in text and "/actions?due=overdue" in text
    assert "Pas encore due" not in text and "Déjà faite" not in text
    assert _to(_run_day(app, smtp, _paris(date(2026, 11, 30))), a.users[Role.TENANT_ADMIN].email) == []


def test_the_reminders_schedule_is_registered(app: Flask) -> None:
    from webapp.services import periodic

    (schedule,) = [s for s in periodic.SCHEDULES if s.name == "reminders"]
    assert schedule.kinds == {reminders.SEND_REMINDERS} and schedule.queue is reminders.schedule_reminders
