"""The complaint register (issue #15): the one place that creates and changes its entries.

An entry is made for every written complaint (:func:`record_written`, called by
webapp/services/ingestion.py in the complaint's own transaction) and for every call a quality manager
confirms as an oral complaint (:func:`confirm_oral`, proposed by :func:`proposal`). Each gets a
per-company reference (``REC-2026-000123``), its regulatory clocks (webapp/services/complaint_clocks.py,
from the company's rule set: :func:`rules_of`), and follows ISO 10002's life cycle::

    received -> acknowledged -> investigating -> answered -> closed
    answered, closed -> reopened -> investigating | answered

An entry may be answered from any open status (received, acknowledged, investigating, reopened);
answering counts as acknowledging. The mediator rule (:func:`answer`): a rejection, full or partial,
must name the company's mediator, else it is refused with the reason.

Every change bumps the entry's ``version``, adds a line to its timeline (RegisterEvent) and to the audit
journal. Neither ever holds the customer's words: they name fields, statuses, outcomes and ids only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, and_, cast, delete, false, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp import search
from webapp.db import utcnow
from webapp.errors import Conflict, NotFound, UserError
from webapp.i18n import _, _l, label
from webapp.models import (
    AuditEvent,
    Call,
    Channel,
    Complaint,
    EntryStatus,
    Label,
    LabelKind,
    Outcome,
    Product,
    RegisterEntry,
    RegisterEvent,
    RegisterLink,
    Role,
    Sentiment,
    Tag,
    TagKind,
    TagOrigin,
    Tenant,
    User,
    UserStatus,
)
from webapp.services import audit, listing, products
from webapp.services.complaint_clocks import Calendar, ClockRules, DayKind, deadlines

#: The register's dates are French dates: a complaint received at 23:30 UTC on 31 December is a 1 January one.
PARIS = ZoneInfo("Europe/Paris")
#: Who may own an entry (and handle the register).
HANDLERS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
#: What the machine is called in a timeline.
MACHINE = "Écoute"
MAX_SUBJECT, MAX_SHORT, MAX_LONG = 200, 120, 20_000
#: The audit action that records a quality manager's "not an oral complaint" on a call's proposal.
DISMISSED = "register.proposal_dismissed"


class TransitionRefused(UserError):
    """A status change the life cycle does not allow (answered -> received...)."""

    code = "transition_refused"


class MediatorRule(UserError):
    """A (partly) rejected complaint's answer that does not name the company's mediator."""

    code = "mediator_missing"


@dataclass(frozen=True)
class Actor:
    """Who acts on an entry: a person, or (``user`` None) what acted, e.g. "API: CRM" or "Écoute"."""

    user: User | None = None
    label: str = ""

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @classmethod
    def machine(cls) -> Actor:
        return cls(label=MACHINE)


def today() -> date:
    """Today in France, the day the register's clocks count from."""
    return utcnow().astimezone(PARIS).date()


def paris_day(moment: datetime) -> date:
    """The French date of an aware moment (a call's or complaint's ``received_at``)."""
    return moment.astimezone(PARIS).date()


# --- clocks ------------------------------------------------------------------------------------------


def rules_of(tenant: Tenant) -> ClockRules:
    """The company's clock rule set, from its settings (ACPR's by default)."""
    return ClockRules(acknowledge_days=tenant.clock_acknowledge_days, days=DayKind(tenant.clock_days),
                      answer_months=tenant.clock_answer_months, answer_days=tenant.clock_answer_days,
                      calendar=Calendar(tenant.clock_calendar))


@dataclass(frozen=True)
class Clocks:
    """Where an entry stands with its deadlines on a given day.

    ``*_left`` is the number of calendar days until the due date (0: due today, negative: that many days
    late), None once that step is done: acknowledged (answering counts as acknowledging), or answered.
    """

    acknowledge_by: date
    answer_by: date
    acknowledge_left: int | None
    answer_left: int | None

    @property
    def acknowledge_overdue(self) -> bool:
        return self.acknowledge_left is not None and self.acknowledge_left < 0

    @property
    def answer_overdue(self) -> bool:
        return self.answer_left is not None and self.answer_left < 0

    @property
    def overdue(self) -> bool:
        return self.acknowledge_overdue or self.answer_overdue

    @property
    def next_left(self) -> int | None:
        """Days left before the next deadline still running (None when none runs)."""
        running = [left for left in (self.acknowledge_left, self.answer_left) if left is not None]
        return min(running) if running else None


def is_acknowledged(entry: RegisterEntry) -> bool:
    return entry.acknowledged_at is not None or entry.answered_at is not None


def clocks(entry: RegisterEntry, on: date | None = None) -> Clocks:
    """The entry's deadlines, the days left before each and whether it is overdue, on ``on`` (today)."""
    day = on or today()
    acknowledge_left = None if is_acknowledged(entry) else (entry.acknowledge_by - day).days
    answer_left = None if entry.answered_at is not None else (entry.answer_by - day).days
    return Clocks(entry.acknowledge_by, entry.answer_by, acknowledge_left, answer_left)


def _acknowledge_running() -> ColumnElement[bool]:
    return and_(RegisterEntry.acknowledged_at.is_(None), RegisterEntry.answered_at.is_(None))


def _answer_running() -> ColumnElement[bool]:
    return RegisterEntry.answered_at.is_(None)


def overdue_condition(on: date) -> ColumnElement[bool]:
    """Entries with a deadline passed on ``on`` and its step not done (the same as :attr:`Clocks.overdue`)."""
    return or_(and_(_acknowledge_running(), RegisterEntry.acknowledge_by < on),
               and_(_answer_running(), RegisterEntry.answer_by < on))


def due_soon_condition(on: date, days: int) -> ColumnElement[bool]:
    """Entries with a deadline still running that falls within ``days`` days of ``on`` (not yet overdue)."""
    until = on + timedelta(days=days)
    return or_(and_(_acknowledge_running(), RegisterEntry.acknowledge_by.between(on, until)),
               and_(_answer_running(), RegisterEntry.answer_by.between(on, until)))


def _set_clocks(entry: RegisterEntry, tenant: Tenant) -> None:
    due = deadlines(entry.received_on, entry.sent_on, rules_of(tenant))
    entry.acknowledge_by, entry.answer_by = due.acknowledge_by, due.answer_by


# --- timeline ----------------------------------------------------------------------------------------


def _event(session: Session, entry: RegisterEntry, actor: Actor, action: str, detail: dict[str, Any], *,
           from_status: str | None = None, to_status: str | None = None, journal: bool = True) -> None:
    """One line of the entry's timeline and (unless ``journal`` is false: the caller journals a change of many
    entries once) of the audit journal; bumps the entry's version."""
    session.add(RegisterEvent(entry_id=entry.id, actor_id=actor.user_id, actor_label=actor.label[:120],
                              action=action, from_status=from_status, to_status=to_status, detail=detail))
    entry.version += 1
    entry.updated_at = utcnow()
    if not journal:
        return
    details = dict(detail)
    if actor.user is None and actor.label:
        details["by"] = actor.label[:120]
    if from_status or to_status:
        details.update({"from": from_status, "to": to_status})
    audit.record(session, tenant_id=entry.tenant_id, actor=actor.user, action=f"register.{action}",
                 target=f"register:{entry.id}", **details)


@dataclass(frozen=True)
class Line:
    """One line of an entry's timeline as its page shows it."""

    event: RegisterEvent
    #: Who acted: a person's name, a label ("API: CRM", "Écoute"), or "" for a person since removed.
    who: str
    #: For an owner change, the new owner's name ("" for nobody, or a person since removed).
    owner: str = ""


def timeline(session: Session, entry: RegisterEntry) -> list[Line]:
    """The entry's timeline, oldest first, with the names of who acted and of new owners (two queries)."""
    events = list(session.scalars(select(RegisterEvent).where(RegisterEvent.entry_id == entry.id)
                                  .order_by(RegisterEvent.at, RegisterEvent.id)))
    owners = {e.id: after for e in events if e.action == "owner" and isinstance(after := e.detail.get("after"), int)}
    ids = {e.actor_id for e in events if e.actor_id is not None} | set(owners.values())
    names = ({u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}
             if ids else {})
    return [Line(e, names.get(e.actor_id, "") if e.actor_id is not None else e.actor_label,
                 names.get(owners[e.id], "") if e.id in owners else "") for e in events]


# --- validation --------------------------------------------------------------------------------------


def _line(value: str, label: str, max_length: int) -> str:
    text = " ".join((value or "").replace("\x00", "").split())
    if len(text) > max_length:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=label, max=max_length),
                        "too_long")
    return text


def _block(value: str, label: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if len(text) > MAX_LONG:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=label, max=MAX_LONG),
                        "too_long")
    return text


def _day(raw: str, label: str, *, required: bool) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        if required:
            raise UserError(_("Enter the date: %(field)s.", field=label), "date_missing")
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise UserError(_("The date “%(value)s” is not understood. Use the form 2026-03-31.", value=raw[:40]),
                        "date_invalid") from None
    if value < date(1900, 1, 1):
        raise UserError(_("The date “%(value)s” is out of range: give a date after 1900.", value=raw[:40]),
                        "date_out_of_range")
    return value


def _check_dates(received_on: date, sent_on: date | None) -> None:
    if received_on > today() + timedelta(days=1):
        raise UserError(_("The date received cannot be in the future."), "date_future")
    if sent_on is not None and sent_on > received_on:
        raise UserError(_("The date sent cannot be after the date received."), "sent_after_received")


def _channel(value: str | Channel) -> Channel:
    try:
        return Channel(str(value))
    except ValueError:
        raise UserError(_("Choose a channel: phone, store, email, web or letter."), "channel_invalid") from None


def _reasons(session: Session, keys: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(k for k in keys if k))
    if not wanted:
        return []
    known = set(session.scalars(select(Label.key).where(Label.kind == LabelKind.REASON, Label.key.in_(wanted))))
    if any(k not in known for k in wanted):
        raise UserError(_("This topic or reason is not in your company's list."), "reason_unknown")
    return wanted


@dataclass(frozen=True)
class EntryFields:
    """What a person types about an entry (the new-entry and edit forms), checked."""

    received_on: date
    sent_on: date | None
    channel: Channel
    subject: str = ""
    product: str = ""
    customer_ref: str = ""
    remedy: str = ""
    reasons: tuple[str, ...] = ()


def clean_fields(session: Session, form: Mapping[str, str], reasons: Sequence[str] = ()) -> EntryFields:
    """The fields of a form (``received_on``, ``sent_on``, ``channel``, ``subject``, ``product``,
    ``customer_ref``, ``remedy``; ``reasons`` from its checkboxes); :class:`UserError` with the reason."""
    received = _day(form.get("received_on", ""), _("Received on"), required=True)
    assert received is not None  # required
    sent = _day(form.get("sent_on", ""), _("Sent on"), required=False)
    _check_dates(received, sent)
    return EntryFields(
        received_on=received, sent_on=sent, channel=_channel(form.get("channel", "") or Channel.LETTER),
        subject=_line(form.get("subject", ""), _("Subject"), MAX_SUBJECT),
        product=_line(form.get("product", ""), _("Product"), MAX_SHORT),
        customer_ref=_line(form.get("customer_ref", ""), _("Customer reference"), MAX_SHORT),
        remedy=_block(form.get("remedy", ""), _("Remedy asked for")),
        reasons=tuple(_reasons(session, reasons)))


# --- creating entries --------------------------------------------------------------------------------


def _tenant(session: Session) -> Tenant:
    tenant = session.get(Tenant, session.info["tenant_id"])
    if tenant is None:
        raise NotFound()
    return tenant


def _next_number(session: Session, year: int) -> int:
    """The next free number of ``year`` in the company's register (the tenant-bound Session sees its own only)."""
    return int(session.scalar(select(func.max(RegisterEntry.number)).where(RegisterEntry.year == year)) or 0) + 1


def by_external_id(session: Session, external_id: str) -> RegisterEntry | None:
    return session.scalar(select(RegisterEntry).where(RegisterEntry.external_id == external_id))


def _linked_entry(session: Session, *, call_id: int | None = None,
                  complaint_id: int | None = None) -> RegisterEntry | None:
    column = RegisterLink.call_id if call_id is not None else RegisterLink.complaint_id
    wanted = call_id if call_id is not None else complaint_id
    return session.scalar(select(RegisterEntry).join(RegisterLink, RegisterLink.entry_id == RegisterEntry.id)
                          .where(column == wanted))


def entry_of(session: Session, *, call_id: int | None = None, complaint_id: int | None = None) -> RegisterEntry | None:
    """The entry a call or a written complaint belongs to, if any."""
    return _linked_entry(session, call_id=call_id, complaint_id=complaint_id)


#: Tries at a reference before giving up: each failure means another request took the number meanwhile.
_REFERENCE_TRIES = 8
#: The first key of the PostgreSQL advisory lock that serialises a company's reference allocation.
_REFERENCE_LOCK = 15_001


def create_entry(session: Session, *, actor: Actor, received_on: date, sent_on: date | None = None,
                 channel: Channel | str, product: str = "", reasons: Iterable[str] = (), subject: str = "",
                 remedy: str = "", customer_ref: str = "", owner_id: int | None = None,
                 complaint_id: int | None = None, call_id: int | None = None,
                 external_id: str | None = None) -> RegisterEntry:
    """Add an entry to the company's register, with the next reference of its year, its clocks, its link to
    a call or complaint, and the "created" line of its timeline.

    The reference is ``REC-<year of received_on>-<number>``, the number one more than the year's highest.
    Several web processes at once: on PostgreSQL a transaction-scoped advisory lock per company makes them
    take their turn (SQLite lets one writer at a time anyway); should two still take the same number, the
    unique constraint refuses the second, whose savepoint is rolled back and which takes the next one.
    An ``external_id`` already known returns that entry (a CRM's retry); a call or complaint already in
    an entry is a :class:`Conflict`. Flushes; the caller commits.
    """
    if external_id and (known := by_external_id(session, external_id)) is not None:
        return known
    for item in ({"call_id": call_id} if call_id else {}, {"complaint_id": complaint_id} if complaint_id else {}):
        if item and (other := _linked_entry(session, **item)) is not None:
            raise Conflict(_("This item is already in the register, as %(reference)s.", reference=other.reference),
                           "already_registered")
    if owner_id is not None:
        _owner(session, owner_id)
    tenant = _tenant(session)
    year = received_on.year
    columns = dict(subject=subject[:MAX_SUBJECT], received_on=received_on, sent_on=sent_on,
                   channel=_channel(channel), product=products.spelling(session, product[:MAX_SHORT]),
                   reasons=list(dict.fromkeys(reasons)),
                   remedy=remedy, customer_ref=customer_ref[:MAX_SHORT], owner_id=owner_id,
                   external_id=external_id or None, created_by_id=actor.user_id, year=year)
    if session.get_bind().dialect.name == "postgresql":
        # One allocation at a time per company (until the transaction ends): concurrent requests queue here
        # instead of colliding on the unique constraint and retrying, which under load could lose many times.
        session.execute(text("SELECT pg_advisory_xact_lock(:space, :tenant)"),
                        {"space": _REFERENCE_LOCK, "tenant": tenant.id})
    entry: RegisterEntry | None = None
    for _try in range(_REFERENCE_TRIES):
        number = _next_number(session, year)
        candidate = RegisterEntry(number=number, reference=f"REC-{year}-{number:06d}", **columns)
        _set_clocks(candidate, tenant)
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
        except IntegrityError:
            if external_id and (known := by_external_id(session, external_id)) is not None:
                return known  # the CRM's retry arrived at the same moment
            continue
        entry = candidate
        break
    if entry is None:
        raise Conflict(_("The register is busy: try again in a moment."), "register_busy")
    for item_column, item_id in (("call_id", call_id), ("complaint_id", complaint_id)):
        if item_id:
            session.add(RegisterLink(entry_id=entry.id, **{item_column: item_id}))
    created: dict[str, Any] = {"channel": entry.channel.value}
    created.update({"call": call_id} if call_id else {})
    created.update({"complaint": complaint_id} if complaint_id else {})
    _event(session, entry, actor, "created", created, to_status=EntryStatus.RECEIVED.value)
    entry.version = 1
    session.flush()
    return entry


def _reason_tags(session: Session, *, call_id: int | None = None, complaint_id: int | None = None) -> list[str]:
    column = Tag.call_id if call_id is not None else Tag.complaint_id
    wanted = call_id if call_id is not None else complaint_id
    return list(session.scalars(select(Tag.value).where(column == wanted, Tag.kind == TagKind.REASON,
                                                        Tag.rejected.is_(False)).order_by(Tag.id)))


def record_written(session: Session, complaint: Complaint, actor: Actor) -> RegisterEntry:
    """The entry of a written complaint that was just stored (its own transaction): received on its date in
    France, with its channel, product, customer reference and the reasons tagged so far (usually none yet:
    :func:`reasons_tagged` fills them in when the tagger is done). The subject is left for a person to
    write: the entry copies none of the customer's words (see :func:`forget_item`)."""
    known = _linked_entry(session, complaint_id=complaint.id)
    if known is not None:
        return known
    return create_entry(session, actor=actor, received_on=paris_day(complaint.received_at),
                        channel=complaint.channel, product=complaint.product,
                        reasons=_reason_tags(session, complaint_id=complaint.id),
                        customer_ref=complaint.customer_ref, complaint_id=complaint.id)


def _reasons_set_by_person(session: Session, entry: RegisterEntry) -> bool:
    edits = session.scalars(select(RegisterEvent.detail).where(
        RegisterEvent.entry_id == entry.id, RegisterEvent.action == "edited", RegisterEvent.actor_id.is_not(None)))
    return any("reasons" in (detail or {}).get("fields", []) for detail in edits)


def reasons_tagged(session: Session, *, complaint_id: int | None = None, call_id: int | None = None) -> bool:
    """The tagger is done with a complaint (or call): its entry takes the reasons found, unless a person
    set the entry's reasons. Returns whether the entry changed."""
    entry = _linked_entry(session, call_id=call_id, complaint_id=complaint_id)
    if entry is None or _reasons_set_by_person(session, entry):
        return False
    found = _reason_tags(session, call_id=call_id, complaint_id=complaint_id)
    if found == list(entry.reasons or []):
        return False
    entry.reasons = found
    _event(session, entry, Actor.machine(), "reasons", {"reasons": found})
    return True


# --- life cycle --------------------------------------------------------------------------------------

#: Where each status may go by :func:`transition` (answering, from any open status, is :func:`answer`).
NEXT: dict[EntryStatus, tuple[EntryStatus, ...]] = {
    EntryStatus.RECEIVED: (EntryStatus.ACKNOWLEDGED,),
    EntryStatus.ACKNOWLEDGED: (EntryStatus.INVESTIGATING,),
    EntryStatus.INVESTIGATING: (),
    EntryStatus.ANSWERED: (EntryStatus.CLOSED, EntryStatus.REOPENED),
    EntryStatus.CLOSED: (EntryStatus.REOPENED,),
    EntryStatus.REOPENED: (EntryStatus.INVESTIGATING,),
}
#: Statuses from which an entry may be answered.
ANSWERABLE = (EntryStatus.RECEIVED, EntryStatus.ACKNOWLEDGED, EntryStatus.INVESTIGATING, EntryStatus.REOPENED)

def status_name(status: str) -> str:
    return label("entry_status", status)


def transitions(entry: RegisterEntry) -> tuple[EntryStatus, ...]:
    """The statuses the entry may be moved to by :func:`transition` now."""
    return NEXT[entry.status]


def can_answer(entry: RegisterEntry) -> bool:
    return entry.status in ANSWERABLE


def transition(session: Session, entry: RegisterEntry, to: EntryStatus | str, actor: Actor) -> None:
    """Move the entry to status ``to`` along the life cycle (:data:`NEXT`); :class:`TransitionRefused`
    says why another move is impossible (answering goes through :func:`answer`)."""
    try:
        target = EntryStatus(str(to))
    except ValueError:
        raise TransitionRefused(_("Choose a status from the list.")) from None
    if target not in NEXT[entry.status]:
        if target is EntryStatus.ANSWERED and can_answer(entry):
            raise TransitionRefused(_("Write the answer and its outcome to mark the complaint answered."))
        raise TransitionRefused(_("A complaint that is “%(current)s” cannot become “%(target)s”.",
                                  current=status_name(entry.status), target=status_name(target)))
    before = entry.status
    now = utcnow()
    if target is EntryStatus.ACKNOWLEDGED:
        entry.acknowledged_at = entry.acknowledged_at or now
    elif target is EntryStatus.CLOSED:
        entry.closed_at = now
    elif target is EntryStatus.REOPENED:
        # A new answer is due: the answer clock runs again (against the same due date).
        entry.answered_at, entry.closed_at = None, None
    entry.status = target
    _event(session, entry, actor, "status", {}, from_status=before.value, to_status=target.value)


def _plain(text: str) -> str:
    """``text`` folded (no accents, lower case), with one kind of apostrophe and single spaces."""
    return " ".join(re.sub(r"[’‘`´]", "'", search.fold(text)).split())


def mentions_mediator(text: str, mediator_name: str) -> bool:
    """Whether ``text`` names the mediator, whatever the accents, case, apostrophes and spacing."""
    name = _plain(mediator_name)
    return bool(name) and name in _plain(text)


def answer(session: Session, entry: RegisterEntry, text: str, outcome: Outcome | str, actor: Actor) -> None:
    """Record the answer sent to the customer and its outcome; the entry becomes answered (and acknowledged,
    if it was not yet: answering counts as acknowledging).

    The mediator rule: a rejection, full or partial, whose text does not name the company's mediator is
    refused (:class:`MediatorRule`, with the reason); so is any rejection while the company has set no
    mediator. :class:`TransitionRefused` when the entry is answered or closed already.
    """
    try:
        result = Outcome(str(outcome))
    except ValueError:
        raise UserError(_("Choose the outcome: upheld, partly upheld or rejected."), "outcome_invalid") from None
    body = _block(text, _("Answer"))
    if not body:
        raise UserError(_("Write the answer sent to the customer."), "answer_missing")
    if not can_answer(entry):
        raise TransitionRefused(_("A complaint that is “%(current)s” cannot be answered again: reopen it first.",
                                  current=status_name(entry.status)))
    if result in (Outcome.REJECTED, Outcome.PARTLY_UPHELD):
        mediator = _tenant(session).mediator_name.strip()
        if not mediator:
            raise MediatorRule(_("A rejection must tell the customer how to appeal, the mediator included, and "
                                 "your company has not named its mediator yet. An administrator can set it in "
                                 "the company settings."))
        if not mentions_mediator(body, mediator):
            raise MediatorRule(_("This answer rejects the complaint, fully or partly, without naming the "
                                 "mediator. Tell the customer they may refer the matter to %(mediator)s, then "
                                 "send the answer again.", mediator=mediator))
    before, now = entry.status, utcnow()
    entry.answer_text, entry.outcome, entry.status = body, result, EntryStatus.ANSWERED
    entry.answered_at = now
    entry.acknowledged_at = entry.acknowledged_at or now
    _event(session, entry, actor, "answer", {"outcome": result.value}, from_status=before.value,
           to_status=EntryStatus.ANSWERED.value)


# --- owner, fields, links ----------------------------------------------------------------------------


def owners(session: Session) -> list[User]:
    """The people who may own an entry: the company's active quality managers and admins, by name."""
    people = session.scalars(select(User).where(User.status == UserStatus.ACTIVE, User.role.in_(HANDLERS)))
    return sorted(people, key=lambda u: search.fold(u.display_name))


def _owner(session: Session, owner_id: int) -> User:
    user = session.get(User, owner_id)
    if user is None or user.status != UserStatus.ACTIVE or user.role not in HANDLERS:
        raise UserError(_("Choose the owner among the company's active quality managers and administrators."),
                        "owner_invalid")
    return user


def assign(session: Session, entry: RegisterEntry, owner_id: int | None, actor: Actor) -> bool:
    """Give the entry an owner (None: nobody); False when it already had that one."""
    if owner_id is not None:
        _owner(session, owner_id)
    if owner_id == entry.owner_id:
        return False
    before, entry.owner_id = entry.owner_id, owner_id
    _event(session, entry, actor, "owner", {"before": before, "after": owner_id})
    return True


def edit(session: Session, entry: RegisterEntry, fields: EntryFields, actor: Actor) -> list[str]:
    """Change what a person typed (see :func:`clean_fields`); new dates compute the clocks again. Returns the
    names of the fields changed (the timeline names them; dates and reasons with their values, never the
    words typed)."""
    changed: list[str] = []
    values: dict[str, Any] = {}
    for name in ("received_on", "sent_on", "channel", "subject", "product", "customer_ref", "remedy", "reasons"):
        new = getattr(fields, name)
        new = list(new) if name == "reasons" else products.spelling(session, new) if name == "product" else new
        if new != getattr(entry, name):
            setattr(entry, name, new)
            changed.append(name)
            if isinstance(new, date):
                values[name] = new.isoformat()
            elif name == "sent_on":
                values[name] = None
            elif name in ("channel", "reasons"):
                values[name] = new if isinstance(new, list) else str(new)
    if not changed:
        return []
    if {"received_on", "sent_on"} & set(changed):
        before = (entry.acknowledge_by, entry.answer_by)
        _set_clocks(entry, _tenant(session))
        if before != (entry.acknowledge_by, entry.answer_by):
            values.update(acknowledge_by=entry.acknowledge_by.isoformat(), answer_by=entry.answer_by.isoformat())
    _event(session, entry, actor, "edited", {"fields": changed, **values})
    return changed


def link(session: Session, entry: RegisterEntry, actor: Actor, *, call_id: int | None = None,
         complaint_id: int | None = None) -> None:
    """Link a call or a written complaint of the company to the entry (:class:`Conflict` when it is in
    another entry, a 404 when it does not exist)."""
    model: type[Call] | type[Complaint] = Call if call_id is not None else Complaint
    item_id = call_id if call_id is not None else complaint_id
    if item_id is None or session.get(model, item_id) is None:
        raise NotFound()
    other = _linked_entry(session, call_id=call_id, complaint_id=complaint_id)
    if other is not None:
        if other.id == entry.id:
            return
        raise Conflict(_("This item is already in the register, as %(reference)s.", reference=other.reference),
                       "already_registered")
    session.add(RegisterLink(entry_id=entry.id, call_id=call_id, complaint_id=complaint_id))
    session.flush()
    _event(session, entry, actor, "linked", {"call": call_id} if call_id else {"complaint": complaint_id})


def link_typed(session: Session, entry: RegisterEntry, actor: Actor, kind: str, raw_id: str) -> None:
    """:func:`link` for a form: ``kind`` "call" or "complaint" and the number typed, refused with the reason
    (a :class:`UserError`) when no such item of the company exists."""
    raw = raw_id.strip().lstrip("#")
    if kind not in ("call", "complaint") or not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        raise UserError(_("Choose a call or a complaint, and type its number."), "link_invalid")
    model: type[Call] | type[Complaint] = Call if kind == "call" else Complaint
    if session.get(model, int(raw)) is None:
        raise UserError(_("There is no call or complaint #%(id)s in your company.", id=raw), "link_missing")
    link(session, entry, actor, **{f"{kind}_id": int(raw)})


def unlink(session: Session, entry: RegisterEntry, link_id: int, actor: Actor) -> None:
    """Take a call or complaint out of the entry (404 when the link is not the entry's)."""
    found = session.get(RegisterLink, link_id)
    if found is None or found.entry_id != entry.id:
        raise NotFound()
    what = {"call": found.call_id} if found.call_id else {"complaint": found.complaint_id}
    session.delete(found)
    session.flush()
    _event(session, entry, actor, "unlinked", what)


@dataclass(frozen=True)
class Linked:
    link_id: int
    call_id: int | None
    complaint_id: int | None
    #: The call's file name, or "" for a complaint.
    name: str
    received_at: datetime | None


def links_of(session: Session, entry: RegisterEntry) -> list[Linked]:
    """The calls and complaints of the entry, oldest link first (one query)."""
    rows = session.execute(
        select(RegisterLink, Call.original_filename, Call.received_at, Complaint.received_at)
        .outerjoin(Call, Call.id == RegisterLink.call_id)
        .outerjoin(Complaint, Complaint.id == RegisterLink.complaint_id)
        .where(RegisterLink.entry_id == entry.id).order_by(RegisterLink.id))
    return [Linked(row[0].id, row[0].call_id, row[0].complaint_id, row[1] or "", row[2] or row[3]) for row in rows]


def forget_item(session: Session, *, call: Call | None = None, complaint: Complaint | None = None) -> None:
    """A call or complaint is being erased (webapp/services/erasure.py): its link goes, and the entry keeps
    nothing that came from it. The entry never copied the customer's words (subject and remedy are typed by
    people and stay); the customer reference it copied goes when it is the erased item's. The timeline
    says the item was erased, by its id."""
    item = call if call is not None else complaint
    if item is None:
        return
    kind = "call" if call is not None else "complaint"
    column = RegisterLink.call_id if call is not None else RegisterLink.complaint_id
    found = session.scalar(select(RegisterLink).where(column == item.id))
    if found is None:
        return
    entry = session.get(RegisterEntry, found.entry_id)
    session.execute(delete(RegisterLink).where(RegisterLink.id == found.id)
                    .execution_options(synchronize_session=False))
    if entry is None:
        return
    if item.customer_ref and entry.customer_ref == item.customer_ref:
        entry.customer_ref = ""
    _event(session, entry, Actor.machine(), "unlinked", {kind: item.id, "erased": True})


#: What a person wrote in an entry about its customer: an erasure of that customer takes it out.
CUSTOMER_FIELDS = ("customer_ref", "subject", "remedy", "answer_text")


def entries_naming(session: Session, customer_ref: str) -> list[RegisterEntry]:
    """The entries that name the customer with this reference (exact, as the erasure's search): the entries
    carrying it as their customer reference, those about the customer's calls or written complaints, and those
    whose subject, remedy or answer writes the reference as a word of its own; by id (two queries)."""
    linked = set(session.scalars(select(RegisterLink.entry_id).where(or_(
        RegisterLink.call_id.in_(select(Call.id).where(Call.customer_ref == customer_ref)),
        RegisterLink.complaint_id.in_(select(Complaint.id).where(Complaint.customer_ref == customer_ref))))))
    written = listing.contains(customer_ref)
    candidates = session.scalars(select(RegisterEntry).where(or_(
        RegisterEntry.customer_ref == customer_ref, RegisterEntry.id.in_(linked),
        *(column.like(written, escape="\\")
          for column in (RegisterEntry.subject, RegisterEntry.remedy, RegisterEntry.answer_text))))
        .order_by(RegisterEntry.id))
    # LIKE finds "CRM-420" and, on SQLite, "crm-42" too; the reference alone, as typed, names the customer.
    word = re.compile(rf"(?<![\w-]){re.escape(customer_ref)}(?![\w-])")
    return [e for e in candidates if e.customer_ref == customer_ref or e.id in linked
            or any(word.search(text) for text in (e.subject, e.remedy, e.answer_text))]


def forget_customer(session: Session, entry: RegisterEntry, actor: Actor) -> list[str]:
    """The customer the entry names is being erased (webapp/services/erasure.py): the entry stays in the register
    (its reference, dates, channel, product, reasons, status, outcome and timeline are the company's record of a
    complaint handled), and loses what people wrote about the customer: :data:`CUSTOMER_FIELDS`. Its timeline and
    the journal name the fields emptied, never their words. Returns those fields' names."""
    emptied = [name for name in CUSTOMER_FIELDS if getattr(entry, name)]
    if emptied:
        for name in emptied:
            setattr(entry, name, "")
        _event(session, entry, actor, "erased", {"fields": emptied})
    return emptied


def get_entry(session: Session, entry_id: int) -> RegisterEntry:
    entry = session.get(RegisterEntry, entry_id)
    if entry is None:
        raise NotFound()
    return entry


# --- oral complaints ---------------------------------------------------------------------------------

def expressions_said(session: Session, call: Call) -> list[str]:
    """The complaint expressions the tagger found in the call (its ``expression`` tags, written by the
    worker: worker/tagging/company.py), as the transcript writes them, in the order said, each once."""
    found: list[tuple[int, str]] = []
    for value, evidence in session.execute(select(Tag.value, Tag.evidence).where(
            Tag.call_id == call.id, Tag.kind == TagKind.EXPRESSION, Tag.rejected.is_(False)).order_by(Tag.id)):
        places = [w for w in evidence or [] if isinstance(w, dict) and isinstance(w.get("said"), str)]
        found += [(int(w.get("start", 0)), w["said"]) for w in places] or [(1 << 30, value)]
    return list(dict.fromkeys(said for _start, said in sorted(found, key=lambda f: f[0])))


def _is_unhappy(session: Session, call: Call) -> bool:
    rows = session.execute(select(Tag.value, Tag.origin).where(Tag.call_id == call.id,
                                                               Tag.kind == TagKind.SENTIMENT,
                                                               Tag.rejected.is_(False)))
    values = {origin: value for value, origin in rows}
    return values.get(TagOrigin.HUMAN, values.get(TagOrigin.MACHINE)) == Sentiment.UNHAPPY


def _dismissed(session: Session, call: Call) -> bool:
    return session.scalar(select(AuditEvent.id).where(AuditEvent.action == DISMISSED,
                                                      AuditEvent.target == f"call:{call.id}").limit(1)) is not None


def proposal(session: Session, call: Call) -> list[str] | None:
    """The expressions that make the call look like an oral complaint, when the tagger's findings propose
    it (the customer is unhappy, a complaint reason is tagged, and a complaint expression is said); None
    when not proposed, already in the register, or dismissed by a quality manager."""
    if _linked_entry(session, call_id=call.id) is not None or _dismissed(session, call):
        return None
    if not _is_unhappy(session, call) or not _reason_tags(session, call_id=call.id):
        return None
    return expressions_said(session, call) or None


def confirm_oral(session: Session, call: Call, actor: Actor) -> RegisterEntry:
    """Record a call as an oral complaint: an entry linked to it, by phone, received on the call's date,
    with its product, customer reference and reasons (:class:`Conflict` when it is in the register already)."""
    return create_entry(session, actor=actor, received_on=paris_day(call.received_at), channel=Channel.PHONE,
                        product=call.product, reasons=_reason_tags(session, call_id=call.id),
                        customer_ref=call.customer_ref, call_id=call.id)


def dismiss_proposal(session: Session, call: Call, actor: User) -> None:
    """A quality manager says the call is not an oral complaint: the proposal is not shown again."""
    if not _dismissed(session, call):
        audit.record(session, tenant_id=call.tenant_id, actor=actor, action=DISMISSED, target=f"call:{call.id}")


# --- the register's list -----------------------------------------------------------------------------

#: How many days ahead "due soon" looks, as the filter offers it.
DUE_SOON = ("2", "5", "10")


#: A search that is the start of a reference ("REC-2026-0001", "rec-2026-"): every reference starts with REC-;
#: such a search looks at references only, not subjects.
_REFERENCE = re.compile(r"(?i)rec-(\d{4})-(\d{0,9})$")


def _reference_starts(typed: str) -> ColumnElement[bool]:
    """Entries whose reference starts with ``typed`` (matched by :data:`_REFERENCE`), by their year and number
    (the unique index on both) rather than by reading every reference: ``REC-2026-0001`` is 2026's numbers
    100 to 199 (six digits, zero-padded), and 1,000 to 1,999... when a number outgrows six digits."""
    found = _REFERENCE.match(typed.strip())
    assert found is not None
    year, digits = int(found.group(1)), found.group(2)
    ranges = []
    for width in range(max(6, len(digits)), 10):
        if width > 6 and digits.startswith("0"):
            break  # a number of more than six digits has no leading zero
        low = int(digits or "0") * 10 ** (width - len(digits))
        high = (int(digits or "0") + 1) * 10 ** (width - len(digits))
        low = max(low, 10 ** (width - 1) if width > 6 else 0)
        ranges.append(and_(RegisterEntry.number >= low, RegisterEntry.number < min(high, 10 ** width)))
    return and_(RegisterEntry.year == year, or_(*ranges)) if ranges else false()


def entry_products_query() -> Select[str]:
    """The product names the company's entries use: a skip scan of the ``(tenant_id, product)`` index, a recursive
    query asking for the first name after the last one found, one index probe per product, where ``SELECT
    DISTINCT`` would read every entry (50-120 ms at 100,000 entries on PostgreSQL, on every page of the register:
    benchmarks/register.py)."""
    found = select(func.min(RegisterEntry.product).label("name")).where(RegisterEntry.product > "") \
        .cte("names", recursive=True)
    after = select(func.min(RegisterEntry.product)).where(RegisterEntry.product > found.c.name).scalar_subquery()
    found = found.union_all(select(after).where(found.c.name.is_not(None)))
    return select(found.c.name).where(found.c.name.is_not(None))


def product_choices(session: Session) -> list[listing.Option]:
    """The products the register's filter offers: the company's products and every product its entries name,
    by name (two queries)."""
    # One query per table, not a UNION: the tenancy guard scopes each plain SELECT it sees.
    names = {name for name in session.scalars(select(Product.name)) if name}
    names.update(name for name in session.scalars(entry_products_query()) if name)
    return [listing.Option(name, name) for name in sorted(names, key=lambda name: (name.casefold(), name))]


@dataclass(frozen=True)
class RegisterFilters(listing.Filters):
    """The register list's filters, in the order its form shows them."""

    q: str = listing.text(_l("Reference or subject"), 100, search=True, placeholder=_l("e.g. REC-2026-000123"))
    due: str = listing.choice(_l("Deadline"), ("overdue", *DUE_SOON), labels="register_due")
    status: str = listing.choice(_l("Status"), EntryStatus, labels="entry_status")
    owner: str = listing.pick(_l("Owner"), lambda session: [listing.Option("none", _("Nobody")),
                                                           *(listing.Option(str(u.id), u.display_name)
                                                             for u in owners(session))])
    product: str = listing.named(_l("Product"), product_choices, MAX_SHORT)
    reason: str = listing.tag(_l("Complaint reason"), LabelKind.REASON, hide_if_empty=True)
    received: listing.DayRange = listing.dates(_l("Received from"), _l("to"))

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.q:
            pattern = listing.contains(self.q)
            if _REFERENCE.match(self.q.strip()):
                # By year and number: comparisons of numbers may use an index under row-level security, an ILIKE
                # may not (not leakproof), and would read every entry of the company (benchmarks/register.py).
                yield _reference_starts(self.q)
            else:
                yield or_(RegisterEntry.reference.ilike(pattern, escape="\\"),
                          RegisterEntry.subject.ilike(pattern, escape="\\"))
        if self.due == "overdue":
            yield overdue_condition(today())
        elif self.due:
            yield due_soon_condition(today(), int(self.due))
        if self.status:
            yield RegisterEntry.status == self.status
        if self.owner == "none":
            yield RegisterEntry.owner_id.is_(None)
        elif self.owner.isdigit():
            yield RegisterEntry.owner_id == int(self.owner)
        if self.product:
            # The exact name, chosen from a list: an equality is leakproof, so it may use the (tenant_id, product)
            # index under row-level security, where a "contains" ILIKE read every entry (benchmarks/register.py).
            yield RegisterEntry.product == self.product
        if self.reason:
            yield cast(RegisterEntry.reasons, String).like(listing.contains(f'"{self.reason}"'), escape="\\")
        if self.received.start is not None:
            yield RegisterEntry.received_on >= self.received.start
        if self.received.end is not None:
            yield RegisterEntry.received_on <= self.received.end


@dataclass(frozen=True)
class Row:
    """One line of the register's list."""

    entry: RegisterEntry
    owner: str
    clocks: Clocks


RegisterPage = listing.Page[Row, RegisterFilters]


def list_entries(session: Session, filters: RegisterFilters) -> RegisterPage:
    """One page of the register, latest received first, with owners and clocks (three queries)."""
    entries, total = listing.fetch(session, select(RegisterEntry), filters,
                                   order_by=(RegisterEntry.received_on.desc(), RegisterEntry.id.desc()))
    ids = {e.owner_id for e in entries if e.owner_id is not None}
    names = ({u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}
             if ids else {})
    day = today()
    rows = [Row(e, names.get(e.owner_id, "") if e.owner_id is not None else "", clocks(e, day)) for e in entries]
    return RegisterPage(rows, total, filters)


# --- company settings --------------------------------------------------------------------------------

#: The rule sets a company chooses from (the custom one takes its own day counts).
RULE_SETS = ("acpr", "ouvres", "custom")


def rule_set_of(tenant: Tenant) -> str:
    rules = rules_of(tenant)
    for name, preset in (("acpr", ClockRules()), ("ouvres", ClockRules(days=DayKind.OUVRES))):
        if dataclasses.replace(rules, calendar=Calendar.METROPOLITAN) == preset:
            return name
    return "custom"


def _count(raw: str, label: str, low: int, high: int, *, required: bool = True) -> int | None:
    raw = (raw or "").strip()
    if not raw and not required:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise UserError(_("%(field)s: give a whole number between %(min)d and %(max)d.", field=label, min=low,
                          max=high), "number_invalid")
    return int(raw)


@dataclass(frozen=True)
class SettingsSaved:
    """What saving the register's settings did."""

    changed: bool = False
    #: The clock rule set changed: open entries' running deadlines were computed again.
    clocks_changed: bool = False
    #: How many open entries got a new due date.
    recomputed: int = 0


def recompute_open_clocks(session: Session, tenant: Tenant, actor: Actor) -> int:
    """Compute again, by the company's rule set, the deadlines still running of its open entries: the due date
    to acknowledge of those not yet acknowledged, to answer of those not yet answered. A deadline already met
    (or missed and then done) stays as it was: it is the record of what the rules asked then. Each entry moved
    gets a timeline line with its new dates (the journal holds one line for them all, from the caller).
    Returns how many entries moved."""
    rules = rules_of(tenant)
    due_on: dict[tuple[date, date | None], tuple[date, date]] = {}
    moved = 0
    for entry in session.scalars(select(RegisterEntry).where(RegisterEntry.answered_at.is_(None))
                                 .order_by(RegisterEntry.id)):
        key = (entry.received_on, entry.sent_on)
        if key not in due_on:
            due = deadlines(entry.received_on, entry.sent_on, rules)
            due_on[key] = (due.acknowledge_by, due.answer_by)
        acknowledge_by = entry.acknowledge_by if is_acknowledged(entry) else due_on[key][0]
        answer_by = due_on[key][1]
        if (acknowledge_by, answer_by) == (entry.acknowledge_by, entry.answer_by):
            continue
        entry.acknowledge_by, entry.answer_by = acknowledge_by, answer_by
        _event(session, entry, actor, "clocks", {"acknowledge_by": acknowledge_by.isoformat(),
                                                 "answer_by": answer_by.isoformat()}, journal=False)
        moved += 1
    return moved


def update_register_settings(session: Session, tenant: Tenant, actor: User, form: Mapping[str, str]) -> SettingsSaved:
    """Change the company's clock rule set (``rule_set``: acpr, ouvres or custom with ``days``,
    ``acknowledge_days``, ``answer_months`` or ``answer_days``; ``calendar``) and its mediator
    (``mediator_name``, ``mediator_details``). New rules apply to entries received from now on, and to the
    deadlines still running of open entries (:func:`recompute_open_clocks`); the journal's line says how many
    entries moved."""
    rule_set = form.get("rule_set", "acpr")
    if rule_set not in RULE_SETS:
        raise UserError(_("Choose a rule set from the list."), "rule_set_invalid")
    try:
        calendar = Calendar(form.get("calendar", Calendar.METROPOLITAN.value))
    except ValueError:
        raise UserError(_("Choose the public holidays: metropolitan France or Alsace-Moselle."),
                        "calendar_invalid") from None
    if rule_set == "custom":
        try:
            days = DayKind(form.get("days", ""))
        except ValueError:
            raise UserError(_("Choose which days count."), "days_invalid") from None
        acknowledge = _count(form.get("acknowledge_days", ""), _("Days to acknowledge"), 1, 365)
        months = _count(form.get("answer_months", "") or "2", _("Months to answer"), 1, 24)
        answer_days = _count(form.get("answer_days", ""), _("Days to answer"), 1, 730, required=False)
        rules = ClockRules(acknowledge_days=acknowledge or 10, days=days, answer_months=months or 2,
                           answer_days=answer_days, calendar=calendar)
    else:
        rules = ClockRules(days=DayKind.OUVRES if rule_set == "ouvres" else DayKind.OUVRABLES, calendar=calendar)
    mediator = _line(form.get("mediator_name", ""), _("Mediator"), 200)
    details = _block(form.get("mediator_details", ""), _("How to reach the mediator"))[:2000]
    new = {"clock_days": rules.days.value, "clock_calendar": rules.calendar.value,
           "clock_acknowledge_days": rules.acknowledge_days, "clock_answer_months": rules.answer_months,
           "clock_answer_days": rules.answer_days, "mediator_name": mediator, "mediator_details": details}
    changes = {name: [getattr(tenant, name), value] for name, value in new.items() if getattr(tenant, name) != value}
    if not changes:
        return SettingsSaved()
    for name, (_old, value) in changes.items():
        setattr(tenant, name, value)
    clocks_changed = any(name.startswith("clock_") for name in changes)
    moved = recompute_open_clocks(session, tenant, Actor(actor)) if clocks_changed else 0
    journal: dict[str, Any] = {k: v for k, v in changes.items() if k != "mediator_details"}
    if clocks_changed:
        journal["entries_recomputed"] = moved
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.settings_changed",
                 target=f"tenant:{tenant.id}", **journal)
    return SettingsSaved(True, clocks_changed, moved)
