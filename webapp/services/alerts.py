"""Alerts (issue #15, item 4): the rules a company sets, their evaluation, and the digest e-mails.

**Rules** (:class:`~webapp.models.AlertRule`), each watching the company's voices (calls and written
complaints alike) over a window of whole days (UTC), against the baseline just before it:

- ``threshold``: the unhappy share of a selection (everything, a product, a topic or a reason) over
  a set share, with at least ``min_count`` voices judged in the window;
- ``change``: a topic's or reason's share of the voices, this window against the baseline, up and
  significant (:func:`webapp.services.significance.share_change`), on at least ``min_count`` voices;
- ``emerging``: a reason (or topic) absent from the baseline and now on ``min_count`` voices or more,
  or up significantly from a small base (:func:`webapp.services.significance.rate_change`, the exact
  test of two Poisson rates: the baseline gave fewer than ``min_count`` voices a window).

A ``change`` or ``emerging`` rule with no value watches every topic or reason at once: the family is
corrected for testing many (:func:`webapp.services.significance.adjust`) and the strongest one raises
the alert, the others it found named in its figures. Only main topics count (``Tag.mention`` false),
and tags a person rejected never do.

**Windows** are fixed periods counted from a Monday (:data:`EPOCH`): a 7-day window is an ISO week, a
1-day one a day. A rule is evaluated on the last complete window, so each window is judged once it is
over, and at most one :class:`~webapp.models.Alert` is raised per rule and window: its ``key``
(``rule:<id>:<window end>``) is unique, so evaluating again, on any number of workers at once, adds
nothing (no alert storms). The worker queues one ``evaluate_alerts`` job per company and day
(:func:`schedule_evaluations`, run by webapp/services/periodic.py).

**Digests**: each person who reads alerts (tenant admins and quality managers) chooses a daily or
weekly digest, or none (``User.digest``). :func:`schedule_digests` queues one ``alert_digest`` job
per person and period, only when the company raised alerts in it; the job
(worker/handlers/alert_digest.py) mails the period's alerts, each with two or three representative
voices: approved clips (bleeped, captions masked) and short excerpts of written complaints with
their personal data masked (webapp/services/excerpts.py), never a customer's raw words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.numbers import format_percent
from flask_babel import format_date, get_locale
from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp import jobs, tenancy
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _, _l, current_locale, format_number
from webapp.models import (
    Alert,
    AlertRule,
    Call,
    Clip,
    ClipStatus,
    Complaint,
    Dimension,
    Label,
    LabelKind,
    RenderStatus,
    Role,
    RuleKind,
    Sentiment,
    Tag,
    TagKind,
    User,
    UserStatus,
)
from webapp.services import audit, excerpts, listing, significance, windows

EVALUATE_ALERTS = "evaluate_alerts"
ALERT_DIGEST = "alert_digest"
#: Windows are counted from this Monday: 7-day windows are ISO weeks, 28-day ones four of them.
EPOCH = date(2001, 1, 1)
#: The rule kinds a company sets here (the 3/5 rating rule is the scorecards' own).
RULE_KINDS = (RuleKind.THRESHOLD, RuleKind.CHANGE, RuleKind.EMERGING)
#: Who reads alerts, sets rules and may receive the digest.
READERS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER)
DIGEST_CHOICES = ("daily", "weekly", "never")
#: Digests cover periods that end at this hour (UTC) each day, Mondays for the weekly one: after the
#: night's evaluation, so the morning's digest holds the alerts of the windows that just ended.
DIGEST_HOUR = 6
#: How many voices a digest shows for each alert, and how long a complaint's excerpt is.
VOICES_PER_ALERT = 3
EXCERPT_CHARS = 180

KIND_LABELS = {
    RuleKind.THRESHOLD: _l("Unhappy share over a threshold"),
    RuleKind.CHANGE: _l("Significant rise of a topic or reason"),
    RuleKind.EMERGING: _l("New or emerging reason"),
    RuleKind.RATING: _l("Product rating under the floor"),
}
DIMENSION_LABELS = {
    Dimension.ALL: _l("All voices"),
    Dimension.PRODUCT: _l("A product"),
    Dimension.TOPIC: _l("A topic"),
    Dimension.REASON: _l("A complaint reason"),
}
DIGEST_LABELS = {"daily": _l("Every day"), "weekly": _l("Every week"), "never": _l("Never")}

_MAX = {"name": 120, "value": 120}


# --- rules --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleDraft:
    """What a person gives when setting a rule (read from the form, not yet checked)."""

    name: str
    kind: str
    dimension: str
    value: str = ""
    #: For a threshold, in percent (40 for 40 %).
    threshold_percent: str = ""
    window_days: str = "7"
    baseline_days: str = "28"
    min_count: str = "20"

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> RuleDraft:
        """Read a submitted form: the value is the field of the chosen dimension (product, topic, reason)."""
        dimension = form.get("dimension", "")
        value = form.get(dimension, "") if dimension in (Dimension.PRODUCT, Dimension.TOPIC, Dimension.REASON) else ""
        return cls(name=" ".join(form.get("name", "").split()), kind=form.get("kind", ""), dimension=dimension,
                   value=" ".join(value.split()), threshold_percent=form.get("threshold", "").strip(),
                   window_days=form.get("window_days", "").strip(), baseline_days=form.get("baseline_days", "").strip(),
                   min_count=form.get("min_count", "").strip())


def _whole(raw: str, low: int, high: int, message: str, code: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise UserError(message, code) from None
    if not low <= number <= high:
        raise UserError(message, code)
    return number


@dataclass(frozen=True)
class _Checked:
    name: str
    kind: RuleKind
    dimension: Dimension
    value: str
    threshold: float | None
    window_days: int
    baseline_days: int
    min_count: int


def _check(session: Session, draft: RuleDraft) -> _Checked:
    """The draft as a rule's values, or a :class:`UserError` saying what to fix."""
    if not draft.name:
        raise UserError(_("Give the rule a name, e.g. “Unhappy about the X200 oven”."), "rule_name")
    if len(draft.name) > _MAX["name"]:
        raise UserError(_("The name is too long: 120 characters at most."), "rule_name")
    try:
        kind = RuleKind(draft.kind)
        dimension = Dimension(draft.dimension)
    except ValueError:
        raise UserError(_("Choose what the rule watches and when it raises an alert."), "rule_kind") from None
    if kind not in RULE_KINDS:
        raise UserError(_("Choose what the rule watches and when it raises an alert."), "rule_kind")
    if kind is not RuleKind.THRESHOLD and dimension not in (Dimension.TOPIC, Dimension.REASON):
        raise UserError(_("A rise or an emerging reason is about topics or complaint reasons: choose a topic or "
                          "a reason (or leave it empty to watch them all)."), "rule_dimension")
    value = draft.value
    if kind is RuleKind.THRESHOLD and dimension is not Dimension.ALL and not value:
        raise UserError(_("Choose the product, topic or reason the threshold watches."), "rule_value")
    if len(value) > _MAX["value"]:
        raise UserError(_("The product name is too long: 120 characters at most."), "rule_value")
    if value and dimension in (Dimension.TOPIC, Dimension.REASON):
        label_kind = LabelKind.TOPIC if dimension is Dimension.TOPIC else LabelKind.REASON
        if session.scalar(select(Label.id).where(Label.kind == label_kind, Label.key == value)) is None:
            raise UserError(_("This topic or reason is not in your company's list."), "rule_value")
    threshold = None
    if kind is RuleKind.THRESHOLD:
        threshold = _whole(draft.threshold_percent, 1, 99, _("Give the threshold as a percentage from 1 to 99, "
                                                             "e.g. 40."), "rule_threshold") / 100
    window = _whole(draft.window_days, 1, 90, _("The window is a number of days from 1 to 90."), "rule_window")
    baseline = _whole(draft.baseline_days, 1, 365, _("The baseline is a number of days from 1 to 365."),
                      "rule_baseline")
    if baseline < window:
        raise UserError(_("The baseline must be at least as long as the window, e.g. 28 days against 7."),
                        "rule_baseline")
    min_count = _whole(draft.min_count, 1, 100_000, _("The minimum is a number of voices from 1 to 100,000."),
                       "rule_min_count")
    return _Checked(draft.name, kind, dimension, "" if dimension is Dimension.ALL else value, threshold, window,
                    baseline, min_count)


def _journal(session: Session, actor: User, rule: AlertRule, action: str, **details: Any) -> None:
    """One line of the company's journal about a rule (``alert_rule.<action>``): what a rule watches and its
    settings are the company's own, never a customer's words."""
    audit.record(session, tenant_id=rule.tenant_id, actor=actor, action=f"alert_rule.{action}",
                 target=f"alert_rule:{rule.id}", **details)


def create_rule(session: Session, actor: User, draft: RuleDraft) -> AlertRule:
    """Add a rule from a person's form (:class:`UserError` saying what to fix); journalled."""
    checked = _check(session, draft)
    rule = AlertRule(created_by_id=actor.id, **checked.__dict__)
    session.add(rule)
    session.flush()
    _journal(session, actor, rule, "created", **{k: str(v) if isinstance(v, RuleKind | Dimension) else v
                                                  for k, v in checked.__dict__.items()})
    return rule


def update_rule(session: Session, actor: User, rule: AlertRule, draft: RuleDraft) -> bool:
    """Change a rule; alerts it raised stay as they were, and its next window is judged by the new rule. The
    journal keeps each setting changed, before and after. False when nothing changed."""
    changes: dict[str, list[Any]] = {}
    for name, value in _check(session, draft).__dict__.items():
        before = getattr(rule, name)
        if before != value:
            changes[name] = [str(v) if isinstance(v, RuleKind | Dimension) else v for v in (before, value)]
            setattr(rule, name, value)
    if changes:
        _journal(session, actor, rule, "changed", **changes)
    return bool(changes)


def set_active(session: Session, actor: User, rule: AlertRule, active: bool) -> None:
    """Switch a rule off (it raises nothing more) or on again; journalled when it changes."""
    if rule.active != active:
        rule.active = active
        _journal(session, actor, rule, "switched_on" if active else "switched_off")


def delete_rule(session: Session, actor: User, rule: AlertRule) -> None:
    """Remove a rule: the alerts it raised stay listed (under their kind of rule), and the journal keeps what
    it was (its name, kind and what it watched)."""
    _journal(session, actor, rule, "deleted", name=rule.name, kind=rule.kind.value, dimension=rule.dimension.value,
             value=rule.value)
    # The foreign key says SET NULL; said here too, so that the Session's own Alert rows agree.
    session.execute(update(Alert).where(Alert.rule_id == rule.id).values(rule_id=None)
                    .execution_options(synchronize_session=False))
    session.delete(rule)
    session.flush()


def list_rules(session: Session) -> list[AlertRule]:
    """The company's rules, active first, then by name."""
    return list(session.scalars(select(AlertRule).order_by(AlertRule.active.desc(), AlertRule.name,
                                                           AlertRule.id)))


def get_rule(session: Session, rule_id: int) -> AlertRule:
    """One of the company's rules (:class:`NotFound` for another company's, as for a missing one)."""
    rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound()
    return rule


def rule_form(rule: AlertRule) -> dict[str, str]:
    """A rule as the edit form shows it."""
    form = {"name": rule.name, "kind": rule.kind.value, "dimension": rule.dimension.value,
            "threshold": "" if rule.threshold is None else str(round(rule.threshold * 100)),
            "window_days": str(rule.window_days), "baseline_days": str(rule.baseline_days),
            "min_count": str(rule.min_count)}
    if rule.dimension is not Dimension.ALL:
        form[rule.dimension.value] = rule.value
    return form


def choices(session: Session, locale: str) -> dict[str, Any]:
    """What the rule form offers: kinds, dimensions and the company's active topics and reasons."""
    labels = session.scalars(select(Label).where(Label.retired_at.is_(None)).order_by(Label.id)).all()
    return {"kinds": [(k.value, str(KIND_LABELS[k])) for k in RULE_KINDS],
            "dimensions": [(d.value, str(label)) for d, label in DIMENSION_LABELS.items()],
            "topics": [(lb.key, lb.label(locale)) for lb in labels if lb.kind is LabelKind.TOPIC],
            "reasons": [(lb.key, lb.label(locale)) for lb in labels if lb.kind is LabelKind.REASON]}


# --- windows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Whole days (UTC): the window ``start`` to ``end`` (both included) and the baseline just before it."""

    start: date
    end: date
    baseline_start: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def baseline_days(self) -> int:
        return (self.start - self.baseline_start).days


def last_window(today: date, window_days: int, baseline_days: int) -> Window:
    """The last complete window of ``window_days`` before ``today`` (windows counted from :data:`EPOCH`)."""
    current = (today - EPOCH).days // window_days  # the window ``today`` is in, not over yet
    start = EPOCH + timedelta(days=(current - 1) * window_days)
    return Window(start, start + timedelta(days=window_days - 1), start - timedelta(days=baseline_days))


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def alert_key(rule_id: int, window: Window) -> str:
    """The key that allows one alert per rule and window: ``rule:<id>:<window end>``."""
    return f"rule:{rule_id}:{window.end.isoformat()}"


# --- counting voices ----------------------------------------------------------------------------------

Voice = type[Call] | type[Complaint]
VOICES: tuple[Voice, ...] = (Call, Complaint)


def _owner(model: Voice) -> Any:  # Any: Tag.call_id or Tag.complaint_id, the same column type
    return Tag.call_id if model is Call else Tag.complaint_id


def _tag_kind(dimension: Dimension) -> TagKind:
    return TagKind.TOPIC if dimension is Dimension.TOPIC else TagKind.REASON


def _counted(kind: TagKind) -> list[ColumnElement[bool]]:
    """Tags that count: of ``kind``, not rejected by a person, and main topics only (not passing mentions)."""
    return [Tag.kind == kind, Tag.rejected.is_(False), Tag.mention.is_(False)]


def _selection(model: Voice, dimension: Dimension, value: str) -> list[ColumnElement[bool]]:
    """The voices a rule's dimension selects."""
    if dimension is Dimension.PRODUCT:
        return [func.lower(model.product) == value.lower()]
    if dimension in (Dimension.TOPIC, Dimension.REASON):
        tagged = select(_owner(model)).where(*_counted(_tag_kind(dimension)), Tag.value == value)
        return [model.id.in_(tagged)]
    return []


def _received(model: Voice, start: date, end: date) -> list[ColumnElement[bool]]:
    """Received on the days ``start`` to ``end`` (both included)."""
    return [model.received_at >= _at(start), model.received_at < _at(end + timedelta(days=1))]


def _judged(model: Voice) -> Any:  # Any: a join condition
    """Join a voice to its sentiment: only the voices the tagger (or a person) judged are counted."""
    return (_owner(model) == model.id) & (Tag.kind == TagKind.SENTIMENT) & Tag.rejected.is_(False)


def sentiment_counts(session: Session, window: Window, dimension: Dimension, value: str) -> tuple[int, int]:
    """(voices judged, unhappy ones) among the selection's voices received in the window."""
    judged = unhappy = 0
    for model in VOICES:
        row = session.execute(
            select(func.count(), func.coalesce(func.sum(case((Tag.value == Sentiment.UNHAPPY.value, 1), else_=0)), 0))
            .select_from(model).join(Tag, _judged(model))
            .where(*_received(model, window.start, window.end), *_selection(model, dimension, value))).one()
        judged, unhappy = judged + int(row[0]), unhappy + int(row[1])
    return judged, unhappy


@dataclass
class Counts:
    """Voices judged in the window and the baseline, and those carrying each tag value in each."""

    total: int = 0
    baseline_total: int = 0
    by_value: dict[str, list[int]] = field(default_factory=dict)  #: value -> [window, baseline]


def tag_counts(session: Session, window: Window, kind: TagKind, value: str = "") -> Counts:
    """How many voices carry each ``kind`` value (or only ``value``) in the window and in the baseline,
    with the voices judged in each (the shares' denominators): four grouped queries."""
    counts = Counts()
    for model in VOICES:
        in_window = case((model.received_at >= _at(window.start), 1), else_=0)
        span = _received(model, window.baseline_start, window.end)
        for is_current, n in session.execute(
                select(in_window, func.count()).select_from(model).join(Tag, _judged(model)).where(*span)
                .group_by(in_window)):
            if is_current:
                counts.total += int(n)
            else:
                counts.baseline_total += int(n)
        stmt = (select(Tag.value, in_window, func.count()).select_from(model)
                .join(Tag, (_owner(model) == model.id)).where(*_counted(kind), *span))
        if value:
            stmt = stmt.where(Tag.value == value)
        for tag_value, is_current, n in session.execute(stmt.group_by(Tag.value, in_window)):
            pair = counts.by_value.setdefault(str(tag_value), [0, 0])
            pair[0 if is_current else 1] += int(n)
    return counts


# --- evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on a window: the value found (for rules on every topic) and the figures."""

    value: str
    detail: dict[str, Any]


def _threshold(session: Session, rule: AlertRule, window: Window) -> Finding | None:
    judged, unhappy = sentiment_counts(session, window, rule.dimension, rule.value)
    if judged < rule.min_count or rule.threshold is None or unhappy / judged <= rule.threshold:
        return None
    return Finding(rule.value, {"voices": judged, "unhappy": unhappy, "share": round(unhappy / judged, 4),
                                "threshold": rule.threshold})


def _strongest(rule: AlertRule, tested: list[tuple[str, significance.Result]], counts: Counts,
               new: Iterable[str] = ()) -> Finding | None:
    """The strongest significant rise on at least ``min_count`` voices among ``tested``, after the values in
    ``new`` (which qualify without a test); the others found are named. When the rule watches every value,
    every value tested is corrected for testing many (:func:`significance.adjust`), those under the minimum
    count included: correcting only the values that happened to come out high would let noise through."""
    results = [result for _value, result in tested]
    if not rule.value and len(results) > 1:
        results = significance.adjust(results)
    risen = sorted(((r.q_value if r.q_value is not None else 1.0, value, r)
                    for (value, _raw), r in zip(tested, results, strict=True)
                    if r.significant and r.direction is significance.Direction.UP
                    and counts.by_value[value][0] >= rule.min_count), key=lambda x: (x[0], x[1]))
    found = sorted(new) + [value for _q, value, _r in risen]
    if not found:
        return None
    value = found[0]
    current, baseline = counts.by_value.get(value, [0, 0])
    detail: dict[str, Any] = {"count": current, "baseline_count": baseline, "total": counts.total,
                              "baseline_total": counts.baseline_total, "is_new": value in new}
    result = next((r for _q, v, r in risen if v == value), None)
    if result is not None:
        detail.update({"method": result.method.value, "p_value": result.p_value, "q_value": result.q_value,
                       "current": result.current, "baseline": result.baseline})
    if len(found) > 1:
        detail["others"] = found[1:10]
    return Finding(value, detail)


def _change(session: Session, rule: AlertRule, window: Window) -> Finding | None:
    counts = tag_counts(session, window, _tag_kind(rule.dimension), rule.value)
    tested: list[tuple[str, significance.Result]] = []
    for value, (current, baseline) in sorted(counts.by_value.items()):
        result = significance.share_change(current, counts.total, baseline, counts.baseline_total,
                                           min_count=rule.min_count)
        tested.append((value, result))
    return _strongest(rule, tested, counts)


def _emerging(session: Session, rule: AlertRule, window: Window) -> Finding | None:
    counts = tag_counts(session, window, _tag_kind(rule.dimension), rule.value)
    if counts.baseline_total < rule.min_count:
        return None  # a baseline too thin to tell what is new (a company just starting)
    new: list[str] = []
    tested: list[tuple[str, significance.Result]] = []
    for value, (current, baseline) in sorted(counts.by_value.items()):
        if baseline == 0:
            if current >= rule.min_count:
                new.append(value)
        elif baseline * window.days / window.baseline_days < rule.min_count:  # a small base
            result = significance.rate_change(current, baseline, current_days=window.days,
                                              baseline_days=window.baseline_days, min_count=rule.min_count)
            tested.append((value, result))
    return _strongest(rule, tested, counts, new)


_EVALUATORS = {RuleKind.THRESHOLD: _threshold, RuleKind.CHANGE: _change, RuleKind.EMERGING: _emerging}


def evaluate_rule(session: Session, rule: AlertRule, today: date, now: datetime | None = None) -> Alert | None:
    """Judge ``rule`` on its last complete window before ``today``; the alert raised, or None (nothing found,
    or this window's alert exists already: one per rule and window, whoever evaluates it, however often).
    ``now`` (when it is raised) is the clock's time unless a test moves it."""
    window = last_window(today, rule.window_days, rule.baseline_days)
    now = now or utcnow()
    rule.last_evaluated_at = now
    key = alert_key(rule.id, window)
    if session.scalar(select(Alert.id).where(Alert.key == key)) is not None:
        return None
    finding = _EVALUATORS[rule.kind](session, rule, window)
    if finding is None:
        return None
    detail = {**finding.detail, "window_days": window.days, "baseline_days": window.baseline_days}
    alert = Alert(rule_id=rule.id, key=key, kind=rule.kind, dimension=rule.dimension, value=finding.value,
                  window_start=window.start, window_end=window.end, detail=detail, created_at=now)
    try:
        with session.begin_nested():  # another worker may have raised it since the check above
            session.add(alert)
    except IntegrityError:
        return None
    return alert


def evaluate(session: Session, today: date, now: datetime | None = None) -> list[Alert]:
    """Judge every active rule of the Session's company on its last complete window; the alerts raised."""
    rules = session.scalars(select(AlertRule).where(AlertRule.active.is_(True), AlertRule.kind.in_(RULE_KINDS))
                            .order_by(AlertRule.id)).all()
    return [alert for rule in rules if (alert := evaluate_rule(session, rule, today, now)) is not None]


def schedule_evaluations(now: datetime) -> int:
    """Queue today's ``evaluate_alerts`` for each company with an active rule; how many were queued.

    One job per company and day (its key names the day), whatever the number of workers or runs.
    """
    day = now.date().isoformat()
    queued = 0
    for tenant_id in windows.company_ids():
        with tenancy.tenant_session(tenant_id) as session:
            has_rules = session.scalar(select(AlertRule.id).where(AlertRule.active.is_(True)).limit(1)) is not None
        if has_rules:
            queued += jobs.enqueue_once(tenant_id, kind=EVALUATE_ALERTS, idempotency_key=f"alerts:{day}",
                                        payload={"day": day})
    return queued


# --- the alerts people read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFilters(listing.Filters):
    """The alerts list's filters: what an alert is about (a product, topic or reason key), when it was raised."""

    about: str = listing.text(_l("Product, topic or reason"), 120)
    raised: listing.DayRange = listing.dates(_l("Raised from"), _l("to"))

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.about:
            yield Alert.value.ilike(f"%{self.about}%")
        yield from self.raised.conditions(Alert.created_at)


AlertPage = listing.Page["AlertRow", AlertFilters]


def list_alerts(session: Session, filters: AlertFilters) -> AlertPage:
    """One page of the company's alerts, newest first, in words of the reader's language (four queries)."""
    found, total = listing.fetch(session, select(Alert), filters, order_by=(Alert.created_at.desc(), Alert.id.desc()))
    return AlertPage(alert_rows(session, found, current_locale()), total, filters)


#: The most alerts the menu counts: beyond, it says "99+".
MENU_MOST = 99


def unseen_count(session: Session, user: User) -> int:
    """How many alerts the company's rules raised since ``user`` last opened the alerts page (every one
    before the first time), counted up to :data:`MENU_MOST` + 1: one query that stops there."""
    query = select(Alert.id)
    if user.alerts_seen_at is not None:
        query = query.where(Alert.created_at > user.alerts_seen_at)
    return len(session.scalars(query.limit(MENU_MOST + 1)).all())


def mark_seen(user: User, now: datetime | None = None) -> None:
    """``user`` (of the request's session) has just seen the alerts: the menu counts from now on."""
    user.alerts_seen_at = now or utcnow()


def drill_down(alert: Alert) -> dict[str, str]:
    """The filters of the call and complaint lists (webapp/services/calls.py ``CallFilters``) and of the insights'
    voices page that show the voices behind an alert: its window, its product, topic (main topics only) or
    reason, and the unhappy ones for a threshold."""
    args = {"date_from": alert.window_start.isoformat(), "date_to": alert.window_end.isoformat()}
    if alert.dimension is Dimension.PRODUCT:
        args["product"] = alert.value
    elif alert.dimension in (Dimension.TOPIC, Dimension.REASON) and alert.value:
        args[alert.dimension.value] = alert.value
        if alert.dimension is Dimension.TOPIC:
            args["passing"] = "main"  # main topics only, as the rules count them (the lists' and insights' filter)
    if alert.kind is RuleKind.THRESHOLD:
        args["sentiment"] = Sentiment.UNHAPPY.value
    return args


def value_label(alert: Alert | AlertRule, labels: Mapping[tuple[str, str], str]) -> str:
    """What an alert or rule is about, in words: a product's name, a topic's or reason's label, or all voices."""
    if alert.dimension is Dimension.ALL:
        return str(DIMENSION_LABELS[Dimension.ALL])
    if alert.dimension is Dimension.PRODUCT:
        return alert.value
    if not alert.value:
        return str(_("Any topic") if alert.dimension is Dimension.TOPIC else _("Any reason"))
    return labels.get((alert.dimension.value, alert.value), alert.value)


def label_names(session: Session, locale: str) -> dict[tuple[str, str], str]:
    """Each topic's and reason's label in ``locale``, by (kind, key)."""
    return {(lb.kind.value, lb.key): lb.label(locale) for lb in session.scalars(select(Label))}


def _percent(share: float) -> str:
    return str(format_percent(share, locale=str(get_locale() or "en")))


def _p_value(p: object) -> str:
    value = float(p) if isinstance(p, int | float) else 1.0
    return "< 0.001" if value < 0.001 else format_number(value, 3)


def describe(alert: Alert, about: str) -> str:
    """An alert's figures in a sentence of the current language (the alerts page and the digest)."""
    d = alert.detail
    dates = {"start": format_date(alert.window_start, "medium"), "end": format_date(alert.window_end, "medium"),
             "days": int(d.get("baseline_days", 0)), "about": about}
    count, baseline = format_number(d.get("count", 0)), format_number(d.get("baseline_count", 0))
    if alert.kind is RuleKind.THRESHOLD:
        text = _("%(share)s of the %(voices)s voices about %(about)s were unhappy from %(start)s to %(end)s "
                 "(threshold: %(threshold)s).", share=_percent(float(d.get("share", 0))),
                 voices=format_number(d.get("voices", 0)), threshold=_percent(float(d.get("threshold", 0))),
                 **dates)
    elif alert.kind is RuleKind.CHANGE:
        text = _("%(about)s: %(count)s voices from %(start)s to %(end)s, %(share)s of all voices against "
                 "%(baseline_share)s in the %(days)d days before (significant rise, p = %(p)s).", count=count,
                 share=_percent(float(d.get("current", 0))), baseline_share=_percent(float(d.get("baseline", 0))),
                 p=_p_value(d.get("p_value")), **dates)
    elif alert.kind is RuleKind.EMERGING and d.get("is_new"):
        text = _("%(about)s is new: %(count)s voices from %(start)s to %(end)s, none in the %(days)d days before.",
                 count=count, **dates)
    elif alert.kind is RuleKind.EMERGING:
        text = _("%(about)s is emerging: %(count)s voices from %(start)s to %(end)s against %(baseline)s in the "
                 "%(days)d days before (significant rise, p = %(p)s).", count=count, baseline=baseline,
                 p=_p_value(d.get("p_value")), **dates)
    else:
        text = about
    return str(text)


@dataclass(frozen=True)
class AlertRow:
    """An alert as the alerts page and the digest show it."""

    alert: Alert
    rule_name: str
    about: str
    text: str
    drill_down: dict[str, str]


def alert_rows(session: Session, alerts: Iterable[Alert], locale: str) -> list[AlertRow]:
    """Alerts with their rule's name, what they are about and their figures in words (two queries)."""
    alerts = list(alerts)
    names = label_names(session, locale)
    rule_ids = {a.rule_id for a in alerts if a.rule_id is not None}
    rules: dict[int, str] = {}
    if rule_ids:
        rules = {rule_id: name for rule_id, name in
                 session.execute(select(AlertRule.id, AlertRule.name).where(AlertRule.id.in_(rule_ids)))}
    rows = []
    for alert in alerts:
        about = value_label(alert, names)
        rows.append(AlertRow(alert, rules.get(alert.rule_id or 0, str(KIND_LABELS[alert.kind])), about,
                             describe(alert, about), drill_down(alert)))
    return rows


# --- digests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A digest's period: alerts raised from ``start`` (included) to ``end`` (excluded)."""

    choice: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"{self.choice}:{self.end.date().isoformat()}"


def digest_periods(now: datetime) -> list[Period]:
    """The latest daily period and the latest weekly one (ending a Monday) that are over at ``now``."""
    end = datetime.combine(now.date(), time(DIGEST_HOUR), tzinfo=UTC)
    if end > now:
        end -= timedelta(days=1)
    week_end = end - timedelta(days=end.weekday())
    return [Period("daily", end - timedelta(days=1), end), Period("weekly", week_end - timedelta(days=7), week_end)]


def _alerts_in(session: Session, period: Period) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.created_at >= period.start, Alert.created_at < period.end)
                                .order_by(Alert.created_at, Alert.id)))


def schedule_digests(now: datetime) -> int:
    """Queue the digests of the latest periods, one job per person and period, for the people of each company
    that raised alerts in them; how many were queued (nothing for a period without alerts)."""
    queued = 0
    for tenant_id in windows.company_ids():
        wanted: list[tuple[int, Period]] = []
        with tenancy.tenant_session(tenant_id) as session:
            for period in digest_periods(now):
                if session.scalar(select(Alert.id).where(Alert.created_at >= period.start,
                                                         Alert.created_at < period.end).limit(1)) is None:
                    continue
                people = session.scalars(select(User.id).where(User.digest == period.choice,
                                                               User.status == UserStatus.ACTIVE,
                                                               User.role.in_(READERS)).order_by(User.id))
                wanted += [(user_id, period) for user_id in people]
        for user_id, period in wanted:
            queued += jobs.enqueue_once(
                tenant_id, kind=ALERT_DIGEST, idempotency_key=f"digest:{user_id}:{period.key}",
                payload={"user_id": user_id, "choice": period.choice, "start": period.start.isoformat(),
                         "end": period.end.isoformat()})
    return queued


def set_digest(user: User, choice: str) -> None:
    """Remember how often a person wants the alerts digest."""
    if choice not in DIGEST_CHOICES:
        raise UserError(_("Choose every day, every week or never."), "digest_choice")
    user.digest = choice


@dataclass(frozen=True)
class DigestVoice:
    """A representative voice: an approved clip (``clip_id``, its masked captions) or a complaint's excerpt."""

    excerpt: str
    clip_id: int | None = None


@dataclass(frozen=True)
class DigestItem:
    row: AlertRow
    voices: list[DigestVoice]


def _voice_filters(model: Voice, alert: Alert) -> list[ColumnElement[bool]]:
    found = [*_received(model, alert.window_start, alert.window_end)]
    if alert.value or alert.dimension is Dimension.PRODUCT:
        found += _selection(model, alert.dimension, alert.value)
    if alert.kind is RuleKind.THRESHOLD:
        unhappy = select(_owner(model)).where(Tag.kind == TagKind.SENTIMENT, Tag.rejected.is_(False),
                                              Tag.value == Sentiment.UNHAPPY.value)
        found.append(model.id.in_(unhappy))
    return found


def representative_voices(session: Session, alert: Alert, limit: int = VOICES_PER_ALERT) -> list[DigestVoice]:
    """Up to ``limit`` voices behind an alert: approved clips first, once rendered (their audio bleeped and
    their captions masked when they were cut), then excerpts of written complaints with their personal data
    masked. A call's own transcript is never quoted: only what a person chose and the bleeps covered."""
    clips = session.scalars(select(Clip).join(Call, Clip.call_id == Call.id)
                            .where(Clip.status == ClipStatus.APPROVED, Clip.render_status == RenderStatus.READY,
                                   *_voice_filters(Call, alert))
                            .order_by(Clip.approved_at.desc(), Clip.id.desc()).limit(limit)).all()
    voices = [DigestVoice(" ".join(str(c.get("text", "")) for c in clip.captions).strip() or clip.title, clip.id)
              for clip in clips]
    if len(voices) < limit:
        complaints = session.scalars(select(Complaint).where(*_voice_filters(Complaint, alert))
                                     .order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                     .limit(limit - len(voices))).all()
        pii: dict[int, list[Any]] = {}
        if complaints:
            for tag in session.scalars(select(Tag).where(Tag.kind == TagKind.PII,
                                                         Tag.complaint_id.in_([c.id for c in complaints]))):
                pii.setdefault(tag.complaint_id or 0, []).extend(tag.evidence or [])
        voices += [DigestVoice(excerpts.masked_excerpt(c.text, pii.get(c.id, []), size=EXCERPT_CHARS))
                   for c in complaints]
    return voices


def digest_items(session: Session, start: datetime, end: datetime, locale: str) -> list[DigestItem]:
    """The alerts raised from ``start`` to ``end`` in words of the current language, each with its voices."""
    rows = alert_rows(session, _alerts_in(session, Period("", start, end)), locale)
    return [DigestItem(row, representative_voices(session, row.alert)) for row in rows]


def is_digest_reader(user: User | None) -> bool:
    """Whether ``user`` still gets digests: active, reading alerts, and not having said never."""
    return (user is not None and user.status is UserStatus.ACTIVE and user.role in READERS
            and user.digest in ("daily", "weekly"))
