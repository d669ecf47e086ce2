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
  comments on it. Verifying (which needs the evidence read by a quality manager or admin), rejecting,
  reopening and reassigning stay with the managers.
- Staff propose actions (from a reaction in the room, or from a workshop's decisions, through
  :func:`propose`) and see the actions they proposed or own, and comment on them.
- Platform admins work in no company's actions.

**Journal.** Proposing, status changes, owner and due date changes are journalled on ``action:<id>``
with the origin, statuses, link kinds and ids: never the title, the problem or a comment, which are
people's own words and may name a customer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import (
    ActionEvent,
    ActionLink,
    ActionOrigin,
    ActionStatus,
    Alert,
    Call,
    Clip,
    Complaint,
    ImprovementAction,
    Reaction,
    RegisterEntry,
    User,
    Workshop,
)
from webapp.services import audit

#: Longest title, problem, comment and rejection reason (the title's is the column's).
TITLE_MAX = 200
TEXT_MAX = 5000

PROPOSED = "action.proposed"

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
          **detail: Any) -> ActionEvent:
    """Add one line to the action's timeline."""
    line = ActionEvent(tenant_id=action.tenant_id, action_id=action.id, actor_id=actor.id if actor else None,
                       at=utcnow(), kind=kind, comment=comment, detail=detail)
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
        product=_line(product, str(_("Product")), 120), origin_query=(origin_query or "").strip()[:500],
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
    event(session, action, actor, "status", to=ActionStatus.PROPOSED.value, origin=action.origin.value)
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action=PROPOSED, target=f"action:{action.id}",
                 origin=action.origin.value,
                 links={column.removesuffix("_id"): item_id for column, item_id in links.items()},
                 **({"workshop": action.workshop_id} if action.workshop_id else {}),
                 **({"owner": action.owner_id} if action.owner_id else {}))
    session.flush()
    return action


def _owner(session: Session, actor: User, owner_id: int) -> User:
    """An active person of the actor's company who can own an action."""
    owner = session.get(User, owner_id)
    if owner is None or owner.tenant_id != actor.tenant_id or not owner.is_active:
        raise UserError(_("Choose an owner from the list."), "action_owner")
    return owner
