"""Listening workshops (issue #16, item 5): plan, run, and what came out of one.

**Before.** A quality manager or admin plans a workshop (:func:`plan`): a title, a date and time
in the company's time zone (``Tenant.timezone``), a playlist, the pause between clips, and
invitees by person and by department. Each invited person (named, or active in an invited
department) is sent an invitation mail, queued in the same transaction (``workshop_invitation``).

**During.** Starting it (:func:`start`) keeps its run: the playlist's playable clips in play order
(:class:`WorkshopClip`), so that editing the playlist afterwards changes neither what is played nor the
summary. The facilitator screen plays the run's clips one by one with the pause between them; its script
tells the server which clip is on (:func:`advance`), so that the phones show it. The screen shows a QR
code of the workshop's check-in address, which holds ``Workshop.checkin_code``: a logged-in person of
the same company who opens it is checked in (:func:`check_in`, once: a second scan changes nothing) and
reacts from their phone to the clip now playing (webapp/services/reactions.py ``record`` with the
workshop's id). The facilitator records decisions (:func:`decide`); each one is an improvement action
proposed with ``origin=workshop`` (webapp/services/actions.py ``propose``). An *Il faut agir* from a
phone in a workshop is a reaction like the others: the workshop's decisions are the facilitator's to
record.

**After.** Ending (:func:`end`) credits each attendee's listening time, once, as a
:class:`Listen` with ``source=workshop``: the length of the clips played (every clip up to the
one the screen was on when it ended), capped by the time the workshop really ran (from start to
end), since nobody hears more than the room played. The summary (:func:`summary`) lists who
attended, the clips played, the reactions (counts and comments) and the actions; its PDF is made
by the worker (``workshop_pdf``, worker/handlers/workshop_pdf.py), never in a request (STYLE §11).
Planning, starting, check-ins, decisions and ending are journalled (``workshop.*``).
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import segno
from babel.dates import format_datetime
from markupsafe import Markup
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from webapp import jobs, mail, storage
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _, _l
from webapp.models import (
    ActionOrigin,
    Clip,
    ImprovementAction,
    Listen,
    ListenSource,
    Playlist,
    Reaction,
    ReactionKind,
    Role,
    Tenant,
    User,
    UserStatus,
    Workshop,
    WorkshopAttendance,
    WorkshopClip,
    WorkshopInvite,
    WorkshopStatus,
)
from webapp.services import audit, listening, listing, playlists

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

#: Who plans and runs workshops.
MANAGERS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER)
#: Who may check in and react.
PARTICIPANTS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)
WORKSHOP_PDF = "workshop_pdf"
INVITATION = "workshop_invitation"
TITLE_MAX = 200
#: The pause between clips may be set between these (seconds).
PAUSE_MIN, PAUSE_MAX = 0, 600
#: Invitations by person and by department a form may hold.
INVITES_MAX = 500
#: A PDF job's file is offered for this long (as review packs').
PDF_KEEP = timedelta(days=1)
#: How far back the daily purge looks for PDFs past their time (as review packs').
PURGE_LOOKBACK = timedelta(days=30)
#: The three reactions, as the phone's buttons and the summary's columns name them.
REACTION_LABELS = {ReactionKind.UNDERSTAND: _l("I understand"), ReactionKind.TOUCHED: _l("It moves me"),
                   ReactionKind.ACT: _l("We must act")}


# --- before: planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the planning form sends."""

    title: str = ""
    day: str = ""
    time: str = ""
    playlist_id: str = ""
    pause: str = "15"
    user_ids: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> Draft:
        """Read the form: ``invitees`` and ``departments`` are repeated."""
        getlist = form.getlist
        return cls(title=form.get("title", ""), day=form.get("day", ""), time=form.get("time", ""),
                   playlist_id=form.get("playlist_id", ""), pause=form.get("pause", "15"),
                   user_ids=tuple(getlist("invitees"))[:INVITES_MAX],
                   departments=tuple(getlist("departments"))[:INVITES_MAX])


def zone_of(session: Session, tenant_id: int) -> ZoneInfo:
    """The company's time zone (Europe/Paris when it names none that exists)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound()
    return listening.zone_of(tenant)


def _starts_at(session: Session, tenant_id: int, day: str, at: str) -> datetime:
    try:
        local_day = date.fromisoformat(day.strip())
        local_time = time.fromisoformat(at.strip()) if re.fullmatch(r"\d{2}:\d{2}", at.strip()) else None
    except ValueError:
        local_day, local_time = None, None
    if local_day is None or local_time is None or not 2000 <= local_day.year <= 2999:
        raise UserError(_("Give the workshop's date and time, for example 2026-12-10 and 14:00."), "workshop_when")
    zone = zone_of(session, tenant_id)
    return datetime.combine(local_day, local_time, tzinfo=zone).astimezone(UTC)


def plan(session: Session, actor: User, draft: Draft) -> Workshop:
    """Plan a workshop from ``draft`` and queue an invitation mail to each person invited (by name or
    through their department), once each. :class:`UserError` for a missing title, date or playlist,
    an unknown playlist or invitee, or a pause out of range. Journals ``workshop.planned``."""
    title = " ".join(draft.title.split())[:TITLE_MAX]
    if not title:
        raise UserError(_("Give the workshop a title."), "workshop_title")
    starts_at = _starts_at(session, actor.tenant_id, draft.day, draft.time)
    playlist = session.get(Playlist, int(draft.playlist_id)) if draft.playlist_id.isdigit() else None
    if playlist is None:
        raise UserError(_("Choose the playlist the workshop will listen to."), "workshop_playlist")
    try:
        pause = int(draft.pause or 0)
    except ValueError:
        pause = -1
    if not PAUSE_MIN <= pause <= PAUSE_MAX:
        raise UserError(_("The pause between clips is between %(min)d and %(max)d seconds.", min=PAUSE_MIN,
                          max=PAUSE_MAX), "workshop_pause")
    wanted = {int(raw) for raw in draft.user_ids if raw.isdigit()}
    people = list(session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
    if len(people) != len(wanted) or any(p.status == UserStatus.DEACTIVATED for p in people):
        raise UserError(_("One of the people invited is not in the company any more. Choose again."),
                        "workshop_invitee")
    departments = sorted({" ".join(d.split())[:120] for d in draft.departments if d.strip()})
    workshop = Workshop(title=title, starts_at=starts_at, playlist_id=playlist.id, pause_seconds=pause,
                        checkin_code=secrets.token_urlsafe(24), facilitator_id=actor.id, created_by_id=actor.id)
    session.add(workshop)
    session.flush()
    session.add_all([WorkshopInvite(workshop_id=workshop.id, user_id=p.id) for p in people])
    session.add_all([WorkshopInvite(workshop_id=workshop.id, department=d) for d in departments])
    invited = _invited_people(session, people, departments)
    zone = zone_of(session, actor.tenant_id)
    local = starts_at.astimezone(zone)
    for person in invited:
        mail.queue_mail(session, tenant_id=actor.tenant_id, user_id=person.id, template=INVITATION,
                        once=f"workshop:{workshop.id}",
                        context={"title": title, "day": local.date().isoformat(), "time": local.strftime("%H:%M"),
                                 "timezone": str(zone), "organiser": actor.name or actor.email,
                                 "path": f"/workshops/{workshop.id}/phone"})
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="workshop.planned",
                 target=f"workshop:{workshop.id}", title=title, invited=len(invited), departments=len(departments))
    session.flush()
    return workshop


def _invited_people(session: Session, people: Sequence[User], departments: Sequence[str]) -> list[User]:
    """The active and invited-but-not-joined people named, and the active people of ``departments``, once each."""
    found = {p.id: p for p in people if p.status != UserStatus.DEACTIVATED}
    if departments:
        for person in session.scalars(select(User).where(User.department.in_(departments),
                                                         User.status == UserStatus.ACTIVE)):
            found.setdefault(person.id, person)
    return sorted(found.values(), key=lambda p: p.id)


@dataclass(frozen=True)
class Choices:
    """What the planning form offers."""

    playlists: list[Playlist]
    people: list[User]
    departments: list[str]


def choices(session: Session) -> Choices:
    """The company's playlists, people (not deactivated) and departments, by name (three queries)."""
    return Choices(
        list(session.scalars(select(Playlist).order_by(Playlist.name))),
        list(session.scalars(select(User).where(User.status != UserStatus.DEACTIVATED)
                             .order_by(User.name, User.email))),
        [d for d in session.scalars(select(User.department).where(User.department != "").distinct()
                                    .order_by(User.department))])


# --- the list --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopFilters(listing.Filters):
    """The workshops list's filters: words of the title, the status, the date."""

    q: str = listing.text(_l("Title"), 100, search=True)
    status: str = listing.choice(_l("Status"), WorkshopStatus, labels="workshop_status")
    when: listing.DayRange = listing.dates(_l("From"), _l("to"))

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.q:
            yield Workshop.title.ilike(listing.contains(self.q), escape="\\")
        if self.status:
            yield Workshop.status == self.status
        yield from self.when.conditions(Workshop.starts_at)


@dataclass(frozen=True)
class WorkshopRow:
    workshop: Workshop
    when: str
    playlist: str
    attendees: int


WorkshopPage = listing.Page[WorkshopRow, WorkshopFilters]


def list_workshops(session: Session, filters: WorkshopFilters, locale: str = "en") -> WorkshopPage:
    """One page of the company's workshops, the latest date first, with their playlist's name and how many
    attended (four queries, whatever the page size)."""
    found, total = listing.fetch(session, select(Workshop), filters,
                                 order_by=(Workshop.starts_at.desc(), Workshop.id.desc()))
    ids = [w.id for w in found]
    counts: dict[int, int] = {}
    names: dict[int, str] = {}
    if ids:
        counts = {wid: n for wid, n in session.execute(
            select(WorkshopAttendance.workshop_id, func.count()).where(WorkshopAttendance.workshop_id.in_(ids))
            .group_by(WorkshopAttendance.workshop_id))}
        names = {pid: name for pid, name in session.execute(select(Playlist.id, Playlist.name).where(
            Playlist.id.in_({w.playlist_id for w in found if w.playlist_id is not None})))}
    zone = zone_of(session, found[0].tenant_id) if found else None
    rows = [WorkshopRow(w, when(w, zone, locale) if zone else "", names.get(w.playlist_id or 0, ""),
                        counts.get(w.id, 0)) for w in found]
    return WorkshopPage(rows, total, filters)


def when(workshop: Workshop, zone: ZoneInfo, locale: str) -> str:
    """When the workshop starts, in the company's time zone and the reader's language."""
    return str(format_datetime(workshop.starts_at, "medium", tzinfo=zone, locale=locale))


# --- one workshop ----------------------------------------------------------------------------------


def get_workshop(session: Session, workshop_id: int) -> Workshop:
    """The company's workshop ``workshop_id``; :class:`NotFound` for a missing one (or another company's)."""
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        raise NotFound()
    return workshop


@dataclass(frozen=True)
class Invitees:
    people: list[User]
    departments: list[str]


def invitees(session: Session, workshop: Workshop) -> Invitees:
    """Who was invited: the people named, and the departments (two queries)."""
    invites = list(session.scalars(select(WorkshopInvite).where(WorkshopInvite.workshop_id == workshop.id)))
    ids = [i.user_id for i in invites if i.user_id is not None]
    people = list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name, User.email))) if ids else []
    return Invitees(people, sorted(i.department for i in invites if i.department))


def clips_of(session: Session, workshop: Workshop) -> list[Clip]:
    """The clips the workshop plays, in play order. Once started, its run (:class:`WorkshopClip`: the
    playlist's playable clips when it started), less any that may no longer play (consent withdrawn,
    retired) or were erased: editing the playlist changes nothing. Before it starts, and for a
    workshop started before runs were kept (``run_kept``), its playlist's playable clips (none
    without a playlist)."""
    if workshop.run_kept:
        run = session.scalars(select(Clip).join(WorkshopClip, WorkshopClip.clip_id == Clip.id)
                              .where(WorkshopClip.workshop_id == workshop.id).order_by(WorkshopClip.position))
        return [clip for clip in run if clip.is_playable]
    playlist = session.get(Playlist, workshop.playlist_id) if workshop.playlist_id is not None else None
    return playlists.playable(playlist) if playlist is not None else []


def playable_clip(session: Session, workshop: Workshop, clip_id: int) -> Clip:
    """One of the clips the workshop plays; :class:`NotFound` for any other."""
    for clip in clips_of(session, workshop):
        if clip.id == clip_id:
            return clip
    raise NotFound()


def now_playing(session: Session, workshop: Workshop) -> Clip | None:
    """The clip the facilitator screen is on, while the workshop runs (None before, after, or past the end)."""
    if workshop.status != WorkshopStatus.RUNNING:
        return None
    clips = clips_of(session, workshop)
    return clips[workshop.position] if 0 <= workshop.position < len(clips) else None


def attendees(session: Session, workshop: Workshop) -> list[tuple[User, datetime]]:
    """Who checked in, and when, in check-in order (one query)."""
    return [(user, at) for user, at in session.execute(
        select(User, WorkshopAttendance.checked_in_at).join(WorkshopAttendance, WorkshopAttendance.user_id == User.id)
        .where(WorkshopAttendance.workshop_id == workshop.id)
        .order_by(WorkshopAttendance.checked_in_at, WorkshopAttendance.id))]


def has_attended(session: Session, user: User, workshop: Workshop) -> bool:
    return session.scalar(select(WorkshopAttendance.id).where(WorkshopAttendance.workshop_id == workshop.id,
                                                              WorkshopAttendance.user_id == user.id)) is not None


# --- during ----------------------------------------------------------------------------------------


def start(session: Session, actor: User, workshop: Workshop) -> None:
    """Start a planned workshop: the screen's first clip, ``started_at`` now; journals ``workshop.started``.
    Starting one that runs changes nothing; :class:`UserError` for one that has ended."""
    if workshop.status == WorkshopStatus.RUNNING:
        return
    if workshop.status == WorkshopStatus.ENDED:
        raise UserError(_("This workshop has ended: its summary is ready."), "workshop_ended")
    session.add_all([WorkshopClip(workshop_id=workshop.id, clip_id=clip.id, position=position)
                     for position, clip in enumerate(clips_of(session, workshop))])
    workshop.run_kept = True
    workshop.status = WorkshopStatus.RUNNING
    workshop.started_at = utcnow()
    workshop.position = 0
    workshop.facilitator_id = actor.id
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="workshop.started",
                 target=f"workshop:{workshop.id}")


def advance(session: Session, workshop: Workshop, position: int) -> Clip | None:
    """The facilitator screen is on the clip at ``position`` (in play order) of a running workshop; the
    clip, or None when the position is past the last (nothing changes then, nor for a workshop not running)."""
    clips = clips_of(session, workshop)
    if workshop.status != WorkshopStatus.RUNNING or not 0 <= position < len(clips):
        return None
    workshop.position = position
    return clips[position]


def check_in(session: Session, user: User, code: str) -> Workshop:
    """Check ``user`` in to the workshop whose check-in code is ``code``, once (a second scan changes
    nothing). The code must be one of the person's company's workshops, else :class:`NotFound` (another
    company's code behaves as a wrong one); :class:`UserError` once the workshop has ended. Journals
    ``workshop.checked_in`` the first time."""
    workshop = session.scalar(select(Workshop).where(Workshop.checkin_code == code[:64])) if code else None
    if workshop is None or workshop.tenant_id != user.tenant_id:
        raise NotFound()
    if workshop.status == WorkshopStatus.ENDED:
        raise UserError(_("This workshop has ended: checking in is closed."), "workshop_ended")
    if has_attended(session, user, workshop):
        return workshop
    try:
        with session.begin_nested():  # a second scan at the same moment meets the unique constraint here
            session.add(WorkshopAttendance(workshop_id=workshop.id, user_id=user.id))
    except IntegrityError:
        if has_attended(session, user, workshop):  # the other scan checked them in (and is journalled)
            return workshop
        raise
    audit.record(session, tenant_id=user.tenant_id, actor=user, action="workshop.checked_in",
                 target=f"workshop:{workshop.id}")
    return workshop


def react(session: Session, user: User, workshop: Workshop, *, clip_id: int, kind: str, comment: str = "") -> Reaction:
    """``user``'s reaction to a clip of the workshop, from their phone (webapp/services/reactions.py
    ``record``). :class:`UserError` when the person has not checked in, the workshop is not running or
    the clip is not one it plays."""
    from webapp.services import reactions  # lane R's module (issue #16); imported late: it may land after this one

    if not has_attended(session, user, workshop):
        raise UserError(_("Check in first: scan the QR code the workshop's screen shows."), "workshop_not_checked_in")
    if workshop.status != WorkshopStatus.RUNNING:
        raise UserError(_("The workshop is not running: reactions are taken while it plays."),
                        "workshop_not_running")
    if all(clip.id != clip_id for clip in clips_of(session, workshop)):
        raise UserError(_("No clip is playing: react when the next one starts."), "workshop_no_clip")
    return reactions.record(session, user, clip_id=clip_id, kind=kind, comment=comment, workshop_id=workshop.id)


def decide(session: Session, actor: User, workshop: Workshop, *, title: str, problem: str = "",
           clip_id: int | None = None) -> ImprovementAction:
    """A decision of the workshop, as an improvement action proposed with ``origin=workshop`` (linked to
    the clip it is about, if one). :class:`UserError` without a title or once the workshop has ended."""
    from webapp.services import actions  # lane X's module (issue #16); imported late: it may land after this one

    title = " ".join(title.split())[:TITLE_MAX]
    if not title:
        raise UserError(_("Say what was decided, in a few words."), "decision_title")
    if workshop.status == WorkshopStatus.ENDED:
        raise UserError(_("This workshop has ended: its summary is ready."), "workshop_ended")
    clip = playable_clip(session, workshop, clip_id) if clip_id is not None else None
    action = actions.propose(session, actor, title=title, problem=problem.strip(), origin=ActionOrigin.WORKSHOP,
                             topic=clip.topic if clip is not None else "", workshop_id=workshop.id,
                             clip_id=clip.id if clip is not None else None)
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="workshop.decided",
                 target=f"workshop:{workshop.id}", action_id=action.id)
    return action


def decisions(session: Session, workshop: Workshop) -> list[ImprovementAction]:
    """The actions the workshop decided, in the order recorded (one query)."""
    return list(session.scalars(select(ImprovementAction).where(ImprovementAction.workshop_id == workshop.id)
                                .order_by(ImprovementAction.created_at, ImprovementAction.id)))


# --- after -----------------------------------------------------------------------------------------


def clips_played(session: Session, workshop: Workshop) -> list[Clip]:
    """The clips played: every clip up to the one the screen was on (none if the workshop never started)."""
    if workshop.started_at is None:
        return []
    return clips_of(session, workshop)[:workshop.position + 1]


def listened_seconds(session: Session, workshop: Workshop) -> float:
    """What a workshop credits each attendee: the length of the clips played, capped by the time it ran."""
    heard = sum(clip.duration_s for clip in clips_played(session, workshop))
    if workshop.started_at is not None and workshop.ended_at is not None:
        heard = min(heard, max(0.0, (workshop.ended_at - workshop.started_at).total_seconds()))
    return round(heard, 2)


def end(session: Session, actor: User, workshop: Workshop) -> int:
    """End a running workshop (``ended_at`` now) and credit each attendee's listening time; returns how
    many listens were written. Ending it again changes nothing; :class:`UserError` for one never started.
    Journals ``workshop.ended``."""
    # Two clicks on "end" at the same moment: the second waits for the first and sees it ended, so
    # attendees are credited once (credit_attendance reads what is already written).
    session.flush()
    session.refresh(workshop, with_for_update=True)
    if workshop.status == WorkshopStatus.ENDED:
        return credit_attendance(session, workshop)
    if workshop.status != WorkshopStatus.RUNNING:
        raise UserError(_("Start the workshop before ending it."), "workshop_not_started")
    workshop.status = WorkshopStatus.ENDED
    workshop.ended_at = utcnow()
    written = credit_attendance(session, workshop)
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="workshop.ended",
                 target=f"workshop:{workshop.id}", attendees=written)
    return written


def credit_attendance(session: Session, workshop: Workshop) -> int:
    """Write each attendee's :class:`Listen` (``source=workshop``) of an ended workshop, unless it exists
    (idempotent: run again, it writes nothing); returns how many were written."""
    if workshop.status != WorkshopStatus.ENDED:
        return 0
    done = set(session.scalars(select(Listen.user_id).where(Listen.workshop_id == workshop.id,
                                                            Listen.source == ListenSource.WORKSHOP)))
    seconds = listened_seconds(session, workshop)
    new = [user_id for user_id in session.scalars(select(WorkshopAttendance.user_id).where(
        WorkshopAttendance.workshop_id == workshop.id).order_by(WorkshopAttendance.id)) if user_id not in done]
    session.add_all([Listen(user_id=user_id, source=ListenSource.WORKSHOP, workshop_id=workshop.id,
                            at=workshop.started_at or workshop.ended_at or utcnow(), seconds=seconds)
                     for user_id in new])
    session.flush()
    return len(new)


@dataclass(frozen=True)
class ClipSummary:
    clip: Clip
    counts: dict[ReactionKind, int]
    #: (kind, comment), in the order given; comments are shown without their authors' names.
    comments: list[tuple[ReactionKind, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Summary:
    workshop: Workshop
    when: str
    playlist: str
    attendees: list[tuple[User, datetime]]
    clips: list[ClipSummary]
    actions: list[ImprovementAction]
    seconds: float


def summary(session: Session, workshop: Workshop, locale: str) -> Summary:
    """Who attended, the clips played (and any other clip reacted to in the workshop) with their reactions'
    counts and comments, and the actions decided."""
    played = clips_played(session, workshop)
    reactions = list(session.scalars(select(Reaction).where(Reaction.workshop_id == workshop.id)
                                     .order_by(Reaction.created_at, Reaction.id)))
    extra = {r.clip_id for r in reactions} - {c.id for c in played}
    if extra:
        played = played + list(session.scalars(select(Clip).where(Clip.id.in_(extra)).order_by(Clip.id)))
    counts: dict[int, Counter[ReactionKind]] = {c.id: Counter({k: 0 for k in ReactionKind}) for c in played}
    comments: dict[int, list[tuple[ReactionKind, str]]] = {c.id: [] for c in played}
    for r in reactions:
        counts[r.clip_id][ReactionKind(r.kind)] += 1
        if r.comment:
            comments[r.clip_id].append((ReactionKind(r.kind), r.comment))
    playlist = session.get(Playlist, workshop.playlist_id) if workshop.playlist_id is not None else None
    return Summary(workshop, when(workshop, zone_of(session, workshop.tenant_id), locale),
                   playlist.name if playlist is not None else "", attendees(session, workshop),
                   [ClipSummary(c, dict(counts[c.id]), comments[c.id]) for c in played], decisions(session, workshop),
                   listened_seconds(session, workshop))


# --- the PDF ---------------------------------------------------------------------------------------


def request_pdf(session: Session, user: User, workshop: Workshop, locale: str) -> jobs.Job:
    """Queue the summary's PDF for ``user`` (the ``workshop_pdf`` job); the job, whose id names it."""
    key = f"{WORKSHOP_PDF}:{workshop.id}:{user.id}:{secrets.token_urlsafe(12)}"
    job = jobs.enqueue(session, kind=WORKSHOP_PDF, idempotency_key=key, max_attempts=3,
                       payload={"user_id": user.id, "workshop_id": workshop.id, "locale": locale,
                                "name": pdf_name(workshop)})
    session.flush()
    return job


def latest_pdf_job(session: Session, user: User, workshop: Workshop, now: datetime | None = None) -> jobs.Job | None:
    """``user``'s latest PDF job of ``workshop`` asked for within :data:`PDF_KEEP` (None if none)."""
    recent = session.scalars(select(jobs.Job).where(jobs.Job.kind == WORKSHOP_PDF,
                                                    jobs.Job.created_at > (now or utcnow()) - PDF_KEEP)
                             .order_by(jobs.Job.id.desc()).limit(50))
    return next((j for j in recent if j.payload.get("user_id") == user.id
                 and j.payload.get("workshop_id") == workshop.id), None)


def qr_svg(url: str) -> Markup:
    """The check-in QR code as inline SVG, large enough to be scanned across a meeting room (segno's own
    markup: safe to put in the page as it is)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=8, title=None, omitsize=True))  # noqa: S704 - no text of ours in it


def pdf_key(tenant_id: int, job_id: int) -> str:
    """Where the PDF a job made lives."""
    return storage.key_for(tenant_id, "workshops", f"{job_id}.pdf")


def expired_pdf_keys(session: Session, now: datetime) -> list[str]:
    """The storage keys of the company's summary PDFs made more than :data:`PDF_KEEP` ago, within a month
    back: the daily ``review_pack_purge`` deletes them (a summary names attendees and quotes their comments)."""
    old = jobs.finished_between(session, WORKSHOP_PDF, now - PDF_KEEP - PURGE_LOOKBACK, now - PDF_KEEP)
    return [pdf_key(tenant_id, job_id) for job_id, tenant_id in old]


def pdf_name(workshop: Workshop) -> str:
    """The PDF's file name: ``workshop-<title>-<date>.pdf``, the title reduced to safe characters."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", workshop.title).strip("-").lower()[:40] or "workshop"
    return f"workshop-{slug}-{workshop.starts_at.date().isoformat()}.pdf"

