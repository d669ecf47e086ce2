"""Reactions from the room, and room check-ins (issue #16, items 3 and 6).

**Reactions.** A person beside a screen (or in a workshop) scans a clip's QR code and says what
they felt: *Je comprends*, *Ça me touche* or *Il faut agir*, with an optional comment. Only an
approved clip of the person's own company can be reacted to; anything else is :class:`NotFound`,
the same answer as a missing clip. One reaction of each kind per person, clip and day (in the
company's time zone) is enough: a repeat (a double tap, a second scan) updates the comment of the
first instead of counting twice; the database holds it to that (a unique index per place, migration
0019), so two requests at the same moment record one reaction too. Reactions in a workshop are kept
apart from those in the room: the workshop's summary lists its own. Each new reaction is journalled
(``reaction.recorded``, on the clip) with its kind and where it was given, never its comment, which is
the person's own words.
*Il faut agir* proposes an improvement action linked to the clip and the reaction (:func:`act_on`).

**Room check-ins** credit listening time in the customer room as a :class:`Listen` with
``source=room``. The screen cannot tell who stands in front of it, so the time is the person's own,
bounded by the clock: scanning the screen's check-in code opens a *visit* (a ``Listen`` of 0
seconds, its ``at`` the check-in time); when leaving, the person says how many minutes they
listened, and the visit is credited ``min(what they say, the time since they checked in,
60 minutes)``. A visit nobody closes counts nothing: we do not guess. While a visit is open, a
second scan (of any screen) shows that visit rather than opening another, so a double scan is
harmless. A visit can be closed up to :data:`VISIT_OPEN_FOR` after the check-in, no later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import AppError, NotFound, UserError
from webapp.i18n import _, _l
from webapp.models import (
    ActionLink,
    ActionOrigin,
    Clip,
    ClipStatus,
    ImprovementAction,
    Kiosk,
    Label,
    LabelKind,
    Listen,
    ListenSource,
    Reaction,
    ReactionKind,
    Tenant,
    User,
    Workshop,
)
from webapp.services import actions, audit

#: What a person felt, as the phone page's buttons say it.
KIND_LABELS = {
    ReactionKind.UNDERSTAND: _l("I understand"),
    ReactionKind.TOUCHED: _l("This touches me"),
    ReactionKind.ACT: _l("We must act"),
}
#: What the comment may hold: a sentence or two from a phone.
COMMENT_MAX = 1000
#: The clip page shows this many comments, the newest.
COMMENTS_SHOWN = 200
#: The most a room visit is credited.
VISIT_CAP = timedelta(minutes=60)
#: How long after checking in a visit can still be closed (and a scan shows it instead of a new one).
VISIT_OPEN_FOR = timedelta(hours=12)


def _company_day(session: Session, tenant_id: int, at: datetime) -> date:
    """The day ``at`` falls on in the company's time zone (Europe/Paris when it names none that exists)."""
    tenant = session.get(Tenant, tenant_id)
    try:
        zone = ZoneInfo(tenant.timezone if tenant is not None and tenant.timezone else "Europe/Paris")
    except (ValueError, KeyError):
        zone = ZoneInfo("Europe/Paris")
    return at.astimezone(zone).date()


class NotReactable(NotFound):
    """A clip nobody can react to: missing, not approved (any more), or another company's, all alike."""

    def __init__(self) -> None:
        AppError.__init__(self, _l("This clip is not played in your company's customer room, or no longer is: "
                                   "there is nothing to react to here."))


def reactable_clip(session: Session, user: User, clip_id: int) -> Clip:
    """The approved clip ``clip_id`` of ``user``'s company; :class:`NotReactable` (a :class:`NotFound`)
    for any other (missing, draft, retired, or another company's: the same answer)."""
    clip = session.get(Clip, clip_id)
    if clip is None or clip.tenant_id != user.tenant_id or clip.status != ClipStatus.APPROVED:
        raise NotReactable()
    return clip


def topic_name(session: Session, clip: Clip, locale: str) -> str:
    """The name of ``clip``'s topic in ``locale`` ("" when it has none)."""
    if not clip.topic:
        return ""
    label = session.scalar(select(Label).where(Label.kind == LabelKind.TOPIC, Label.key == clip.topic))
    return label.label(locale) if label is not None else ""


def latest_own(session: Session, user: User, clip: Clip) -> Reaction | None:
    """``user``'s latest reaction to ``clip`` (what the confirmation page shows), if any."""
    return session.scalar(select(Reaction).where(Reaction.clip_id == clip.id, Reaction.user_id == user.id)
                          .order_by(Reaction.created_at.desc(), Reaction.id.desc()).limit(1))


def screen_of(session: Session, user: User, kiosk_id: int | None) -> Kiosk | None:
    """The company's screen ``kiosk_id``, or None when none is named or it is not the company's
    (a screen id is a hint of where the person stands, never a reason to refuse)."""
    if kiosk_id is None:
        return None
    kiosk = session.get(Kiosk, kiosk_id)
    return kiosk if kiosk is not None and kiosk.tenant_id == user.tenant_id else None


def record(session: Session, user: User, *, clip_id: int, kind: ReactionKind | str, comment: str = "",
           kiosk_id: int | None = None, workshop_id: int | None = None) -> Reaction:
    """Record ``user``'s reaction of ``kind`` to clip ``clip_id``; returns it (new or updated).

    The clip must be an approved clip of the user's company (else :class:`NotFound`), and so must the
    workshop when one is named; a screen that is not the company's is ignored. A second reaction of the
    same kind to the same clip on the same company day (in the room, or in the same workshop) updates
    the first one's comment when a comment is given, and counts once. A :class:`UserError` for an
    unknown kind or a comment over :data:`COMMENT_MAX` characters. Journals new reactions
    (``reaction.recorded``) without the comment.
    """
    try:
        kind = ReactionKind(kind)
    except ValueError:
        raise UserError(_("Choose one of the three reactions."), "reaction_kind") from None
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise UserError(_("The comment is too long: %(max)d characters at most.", max=COMMENT_MAX),
                        "reaction_comment")
    clip = reactable_clip(session, user, clip_id)
    if workshop_id is not None:
        workshop = session.get(Workshop, workshop_id)
        if workshop is None or workshop.tenant_id != user.tenant_id:
            raise NotFound()
    screen = screen_of(session, user, kiosk_id)
    day = _company_day(session, user.tenant_id, utcnow())
    reaction = _of_the_day(session, user, clip, kind, day, workshop_id)
    if reaction is None:
        reaction = Reaction(clip_id=clip.id, user_id=user.id, kind=kind, comment=comment, day=day,
                            kiosk_id=screen.id if screen is not None else None, workshop_id=workshop_id)
        try:
            with session.begin_nested():  # the unique index turns a simultaneous twin into an error here
                session.add(reaction)
        except IntegrityError:
            # Another request recorded it since we looked (and has committed): update that one instead.
            reaction = _of_the_day(session, user, clip, kind, day, workshop_id)
            if reaction is None:
                raise
        else:
            audit.record(session, tenant_id=user.tenant_id, actor=user, action="reaction.recorded",
                         target=f"clip:{clip.id}", reaction=reaction.id, kind=str(kind), kiosk=reaction.kiosk_id,
                         workshop=workshop_id)
            return reaction
    if comment:
        reaction.comment = comment
    if reaction.kiosk_id is None and screen is not None:
        reaction.kiosk_id = screen.id
    return reaction


def _of_the_day(session: Session, user: User, clip: Clip, kind: ReactionKind, day: date,
                workshop_id: int | None) -> Reaction | None:
    """``user``'s reaction of ``kind`` to ``clip`` on the company day ``day``, in the room or in the
    workshop ``workshop_id`` (at most one: the unique indexes of migration 0019)."""
    return session.scalar(select(Reaction).where(
        Reaction.clip_id == clip.id, Reaction.user_id == user.id, Reaction.kind == kind, Reaction.day == day,
        Reaction.workshop_id.is_(None) if workshop_id is None else Reaction.workshop_id == workshop_id).limit(1))


def action_of(session: Session, reaction: Reaction) -> ImprovementAction | None:
    """The improvement action proposed from ``reaction``, if one was."""
    return session.scalar(select(ImprovementAction).join(ActionLink, ActionLink.action_id == ImprovementAction.id)
                          .where(ActionLink.reaction_id == reaction.id).limit(1))


def act_on(session: Session, user: User, reaction: Reaction) -> ImprovementAction | None:
    """For an *Il faut agir* reaction, propose an improvement action linked to its clip and to it
    (once: a repeat returns the action already proposed); None for the other kinds."""
    if reaction.kind != ReactionKind.ACT:
        return None
    existing = action_of(session, reaction)
    if existing is not None:
        return existing
    clip = session.get(Clip, reaction.clip_id)
    title = clip.title if clip is not None else ""
    return actions.propose(
        session, user, title=str(_("Act on the clip %(title)s", title=title))[:200], problem=reaction.comment,
        origin=ActionOrigin.REACTION, topic=clip.topic if clip is not None else "",
        clip_id=reaction.clip_id, reaction_id=reaction.id, workshop_id=reaction.workshop_id)


@dataclass(frozen=True)
class ClipReactions:
    """What the room felt about one clip: counts by kind, and the comments, newest first."""

    counts: dict[ReactionKind, int]
    #: (when, kind, comment, who) with ``who`` None unless names may be shown.
    comments: list[tuple[datetime, ReactionKind, str, str | None]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def of_clip(session: Session, clip: Clip, *, with_names: bool) -> ClipReactions:
    """The reactions to ``clip``: counts by kind and the latest :data:`COMMENTS_SHOWN` comments, newest
    first, with their authors' names when ``with_names`` (three queries at most)."""
    counts = Counter({kind: 0 for kind in ReactionKind})
    for kind, n in session.execute(select(Reaction.kind, func.count()).where(Reaction.clip_id == clip.id)
                                   .group_by(Reaction.kind)):
        counts[ReactionKind(kind)] = n
    reactions = list(session.scalars(select(Reaction).where(Reaction.clip_id == clip.id, Reaction.comment != "")
                                     .order_by(Reaction.created_at.desc(), Reaction.id.desc()).limit(COMMENTS_SHOWN)))
    names: dict[int, str] = {}
    if with_names:
        ids = {r.user_id for r in reactions if r.user_id is not None}
        if ids:
            names = {u.id: u.name or u.email for u in session.scalars(select(User).where(User.id.in_(ids)))}
    return ClipReactions(dict(counts), [(r.created_at, r.kind, r.comment,
                                         names.get(r.user_id) if with_names and r.user_id is not None else None)
                                        for r in reactions])


def counts_by_clip(session: Session, clip_ids: list[int]) -> dict[int, int]:
    """How many reactions each of ``clip_ids`` received, in one query (absent: none)."""
    if not clip_ids:
        return {}
    return {clip_id: n for clip_id, n in session.execute(
        select(Reaction.clip_id, func.count()).where(Reaction.clip_id.in_(clip_ids)).group_by(Reaction.clip_id))}


def open_visit(session: Session, user: User) -> Listen | None:
    """``user``'s room visit still open (checked in, not yet checked out), if any."""
    return session.scalar(select(Listen).where(Listen.user_id == user.id, Listen.source == ListenSource.ROOM,
                                               Listen.seconds == 0, Listen.at > utcnow() - VISIT_OPEN_FOR)
                          .order_by(Listen.at.desc(), Listen.id.desc()).limit(1))


def check_in(session: Session, user: User, kiosk: Kiosk) -> Listen:
    """Open a room visit for ``user`` beside ``kiosk`` (one of their company's screens); while a visit
    is open it is returned instead (a double scan opens nothing). Journalled as ``room.checked_in``."""
    if kiosk.tenant_id != user.tenant_id:
        raise NotFound()
    visit = open_visit(session, user)
    if visit is not None:
        return visit
    visit = Listen(user_id=user.id, source=ListenSource.ROOM, kiosk_id=kiosk.id, at=utcnow(), seconds=0.0)
    session.add(visit)
    session.flush()
    audit.record(session, tenant_id=user.tenant_id, actor=user, action="room.checked_in", target=f"kiosk:{kiosk.id}")
    return visit


def visit_credit(visit: Listen, minutes: int, now: datetime) -> float:
    """The seconds a visit is credited when its person says they listened ``minutes``: never more than
    the time since they checked in, nor :data:`VISIT_CAP`."""
    elapsed = max(0.0, (now - visit.at).total_seconds())
    return float(min(max(0, minutes) * 60, elapsed, VISIT_CAP.total_seconds()))


def minutes_since(visit: Listen) -> int:
    """Whole minutes since ``visit``'s check-in (what the check-out form suggests, capped)."""
    elapsed = (utcnow() - visit.at).total_seconds()
    return int(min(max(0.0, elapsed), VISIT_CAP.total_seconds()) // 60)


def _minutes(typed: int | str) -> int:
    try:
        minutes = int(str(typed).strip())
    except ValueError:
        minutes = -1
    if not 0 <= minutes <= 24 * 60:
        raise UserError(_("Say how many minutes you listened, as a whole number such as 15."), "visit_minutes")
    return minutes


def check_out(session: Session, user: User, minutes: int | str) -> float:
    """Close ``user``'s open room visit, crediting what :func:`visit_credit` allows for the ``minutes``
    they say (a whole number, as typed); returns the seconds credited. A visit credited nothing is
    removed (nothing was heard). :class:`UserError` for minutes that are not a whole number from 0 to
    1,440, or when no visit is open. Journalled as ``room.checked_out`` with the minutes credited."""
    minutes = _minutes(minutes)
    visit = open_visit(session, user)
    if visit is None:
        raise UserError(_("You are not checked in beside a screen. Scan the screen's code to check in."),
                        "no_visit")
    seconds = visit_credit(visit, minutes, utcnow())
    if seconds <= 0:
        session.delete(visit)
    else:
        visit.seconds = seconds
    audit.record(session, tenant_id=user.tenant_id, actor=user, action="room.checked_out",
                 target=f"kiosk:{visit.kiosk_id}" if visit.kiosk_id is not None else "", minutes=round(seconds / 60, 1))
    return seconds
