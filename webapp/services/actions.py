"""Improvement actions (issue #16, item 4): proposing them, their life cycle, owners, due dates and comments.

**Life cycle.** proposed → accepted → in progress → done → verified, or rejected (from proposed,
accepted or in progress) with a reason, which is required. A done or verified action can be reopened:
it goes back to in progress (with a comment saying why) and loses its "done" date, which is set again
the next time it is done. Any other move is refused with the reason (:class:`TransitionRefused`).
Every change is an :class:`ActionEvent` on the action's timeline and bumps ``version``: a form that
carries an older version is refused (:class:`StaleAction`) rather than overwriting what someone else
changed in between.

**Who may do what.**

- Quality managers and company admins manage actions: they see all of them, propose, edit, assign an
  owner and a due date, move any action along its life cycle, reject, verify and reopen.
- The owner (any role) sees their action and moves it through accepted, in progress and done, and
  comments on it. Verifying, rejecting, reopening and reassigning stay with the managers. Verifying
  needs the evidence: it is refused until a day has passed since the action was done
  (:func:`evidence_ready`), and the button is on the evidence panel, under what customers said.
- Staff propose actions (from a reaction in the room, or from a workshop's decisions, through
  :func:`propose`) and see the actions they proposed or own, and comment on them.
- Platform admins work in no company's actions.

**Journal.** Proposing, status changes, owner and due date changes are journalled on ``action:<id>``
with the origin, statuses, link kinds and ids: never the title, the problem or a comment, which are
people's own words and may name a customer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from webapp import mail, search
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _, _l, label
from webapp.models import (
    ActionEvent,
    ActionLink,
    ActionOrigin,
    ActionStatus,
    Alert,
    Call,
    Clip,
    Complaint,
    Dimension,
    ImprovementAction,
    LabelKind,
    Reaction,
    RegisterEntry,
    Role,
    User,
    UserStatus,
    Workshop,
)
from webapp.services import audit, listing, products

#: Longest title, problem, comment and rejection reason (the title's is the column's).
TITLE_MAX = 200
TEXT_MAX = 5000

PROPOSED = "action.proposed"
STATUS_CHANGED = "action.status_changed"
PLANNED = "action.planned"
ASSIGNED_TEMPLATE = "action_assigned"
STATUS_TEMPLATE = "action_status"

#: Who manage actions (see the module's docstring).
MANAGERS = (Role.QUALITY_MANAGER, Role.TENANT_ADMIN)
#: Statuses still to be worked on: an action in one of them past its due date is overdue.
OPEN = (ActionStatus.PROPOSED, ActionStatus.ACCEPTED, ActionStatus.IN_PROGRESS)
#: The life cycle: where each status may go. Done and verified go back to in progress (reopen).
TRANSITIONS: dict[ActionStatus, tuple[ActionStatus, ...]] = {
    ActionStatus.PROPOSED: (ActionStatus.ACCEPTED, ActionStatus.REJECTED),
    ActionStatus.ACCEPTED: (ActionStatus.IN_PROGRESS, ActionStatus.REJECTED),
    ActionStatus.IN_PROGRESS: (ActionStatus.DONE, ActionStatus.REJECTED),
    ActionStatus.DONE: (ActionStatus.VERIFIED, ActionStatus.IN_PROGRESS),
    ActionStatus.VERIFIED: (ActionStatus.IN_PROGRESS,),
    ActionStatus.REJECTED: (),
}
#: The moves an owner who does not manage actions may make on their own action.
OWNER_MOVES = frozenset({(ActionStatus.PROPOSED, ActionStatus.ACCEPTED),
                         (ActionStatus.ACCEPTED, ActionStatus.IN_PROGRESS),
                         (ActionStatus.IN_PROGRESS, ActionStatus.DONE)})

#: What a link may point to: the ActionLink column and the model it names.
LINK_KINDS: dict[str, type[Any]] = {
    "clip_id": Clip,
    "call_id": Call,
    "complaint_id": Complaint,
    "register_entry_id": RegisterEntry,
    "reaction_id": Reaction,
    "alert_id": Alert,
}


def _line(value: str, label: str, max_length: int, *, required: bool = False) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise UserError(_("%(field)s is required.", field=label), "action_field")
    if len(value) > max_length:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=label, max=max_length),
                        "action_field")
    return value


def _block(value: str, label: str, max_length: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if len(value) > max_length:
        raise UserError(_("%(field)s is too long: %(max)d characters at most.", field=label, max=max_length),
                        "action_field")
    return value


def _origin(value: ActionOrigin | str) -> ActionOrigin:
    try:
        return ActionOrigin(value)
    except ValueError:
        raise UserError(_("Unknown origin."), "action_origin") from None


def _own(session: Session, actor: User, model: type[Any], item_id: int) -> Any:
    """Row ``item_id`` of ``model`` in the actor's company; NotFound otherwise (another company's too)."""
    item = session.get(model, item_id)
    if item is None or item.tenant_id != actor.tenant_id:
        raise NotFound()
    return item


def event(session: Session, action: ImprovementAction, actor: User | None, kind: str, *, comment: str = "",
          detail: dict[str, Any] | None = None) -> ActionEvent:
    """Add one line to the action's timeline (``detail``: what changed, e.g. ``{"from": .., "to": ..}``)."""
    line = ActionEvent(tenant_id=action.tenant_id, action_id=action.id, actor_id=actor.id if actor else None,
                       at=utcnow(), kind=kind, comment=comment, detail=detail or {})
    session.add(line)
    return line


def propose(session: Session, actor: User, *, title: str, problem: str = "", origin: ActionOrigin | str,
            topic: str = "", reason: str = "", product: str = "", workshop_id: int | None = None,
            clip_id: int | None = None, call_id: int | None = None, complaint_id: int | None = None,
            register_entry_id: int | None = None, reaction_id: int | None = None, alert_id: int | None = None,
            origin_query: str = "", owner_id: int | None = None, due_on: date | None = None) -> ImprovementAction:
    """Propose an improvement action: a new action in PROPOSED, created by ``actor``.

    It is linked (one :class:`ActionLink` each) to each clip, call, complaint, register entry,
    reaction or alert named, which must be of the actor's company (else :class:`NotFound`, as for a
    missing one), and so must the workshop. The title is required (whitespace folded, 200 characters
    at most); the problem is the proposer's text. ``topic``, ``reason`` and ``product`` name what it
    should change (what verification measures). A "proposed" event opens the timeline and the journal
    records ``action.proposed`` with the origin and the link kinds, never the title or problem.
    ``owner_id`` and ``due_on`` are for managers' forms (see :func:`can_manage`); callers from the room
    leave them out. Flushes; does not commit.
    """
    action = ImprovementAction(
        tenant_id=actor.tenant_id, status=ActionStatus.PROPOSED, origin=_origin(origin),
        title=_line(title, str(_("Title")), TITLE_MAX, required=True),
        problem=_block(problem, str(_("Problem"))),
        topic=_line(topic, str(_("Topic")), 60), reason=_line(reason, str(_("Reason")), 60),
        product=products.spelling(session, _line(product, str(_("Product")), 120), add=False),
        origin_query=(origin_query or "").strip()[:500],
        created_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(), version=1, due_on=due_on)
    if workshop_id is not None:
        action.workshop_id = _own(session, actor, Workshop, workshop_id).id
    if owner_id is not None:
        action.owner_id = _owner(session, actor, owner_id).id
    named = {"clip_id": clip_id, "call_id": call_id, "complaint_id": complaint_id,
             "register_entry_id": register_entry_id, "reaction_id": reaction_id, "alert_id": alert_id}
    links = {column: _own(session, actor, LINK_KINDS[column], item_id).id
             for column, item_id in named.items() if item_id is not None}
    session.add(action)
    session.flush()
    for column, item_id in links.items():
        session.add(ActionLink(tenant_id=actor.tenant_id, action_id=action.id, **{column: item_id}))
    event(session, action, actor, "status", detail={"to": ActionStatus.PROPOSED.value, "origin": action.origin.value})
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action=PROPOSED, target=f"action:{action.id}",
                 origin=action.origin.value,
                 links={column.removesuffix("_id"): item_id for column, item_id in links.items()},
                 **({"workshop": action.workshop_id} if action.workshop_id else {}),
                 **({"owner": action.owner_id} if action.owner_id else {}))
    if action.owner_id is not None:
        _notify(session, action, actor, {action.owner_id}, ASSIGNED_TEMPLATE,
                due=action.due_on.isoformat() if action.due_on else "")
    session.flush()
    return action


def _owner(session: Session, actor: User, owner_id: int) -> User:
    """An active person of the actor's company who can own an action."""
    owner = session.get(User, owner_id)
    if owner is None or owner.tenant_id != actor.tenant_id or not owner.is_active:
        raise UserError(_("Choose an owner from the list."), "action_owner")
    return owner


class TransitionRefused(UserError):
    """A status change the life cycle, or the person's part in the action, does not allow; says why."""

    code = "transition_refused"


class StaleAction(UserError):
    """A form based on an older version of the action: someone changed it in between."""

    status = 409
    code = "stale_action"


def status_name(status: ActionStatus | str) -> str:
    return label("action_status", str(status))


# --- who may do what ---------------------------------------------------------------------------------------


def can_manage(user: User) -> bool:
    return user.role in MANAGERS


def can_see(user: User, action: ImprovementAction) -> bool:
    return action.tenant_id == user.tenant_id and (
        can_manage(user) or user.id in (action.owner_id, action.created_by_id))


def can_comment(user: User, action: ImprovementAction) -> bool:
    return can_see(user, action)


def moves(user: User, action: ImprovementAction) -> tuple[ActionStatus, ...]:
    """The statuses ``user`` may move ``action`` to now."""
    allowed = TRANSITIONS[action.status]
    if can_manage(user):
        return allowed
    if user.id != action.owner_id:
        return ()
    return tuple(to for to in allowed if (action.status, to) in OWNER_MOVES)


def visible_condition(user: User) -> ColumnElement[bool] | None:
    """The condition that keeps to the actions ``user`` may see; None: all of the company's."""
    if can_manage(user):
        return None
    return or_(ImprovementAction.owner_id == user.id, ImprovementAction.created_by_id == user.id)


def get_action(session: Session, user: User, action_id: int) -> ImprovementAction:
    """Action ``action_id`` if ``user`` may see it; :class:`NotFound` otherwise (the same as a missing one)."""
    action = session.get(ImprovementAction, action_id)
    if action is None or not can_see(user, action):
        raise NotFound()
    return action


# --- changes -----------------------------------------------------------------------------------------------


def _check_version(action: ImprovementAction, version: int | None) -> None:
    if version is not None and version != action.version:
        raise StaleAction(_("Someone changed this action after you opened it. Read it again, then redo your "
                            "change."), "stale_action")


def _touch(action: ImprovementAction) -> None:
    action.version += 1
    action.updated_at = utcnow()


def _notify(session: Session, action: ImprovementAction, actor: User, recipients: set[int | None], template: str,
            **context: mail.PlainValue) -> int:
    """Queue ``template`` to each active recipient but the actor; how many were queued. Only the title and
    statuses, never the problem or a comment."""
    queued = 0
    for user_id in sorted(r for r in recipients if r is not None and r != actor.id):
        person = session.get(User, user_id)
        if person is None or person.status is not UserStatus.ACTIVE or person.tenant_id != action.tenant_id:
            continue
        queued += int(mail.queue_mail(session, tenant_id=action.tenant_id, user_id=user_id, template=template,
                                      context={"title": action.title, "action_id": action.id, **context}))
    return queued


def move(session: Session, actor: User, action: ImprovementAction, to: ActionStatus | str, *,
         version: int | None = None, reason: str = "", comment: str = "") -> None:
    """Move ``action`` to status ``to`` as ``actor``; :class:`TransitionRefused` with the reason when the life
    cycle or the actor's part does not allow it, :class:`StaleAction` when ``version`` is not the action's.

    Rejecting needs ``reason``. Done sets ``done_at`` (the date verification compares around); reopening
    (done or verified back to in progress) clears it and the verification. ``comment`` goes on the timeline.
    The owner and the proposer are notified (a mail job each), and the move is journalled.
    """
    try:
        target = ActionStatus(to)
    except ValueError:
        raise TransitionRefused(_("Unknown status."), "transition_refused") from None
    _check_version(action, version)
    if target not in TRANSITIONS[action.status]:
        raise TransitionRefused(_("An action that is “%(current)s” cannot become “%(to)s”.",
                                  current=status_name(action.status), to=status_name(target)))
    if target not in moves(actor, action):
        if target is ActionStatus.VERIFIED:
            raise TransitionRefused(_("Only a quality manager or an admin confirms an action verified, after "
                                      "reading its evidence."))
        raise TransitionRefused(_("Only a quality manager or an admin can make this change; as its owner, you "
                                  "can accept the action, start it and mark it done."))
    if target is ActionStatus.VERIFIED and not evidence_ready(action):
        raise TransitionRefused(_("Its evidence is not there yet: confirm it verified once a day has passed since "
                                  "it was done, after reading what customers said."))
    reason = _block(reason, str(_("Reason")))
    if target is ActionStatus.REJECTED and not reason:
        raise TransitionRefused(_("Say why the action is rejected."))
    comment = _block(comment, str(_("Comment")))
    was = action.status
    now = utcnow()
    action.status = target
    if target is ActionStatus.ACCEPTED:
        action.accepted_at = now
    elif target is ActionStatus.DONE:
        action.done_at = now
    elif target is ActionStatus.VERIFIED:
        action.verified_at, action.verified_by_id = now, actor.id
    elif target is ActionStatus.REJECTED:
        action.rejection_reason = reason
    elif was in (ActionStatus.DONE, ActionStatus.VERIFIED):  # reopened
        action.done_at = action.verified_at = action.verified_by_id = None
    _touch(action)
    event(session, action, actor, "status", comment=reason or comment, detail={"from": was.value, "to": target.value})
    audit.record(session, tenant_id=action.tenant_id, actor=actor, action=STATUS_CHANGED,
                 target=f"action:{action.id}", **{"from": was.value, "to": target.value})
    _notify(session, action, actor, {action.owner_id, action.created_by_id}, STATUS_TEMPLATE,
            status=target.value, previous=was.value)
    session.flush()


def evidence_ready(action: ImprovementAction) -> bool:
    """Whether the action was done long enough ago for its evidence to show (webapp/services/action_evidence.py)."""
    from webapp.services.action_evidence import MIN_DAYS  # the evidence module reads actions, not the reverse

    return action.done_at is not None and utcnow() - action.done_at >= timedelta(days=MIN_DAYS)


def owners(session: Session) -> list[User]:
    """The people who may own an action: every active person of the company, by name."""
    people = session.scalars(select(User).where(User.status == UserStatus.ACTIVE))
    return sorted(people, key=lambda u: search.fold(u.display_name))


def plan(session: Session, actor: User, action: ImprovementAction, *, owner_id: int | None, due_on: date | None,
         version: int | None = None) -> list[str]:
    """Set the action's owner and due date (managers only); returns what changed ("owner", "due").

    A new owner is notified (a mail job). Each change is a line on the timeline and in the journal."""
    if not can_manage(actor):
        raise TransitionRefused(_("Only a quality manager or an admin assigns an action and sets its due date."))
    _check_version(action, version)
    changed: list[str] = []
    if owner_id != action.owner_id:
        if owner_id is not None:
            _owner(session, actor, owner_id)
        event(session, action, actor, "owner", detail={"from": action.owner_id, "to": owner_id})
        action.owner_id = owner_id
        changed.append("owner")
        _notify(session, action, actor, {owner_id}, ASSIGNED_TEMPLATE,
                due=due_on.isoformat() if due_on else "")
    if due_on != action.due_on:
        event(session, action, actor, "due", detail={"from": action.due_on.isoformat() if action.due_on else None,
                                                    "to": due_on.isoformat() if due_on else None})
        action.due_on = due_on
        changed.append("due")
    if changed:
        _touch(action)
        audit.record(session, tenant_id=action.tenant_id, actor=actor, action=PLANNED, target=f"action:{action.id}",
                     changed=changed, owner=action.owner_id, due=action.due_on.isoformat() if action.due_on else None)
        session.flush()
    return changed


def comment(session: Session, actor: User, action: ImprovementAction, text: str) -> ActionEvent:
    """Add ``actor``'s comment to the timeline (anyone who sees the action). Not journalled: people's words."""
    if not can_comment(actor, action):
        raise NotFound()
    text = _block(text, str(_("Comment")))
    if not text:
        raise UserError(_("Write a comment first."), "action_comment")
    line = event(session, action, actor, "comment", comment=text)
    action.updated_at = utcnow()
    session.flush()
    return line


# --- reading -----------------------------------------------------------------------------------------------


def is_overdue(action: ImprovementAction, day: date) -> bool:
    return action.status in OPEN and action.due_on is not None and action.due_on < day


def overdue_condition(day: date) -> ColumnElement[bool]:
    return ImprovementAction.status.in_(OPEN) & (ImprovementAction.due_on < day)


def overdue_actions(session: Session, day: date) -> list[ImprovementAction]:
    """The company's actions past their due date on ``day`` and not done, the longest overdue first."""
    return list(session.scalars(select(ImprovementAction).where(overdue_condition(day))
                                .order_by(ImprovementAction.due_on, ImprovementAction.id)))


@dataclass(frozen=True)
class Line:
    """One line of an action's timeline."""

    event: ActionEvent
    actor: str


def timeline(session: Session, action: ImprovementAction) -> list[Line]:
    """The action's events, oldest first, with who did them (two queries)."""
    events = list(session.scalars(select(ActionEvent).where(ActionEvent.action_id == action.id)
                                  .order_by(ActionEvent.at, ActionEvent.id)))
    names = _names(session, {e.actor_id for e in events if e.actor_id is not None}
                   | {int(e.detail["to"]) for e in events if e.kind == "owner" and e.detail.get("to")})
    return [Line(e, names.get(e.actor_id, "") if e.actor_id is not None else "") for e in events]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}


def names_of(session: Session, ids: set[int]) -> dict[int, str]:
    """People's names by id (for a timeline's owner changes)."""
    return _names(session, ids)


@dataclass(frozen=True)
class Linked:
    """What an action is linked to: ``kind`` (clip, call, complaint, register, reaction, alert) and its id."""

    link: ActionLink
    kind: str
    item_id: int
    name: str


def links_of(session: Session, action: ImprovementAction) -> list[Linked]:
    """The action's links, each with a name to show (a clip's title, a register entry's reference)."""
    links = list(session.scalars(select(ActionLink).where(ActionLink.action_id == action.id)
                                 .order_by(ActionLink.id)))
    result: list[Linked] = []
    for link in links:
        for column in LINK_KINDS:
            item_id = getattr(link, column)
            if item_id is None:
                continue
            kind = "register" if column == "register_entry_id" else column.removesuffix("_id")
            result.append(Linked(link, kind, item_id, _link_name(session, kind, item_id)))
    return result


def _link_name(session: Session, kind: str, item_id: int) -> str:
    if kind == "clip":
        clip = session.get(Clip, item_id)
        return clip.title if clip is not None else ""
    if kind == "register":
        entry = session.get(RegisterEntry, item_id)
        return entry.reference if entry is not None else ""
    if kind == "call":
        call = session.get(Call, item_id)
        return call.original_filename if call is not None else ""
    return ""


def done_for_products(session: Session, products: list[str], start: datetime, end: datetime,
                      ) -> list[ImprovementAction]:
    """The actions about one of ``products`` done (or done then verified) between ``start`` and ``end``, in
    the order they were done (a review pack's "actions taken")."""
    if not products:
        return []
    return list(session.scalars(select(ImprovementAction).where(
        ImprovementAction.product.in_(products),
        ImprovementAction.status.in_((ActionStatus.DONE, ActionStatus.VERIFIED)),
        ImprovementAction.done_at >= start, ImprovementAction.done_at < end)
        .order_by(ImprovementAction.done_at, ImprovementAction.id)))


# --- the list ----------------------------------------------------------------------------------------------


def _owner_options(session: Session) -> list[listing.Option]:
    return [listing.Option("none", _("Nobody")), *(listing.Option(str(u.id), u.display_name)
                                                    for u in owners(session))]


@dataclass(frozen=True)
class ActionFilters(listing.Filters):
    """The actions list's filters, in the order its form shows them."""

    q: str = listing.text(_l("Title"), 100, search=True)
    status: str = listing.choice(_l("Status"), ActionStatus, labels="action_status")
    owner: str = listing.pick(_l("Owner"), _owner_options)
    due: str = listing.choice(_l("Due date"), ("overdue",), labels="action_due")
    origin: str = listing.choice(_l("Started from"), ActionOrigin, labels="action_origin")

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.q:
            yield ImprovementAction.title.ilike(listing.contains(self.q), escape="\\")
        if self.status:
            yield ImprovementAction.status == self.status
        if self.owner == "none":
            yield ImprovementAction.owner_id.is_(None)
        elif self.owner.isdigit():
            yield ImprovementAction.owner_id == int(self.owner)
        if self.due == "overdue":
            yield overdue_condition(utcnow().date())
        if self.origin:
            yield ImprovementAction.origin == self.origin


@dataclass(frozen=True)
class Row:
    """One line of the actions list."""

    action: ImprovementAction
    owner: str
    overdue: bool


ActionPage = listing.Page[Row, ActionFilters]


def list_actions(session: Session, filters: ActionFilters, viewer: User) -> ActionPage:
    """One page of the actions ``viewer`` may see, newest first, with owners (two queries)."""
    stmt = select(ImprovementAction)
    condition = visible_condition(viewer)
    if condition is not None:
        stmt = stmt.where(condition)
    found, total = listing.fetch(session, stmt, filters,
                                 order_by=(ImprovementAction.created_at.desc(), ImprovementAction.id.desc()))
    names = _names(session, {a.owner_id for a in found if a.owner_id is not None})
    day = utcnow().date()
    rows = [Row(a, names.get(a.owner_id, "") if a.owner_id is not None else "", is_overdue(a, day)) for a in found]
    return ActionPage(rows, total, filters)


# --- the "new action" form ---------------------------------------------------------------------------------

#: The ids an address may carry to start an action from an item, and the origin each gives.
START_FROM: dict[str, ActionOrigin] = {"clip_id": ActionOrigin.CLIP, "complaint_id": ActionOrigin.COMPLAINT,
                                       "register_entry_id": ActionOrigin.REGISTER, "alert_id": ActionOrigin.ALERT,
                                       "call_id": ActionOrigin.MANUAL}


def _id(raw: str) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def start_from(session: Session, actor: User, args: Mapping[str, str]) -> dict[str, str]:
    """The new action form's values when it starts from an item (``?clip_id=4``), a dashboard number
    (``?origin=dashboard&topic=delays``) or nothing: origin, title, topic, reason, product, origin_query and
    the item's id. An item of another company is :class:`NotFound`."""
    form = {"origin": ActionOrigin.MANUAL.value, "title": "", "topic": "", "reason": "", "product": "",
            "origin_query": (args.get("origin_query") or "")[:500]}
    for key in ("topic", "reason"):
        value = args.get(key, "")
        form[key] = value if listing.Tag("", LabelKind.TOPIC).parse(key, args) else ""
    form["product"] = listing.words(args.get("product", ""), 120)
    if args.get("origin") == ActionOrigin.DASHBOARD.value:
        form["origin"] = ActionOrigin.DASHBOARD.value
    for column, origin in START_FROM.items():
        item_id = _id(args.get(column, ""))
        if item_id is None:
            continue
        item = _own(session, actor, LINK_KINDS[column], item_id)
        form[column] = str(item_id)
        form["origin"] = origin.value
        _prefill(form, item)
        break
    return form


def _prefill(form: dict[str, str], item: Any) -> None:
    """What an item says of the subject and a title to start from."""
    if isinstance(item, Clip):
        form["title"] = str(_("Act on “%(title)s”", title=item.title))[:TITLE_MAX]
        form["topic"] = form["topic"] or item.topic
    elif isinstance(item, RegisterEntry):
        form["title"] = str(_("Act on %(reference)s", reference=item.reference))
        form["product"] = form["product"] or item.product
        form["reason"] = form["reason"] or (item.reasons[0] if item.reasons else "")
    elif isinstance(item, Alert):
        field = {Dimension.PRODUCT: "product", Dimension.TOPIC: "topic", Dimension.REASON: "reason"}.get(
            item.dimension)
        if field:
            form[field] = form[field] or item.value
    elif isinstance(item, Call | Complaint):
        form["product"] = form["product"] or item.product


@dataclass(frozen=True)
class Draft:
    """What the new action form posted, read."""

    fields: dict[str, Any]


def read_form(form: Mapping[str, str]) -> Draft:
    """The new action form's fields as :func:`propose`'s arguments (a :class:`UserError` for a bad date)."""
    origin = form.get("origin", ActionOrigin.MANUAL.value)
    fields: dict[str, Any] = {
        "title": form.get("title", ""), "problem": form.get("problem", ""),
        "origin": origin if origin in tuple(ActionOrigin) else ActionOrigin.MANUAL.value,
        "topic": form.get("topic", ""), "reason": form.get("reason", ""), "product": form.get("product", ""),
        "origin_query": form.get("origin_query", ""), "owner_id": _id(form.get("owner_id", "")),
        "due_on": read_day(form.get("due_on", ""))}
    for column in START_FROM:
        item_id = _id(form.get(column, ""))
        if item_id is not None:
            fields[column] = item_id
    return Draft(fields)


def read_day(raw: str) -> date | None:
    """A due date typed as YYYY-MM-DD; None when empty, :class:`UserError` when it is not a date."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise UserError(_("The due date is not a date."), "action_due") from None
    if not listing.FIRST_DAY <= day <= listing.LAST_DAY:
        raise UserError(_("The due date is not a date."), "action_due")
    return day


def read_id(raw: str) -> int | None:
    """An id (a person's, a version) from a form; None when it is empty or not one."""
    return _id(raw)


def today() -> date:
    return utcnow().date()
