"""Listening coverage (issue #16, item 6): who has heard customers this quarter, per department.

A person's minutes in a quarter are all their :class:`Listen` rows in it: their own listening
page, the workshops they attended and their check-ins in the room. They *reached the goal* when
those add up to the company's ``listening_goal_minutes``. Quarters are the company's, in its time
zone (webapp/services/listening.py).

**Who counts.** Active people of the company, every role. A person who joined in the quarter's
last month (their account made on or after its first day) is not counted in that quarter: a few
weeks are too few to be held to a quarter's goal; they count from the next one. Invited people
who never logged in and deactivated people do not count. People without a department are grouped
under "no department".

**The quarterly reminder.** From the first day of a quarter's last month (in the company's time
zone), :func:`schedule_listening_reminders` queues one ``listening_reminders`` job per company and
quarter (keyed by the quarter); the job mails each counted person still below the goal, each once
a quarter (:func:`send_reminders`, the mail's ``once`` key), with a month left to catch up.

**What is shown.** Per department: people counted, how many reached the goal, the share, and the
minutes heard in all; managers (``User.is_manager``) counted apart from the others; the reactions
given in the quarter by the department's people, and the improvement actions that came from
listening (origin *reaction* or *workshop*) proposed by them. A person's own figure is shown only
to them (their listening page) and to the company admin (:func:`list_people`, a page at a time,
filtered by department and by name or e-mail).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from webapp import jobs, mail, tenancy
from webapp.errors import UserError
from webapp.i18n import _, _l
from webapp.models import ActionOrigin, ImprovementAction, Listen, Reaction, Tenant, User, UserStatus
from webapp.services import audit, listing, windows
from webapp.services.listening import Quarter, current_quarter, zone_of

#: The goal a company may set, in minutes a quarter.
MAX_GOAL_MINUTES = 6000
#: The job kind of the quarterly reminder, and its mail.
LISTENING_REMINDERS = "listening_reminders"
REMINDER_TEMPLATE = "listening_reminder"
#: Origins of the improvement actions that came from listening.
LISTENING_ORIGINS = (ActionOrigin.REACTION, ActionOrigin.WORKSHOP)


@dataclass
class Group:
    """People counted, how many reached the goal, and their seconds heard in all."""

    people: int = 0
    reached: int = 0
    seconds: float = 0.0

    @property
    def share(self) -> float | None:
        return self.reached / self.people if self.people else None

    def add(self, seconds: float, goal_seconds: float) -> None:
        self.people += 1
        self.seconds += seconds
        self.reached += seconds >= goal_seconds


@dataclass
class DepartmentCoverage:
    department: str  #: "" for people without one
    staff: Group = field(default_factory=Group)  #: everyone but managers
    managers: Group = field(default_factory=Group)
    reactions: int = 0
    actions: int = 0

    @property
    def everyone(self) -> Group:
        return Group(self.staff.people + self.managers.people, self.staff.reached + self.managers.reached,
                     self.staff.seconds + self.managers.seconds)


@dataclass
class Coverage:
    quarter: Quarter
    goal_minutes: int
    departments: list[DepartmentCoverage]  #: by name, "no department" last
    total: DepartmentCoverage


@dataclass(frozen=True)
class PersonCoverage:
    user_id: int
    name: str
    email: str
    department: str
    is_manager: bool
    seconds: float
    reached: bool


def _bounds(tenant: Tenant, quarter: Quarter) -> tuple[datetime, datetime, datetime]:
    zone = zone_of(tenant)
    start, end = quarter.bounds(zone)
    last = datetime(quarter.year, quarter.last_month, 1, tzinfo=zone).astimezone(UTC)
    return start, end, last


def _seconds_by_person(session: Session, start: datetime, end: datetime) -> dict[int, float]:
    rows = session.execute(select(Listen.user_id, func.sum(Listen.seconds))
                           .where(Listen.at >= start, Listen.at < end).group_by(Listen.user_id))
    return {user_id: float(total or 0.0) for user_id, total in rows}


def compute(session: Session, tenant: Tenant, quarter: Quarter) -> Coverage:
    """Coverage of ``quarter`` per department (see the module's docstring for who counts).

    One query adds up the quarter's seconds per person and groups the people by department and
    manager or not in the database: a few dozen rows come back, whatever the company's size.
    """
    start, end, last_month = _bounds(tenant, quarter)
    goal = tenant.listening_goal_minutes * 60.0
    by_department: dict[str, DepartmentCoverage] = {}

    def row(name: str) -> DepartmentCoverage:
        return by_department.setdefault(name, DepartmentCoverage(name))

    heard_q = (select(Listen.user_id, func.sum(Listen.seconds).label("seconds"))
               .where(Listen.at >= start, Listen.at < end).group_by(Listen.user_id).subquery())
    seconds = func.coalesce(heard_q.c.seconds, 0.0)
    groups = session.execute(
        select(User.department, User.is_manager, func.count(User.id),
               func.sum(case((seconds >= goal, 1), else_=0)), func.sum(seconds))
        .outerjoin(heard_q, heard_q.c.user_id == User.id)
        .where(User.status == UserStatus.ACTIVE, User.created_at < last_month)
        .group_by(User.department, User.is_manager))
    for department, is_manager, people, reached, total in groups:
        dept = row(department)
        target = dept.managers if is_manager else dept.staff
        target.people, target.reached, target.seconds = int(people), int(reached or 0), float(total or 0.0)
    reactions = session.execute(select(User.department, func.count(Reaction.id)).join(User, Reaction.user_id == User.id)
                                .where(Reaction.created_at >= start, Reaction.created_at < end)
                                .group_by(User.department))
    for department, count in reactions:
        row(department).reactions = int(count)
    actions = session.execute(select(User.department, func.count(ImprovementAction.id))
                              .join(User, ImprovementAction.created_by_id == User.id)
                              .where(ImprovementAction.origin.in_(LISTENING_ORIGINS),
                                     ImprovementAction.created_at >= start, ImprovementAction.created_at < end)
                              .group_by(User.department))
    for department, count in actions:
        row(department).actions = int(count)
    departments = sorted(by_department.values(), key=lambda d: (d.department == "", d.department.casefold()))
    total = DepartmentCoverage("")
    for dept in departments:
        for mine, theirs in ((total.staff, dept.staff), (total.managers, dept.managers)):
            mine.people, mine.reached, mine.seconds = (mine.people + theirs.people, mine.reached + theirs.reached,
                                                       mine.seconds + theirs.seconds)
        total.reactions += dept.reactions
        total.actions += dept.actions
    return Coverage(quarter, tenant.listening_goal_minutes, departments, total)


def per_person(session: Session, tenant: Tenant, quarter: Quarter) -> list[PersonCoverage]:
    """Each counted person's seconds in ``quarter``, everyone at once (the quarterly reminder's list; the
    admin's page reads them a page at a time, :func:`list_people`)."""
    start, end, last_month = _bounds(tenant, quarter)
    goal = tenant.listening_goal_minutes * 60.0
    heard = _seconds_by_person(session, start, end)
    people = session.execute(select(User.id, User.name, User.email, User.department, User.is_manager)
                             .where(User.status == UserStatus.ACTIVE, User.created_at < last_month)
                             .order_by(User.department, User.name, User.email))
    return [PersonCoverage(uid, name, email, department, is_manager, heard.get(uid, 0.0), heard.get(uid, 0.0) >= goal)
            for uid, name, email, department, is_manager in people]


def _departments(session: Session) -> list[listing.Option]:
    """The departments people work in, by name (what the per-person list's filter offers)."""
    return [listing.Option(name, name) for name in session.scalars(
        select(User.department).where(User.department != "", User.status == UserStatus.ACTIVE).distinct()
        .order_by(User.department))]


@dataclass(frozen=True)
class PeopleFilters(listing.Filters):
    """The per-person list's filters: the quarter (the quarter picker's), a department, words of a name or
    an e-mail address."""

    q: str = listing.text(_l("Name or e-mail"), 100, search=True)
    department: str = listing.named(_l("Department"), _departments)
    quarter: str = listing.hidden(_l("Quarter"), 7)

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.department:
            yield User.department == self.department
        if self.q:
            pattern = listing.contains(self.q)
            yield or_(User.name.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\"))

    @property
    def is_filtering(self) -> bool:
        return bool(self.q or self.department)  # the quarter chooses what is counted, it filters nobody out


@dataclass(frozen=True)
class PeoplePage(listing.Page[PersonCoverage, PeopleFilters]):
    """One page of the per-person list, with the quarter shown, those offered and the goal."""

    quarter: Quarter | None = None
    offered: list[Quarter] = field(default_factory=list)
    goal_minutes: int = 0


def list_people(session: Session, tenant: Tenant, filters: PeopleFilters) -> PeoplePage:
    """One page of the people counted in the quarter ``filters`` names (the current one when it names none
    offered), by department, name and e-mail, each with their minutes: three queries whatever the page
    size. For the company admin only (the view checks)."""
    offered = quarters_to_show(current_quarter(tenant))
    asked = Quarter.parse(filters.quarter)
    quarter = asked if asked in offered else offered[0]
    start, end, last_month = _bounds(tenant, quarter)
    found, total = listing.fetch(session, select(User).where(User.status == UserStatus.ACTIVE,
                                                             User.created_at < last_month), filters,
                                 order_by=(User.department.asc(), User.name.asc(), User.email.asc(), User.id.asc()))
    heard: dict[int, float] = {}
    if found:
        heard = {user_id: float(seconds or 0.0) for user_id, seconds in session.execute(
            select(Listen.user_id, func.sum(Listen.seconds)).where(
                Listen.at >= start, Listen.at < end, Listen.user_id.in_([u.id for u in found]))
            .group_by(Listen.user_id))}
    goal = tenant.listening_goal_minutes * 60.0
    rows = [PersonCoverage(u.id, u.name, u.email, u.department, u.is_manager, heard.get(u.id, 0.0),
                           heard.get(u.id, 0.0) >= goal) for u in found]
    return PeoplePage(rows, total, filters, quarter=quarter, offered=offered,
                      goal_minutes=tenant.listening_goal_minutes)


def below_goal(session: Session, tenant: Tenant, quarter: Quarter) -> list[PersonCoverage]:
    """The counted people who have not reached the goal in ``quarter`` yet (the quarterly reminder's list)."""
    return [p for p in per_person(session, tenant, quarter) if not p.reached]


def quarters_to_show(current: Quarter, count: int = 8) -> list[Quarter]:
    """The quarters offered on the coverage page: the current one and those before it."""
    result = [current]
    while len(result) < count:
        result.append(result[-1].previous)
    return result


def set_goal(session: Session, tenant: Tenant, actor: User, minutes: str) -> bool:
    """Set the company's listening goal (whole minutes a quarter); False when it did not change."""
    try:
        value = int(minutes.strip())
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_GOAL_MINUTES:
        raise UserError(_("The listening goal is a whole number of minutes a quarter, from 1 to %(max)d.",
                          max=MAX_GOAL_MINUTES), "listening_goal")
    if value == tenant.listening_goal_minutes:
        return False
    old = tenant.listening_goal_minutes
    tenant.listening_goal_minutes = value
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.settings_changed",
                 target=f"tenant:{tenant.id}", listening_goal_minutes=[old, value])
    return True


# --- the quarterly reminder --------------------------------------------------------------------


def reminder_quarter(tenant: Tenant, now: datetime) -> Quarter | None:
    """The quarter whose reminder is due at ``now``: the current one during its last month (company time)."""
    quarter = current_quarter(tenant, now)
    return quarter if now.astimezone(zone_of(tenant)).month == quarter.last_month else None


def schedule_listening_reminders(now: datetime) -> int:
    """Queue, in a quarter's last month, one ``listening_reminders`` job per active company, keyed
    ``listening-reminders:<quarter>`` (once per company and quarter however often it runs); how many were queued."""
    queued = 0
    for tenant_id in windows.company_ids():
        with tenancy.tenant_session(None) as session:  # the tenants table is not tenant data
            tenant = session.get(Tenant, tenant_id)
            quarter = reminder_quarter(tenant, now) if tenant is not None and tenant.suspended_at is None else None
        if quarter is not None:
            queued += jobs.enqueue_once(tenant_id, kind=LISTENING_REMINDERS,
                                        idempotency_key=f"listening-reminders:{quarter.key}",
                                        payload={"quarter": quarter.key})
    return queued


def send_reminders(session: Session, tenant: Tenant, quarter: Quarter, now: datetime) -> int:
    """Queue the reminder mail of each counted person below the goal in ``quarter``, once each a quarter;
    nothing once the quarter is over. How many mails were queued now."""
    if current_quarter(tenant, now) != quarter:
        return 0
    queued = 0
    for person in below_goal(session, tenant, quarter):
        queued += mail.queue_mail(session, tenant_id=tenant.id, user_id=person.user_id, template=REMINDER_TEMPLATE,
                                  context={"heard": round(person.seconds / 60, 1),
                                           "goal": tenant.listening_goal_minutes, "quarter": quarter.number,
                                           "year": quarter.year}, once=quarter.key)
    return queued
