"""The complaint register's reminders (issue #15, item 2): queue jobs, never mail sent from a request.

Once a day per company (a periodic schedule, webapp/services/periodic.py, from 07:00 in France), a
``register_reminders`` job (worker/handlers/register_reminders.py) runs :func:`send_reminders`:

- each entry's owner gets a mail two working days before each deadline still running: the
  acknowledgement (``acknowledge_by``, until acknowledged or answered) and the answer (``answer_by``,
  until answered). Working days are the company's own (its clock rules: jours ouvrables, ouvrés or
  calendar days, with its holidays), counted back from the deadline as webapp/services/complaint_clocks.py
  counts forward; an entry that reaches that point late (made the day before its deadline, a worker down)
  is reminded on the next run, up to the deadline itself;
- the company's admins get one mail listing the overdue entries: reference, subject, owner, which
  deadline and how many days late. Never the customer's words beyond the subject. The same mail lists
  the improvement actions past their due date and not done (issue #16): title, owner, days late.

Each mail is queued at most once: per entry, deadline and date for an owner, per company and day for
an admin (the mail job's key, :func:`webapp.mail.queue_mail`'s ``once``), however often the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from babel.dates import format_date
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from webapp import jobs, mail
from webapp.mail import PlainValue
from webapp.models import EntryStatus, RegisterEntry, Role, Tenant, User, UserStatus
from webapp.services import actions, register, windows
from webapp.services.complaint_clocks import ClockRules, add_days, counts

SEND_REMINDERS = "register_reminders"
#: Working days (the company's kind) between the reminder and the deadline.
REMIND_DAYS = 2
#: Not before this hour in France: a reminder is read at the start of a working day, not at night.
SEND_FROM = time(7, 0)
OWNER_TEMPLATE = "register_reminder"
ADMIN_TEMPLATE = "register_overdue"

Deadline = Literal["acknowledge", "answer"]
_CLOSED = (EntryStatus.ANSWERED, EntryStatus.CLOSED)


def remind_on(deadline: date, rules: ClockRules) -> date:
    """The day an owner is reminded of ``deadline``: :data:`REMIND_DAYS` of the company's working days before
    (the days ``rules`` count; the deadline itself not counted), as ``add_days`` counts forward."""
    day, left = deadline, REMIND_DAYS
    while left > 0:
        day -= timedelta(days=1)
        if counts(day, rules.days, rules.calendar):
            left -= 1
    return day


def schedule_reminders(now: datetime) -> int:
    """Queue today's ``register_reminders`` for each company that has none yet (from 07:00 in France)."""
    local = now.astimezone(register.PARIS)
    if local.time() < SEND_FROM:
        return 0
    day = windows.day_window(local)
    return sum(jobs.enqueue_once(tenant_id, kind=SEND_REMINDERS, idempotency_key=f"reminders:{day}",
                                 payload={"day": day}) for tenant_id in windows.company_ids())


@dataclass(frozen=True)
class Reminder:
    entry: RegisterEntry
    deadline: Deadline
    due: date


@dataclass(frozen=True)
class Sent:
    """How many mails :func:`send_reminders` queued (0 for those queued by an earlier run)."""

    owners: int
    admins: int


def due_reminders(session: Session, tenant: Tenant, day: date) -> list[Reminder]:
    """The reminders owners are due on ``day``: a deadline still running, at most two working days ahead."""
    rules = register.rules_of(tenant)
    # remind_on(deadline) <= day  <=>  deadline <= the second working day after ``day``.
    until = add_days(day, REMIND_DAYS, rules.days, rules.calendar)
    acknowledging = and_(RegisterEntry.acknowledged_at.is_(None), RegisterEntry.acknowledge_by.between(day, until))
    entries = session.scalars(
        select(RegisterEntry)
        .where(RegisterEntry.owner_id.is_not(None), RegisterEntry.answered_at.is_(None),
               RegisterEntry.status.not_in(_CLOSED),
               or_(acknowledging, RegisterEntry.answer_by.between(day, until)))
        .order_by(RegisterEntry.id))
    due: list[Reminder] = []
    for entry in entries:
        if entry.acknowledged_at is None and day <= entry.acknowledge_by <= until:
            due.append(Reminder(entry, "acknowledge", entry.acknowledge_by))
        if day <= entry.answer_by <= until:
            due.append(Reminder(entry, "answer", entry.answer_by))
    return due


@dataclass(frozen=True)
class Overdue:
    entry: RegisterEntry
    deadline: Deadline
    due: date
    days_late: int


def overdue_entries(session: Session, day: date) -> list[Overdue]:
    """The entries overdue on ``day``, the longest overdue first; each with its earliest missed deadline."""
    entries = session.scalars(select(RegisterEntry).where(register.overdue_condition(day))
                              .order_by(RegisterEntry.id))
    late: list[Overdue] = []
    for entry in entries:
        state = register.clocks(entry, day)
        deadline: Deadline = "acknowledge" if state.acknowledge_overdue else "answer"
        due = entry.acknowledge_by if deadline == "acknowledge" else entry.answer_by
        late.append(Overdue(entry, deadline, due, (day - due).days))
    return sorted(late, key=lambda o: (-o.days_late, o.entry.reference))


def _people(session: Session, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def _locale(user: User, tenant: Tenant) -> str:
    return user.locale or tenant.default_locale


def send_reminders(session: Session, day: date) -> Sent:
    """Queue the owners' reminders and the admins' overdue list of ``day`` (the Session's company)."""
    tenant = session.get(Tenant, session.info["tenant_id"])
    assert tenant is not None
    owners = 0
    reminders = due_reminders(session, tenant, day)
    people = _people(session, {r.entry.owner_id for r in reminders if r.entry.owner_id is not None})
    for reminder in reminders:
        owner = people.get(reminder.entry.owner_id or 0)
        if owner is None or owner.status is not UserStatus.ACTIVE:
            continue  # an owner who left: the entry shows on the admins' list once overdue
        locale = _locale(owner, tenant)
        context: dict[str, mail.MailValue] = {
            "reference": reminder.entry.reference, "subject": reminder.entry.subject,
            "deadline": reminder.deadline, "due": format_date(reminder.due, "full", locale=locale),
            "days_left": (reminder.due - day).days, "entry_id": reminder.entry.id}
        owners += _queue(session, tenant.id, owner.id, OWNER_TEMPLATE, context,
                         f"{reminder.entry.id}:{reminder.deadline}:{reminder.due.isoformat()}")
    return Sent(owners=owners, admins=_send_overdue(session, tenant, day))


def _send_overdue(session: Session, tenant: Tenant, day: date) -> int:
    late = overdue_entries(session, day)
    late_actions = actions.overdue_actions(session, day)
    if not late and not late_actions:
        return 0
    admins = session.scalars(select(User).where(User.role == Role.TENANT_ADMIN, User.status == UserStatus.ACTIVE)
                             .order_by(User.id)).all()
    owners = _people(session, {o.entry.owner_id for o in late if o.entry.owner_id is not None}
                     | {a.owner_id for a in late_actions if a.owner_id is not None})
    queued = 0
    for admin in admins:
        locale = _locale(admin, tenant)
        rows: list[dict[str, PlainValue]] = [
            {"reference": o.entry.reference, "subject": o.entry.subject, "deadline": o.deadline,
             "due": format_date(o.due, "medium", locale=locale), "days_late": o.days_late,
             "owner": owners[o.entry.owner_id].display_name if o.entry.owner_id in owners else ""}
            for o in late]
        action_rows: list[dict[str, PlainValue]] = [
            {"title": a.title, "action_id": a.id, "due": format_date(a.due_on, "medium", locale=locale),
             "days_late": (day - a.due_on).days if a.due_on else 0,
             "owner": owners[a.owner_id].display_name if a.owner_id in owners else ""}
            for a in late_actions]
        queued += _queue(session, tenant.id, admin.id, ADMIN_TEMPLATE,
                         {"entries": rows, "count": len(rows), "day": format_date(day, "full", locale=locale),
                          "actions": action_rows, "action_count": len(action_rows)},
                         day.isoformat())
    return queued


def _queue(session: Session, tenant_id: int, user_id: int, template: str, context: dict[str, mail.MailValue],
           once: str) -> int:
    """Queue one mail unless one with this key was queued before; 1 when queued now."""
    return int(mail.queue_mail(session, tenant_id=tenant_id, user_id=user_id, template=template, context=context,
                               once=once))
