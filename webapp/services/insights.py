"""The insight dashboard (issue #15, item 3): what customers said over a period, against the period before.

For a period ending on a day (today by default) and its baseline:

- last 7 days against the previous 28 (:attr:`Period.WEEK`);
- the last month against the quarter before it (:attr:`Period.MONTH`);
- the last semester against the semester before it (:attr:`Period.SEMESTER`);

the dashboard gives the volumes of calls and complaints over time, the share of satisfied, unhappy and
neutral voices, topics (main topics only; passing mentions apart) and complaint reasons ranked, and
breakdowns by product, channel and (company admins only) agent, each with its change against the
baseline. Periods of different lengths are compared as rates per day. A change is flagged only when
:mod:`webapp.services.significance` finds it significant (exact test of two Poisson rates for volumes,
two-proportion test for shares, a minimum count, Benjamini-Hochberg across each ranked list).

Every figure is an aggregate query (GROUP BY, one per voice table and dimension); nothing loads the rows.
The days that are over and unmarked are read from daily roll-ups instead (webapp/services/insight_days.py);
today and the days written since the last build are counted live, and the two add up to the same counts.
Every figure carries its :class:`Selection`, which the page turns into links to the calls list, the
complaints list and the voices behind it (the approved clips of that selection).

Who sees what (:func:`scope_of`): company admins and quality managers see every product; staff see the
products they own (``Product.owner_id``) or their department's (``Product.department``), and nothing
when they have none; agent figures are for company admins only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, Select, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.i18n import label as enum_label
from webapp.models import (
    Call,
    Channel,
    Clip,
    ClipStatus,
    Complaint,
    LabelKind,
    Product,
    Role,
    Sentiment,
    Tag,
    TagKind,
    User,
)
from webapp.services import insight_days, listing, significance, taxonomy

#: Voice tables: a call or a written complaint, and the tag column that points at it.
Voice = type[Call] | type[Complaint]
#: Rows each drill-down table shows (the lists hold the rest).
VOICES_SHOWN = 25
CLIPS_SHOWN = 12


class Period(enum.StrEnum):
    WEEK = "week"  #: the last 7 days against the previous 28
    MONTH = "month"  #: the last month against the quarter before it
    SEMESTER = "semester"  #: the last six months against the six before them


class Passing(enum.StrEnum):
    """Which topic tags a selection counts: main topics, or passing mentions."""

    MAIN = "main"
    MENTION = "mention"


@dataclass(frozen=True)
class Window:
    """A period and its baseline, as whole UTC days, both ends included."""

    period: Period
    start: date
    end: date
    base_start: date

    @property
    def base_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def base_days(self) -> int:
        return (self.start - self.base_start).days

    @property
    def bucket(self) -> str:
        """How the chart groups days: by day (week), week (month) or month (semester)."""
        return {Period.WEEK: "day", Period.MONTH: "week", Period.SEMESTER: "month"}[self.period]


def window(period: Period, today: date) -> Window:
    """The period ending on ``today`` (included) and its baseline, just before it."""
    if period is Period.WEEK:
        start = today - timedelta(days=6)
        return Window(period, start, today, start - timedelta(days=28))
    months = 1 if period is Period.MONTH else 6
    start = today - relativedelta(months=months) + timedelta(days=1)
    base_months = 3 if period is Period.MONTH else 6
    return Window(period, start, today, start - relativedelta(months=base_months))


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- who sees what -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    #: The products the person may read; None for every product (admins and quality managers).
    products: tuple[str, ...] | None
    #: Agent figures (company admins only).
    agents: bool
    #: Links to the calls and complaints lists (the people who may open them).
    lists: bool

    @property
    def empty(self) -> bool:
        return self.products is not None and not self.products


def scope_of(session: Session, user: User) -> Scope:
    if user.role in (Role.TENANT_ADMIN, Role.QUALITY_MANAGER):
        return Scope(None, agents=user.role is Role.TENANT_ADMIN, lists=True)
    mine = [Product.owner_id == user.id]
    if user.department:
        mine.append(Product.department == user.department)
    names = session.scalars(select(Product.name).where(or_(*mine)).order_by(Product.name))
    return Scope(tuple(names), agents=False, lists=False)


# --- a selection: what a number counts -----------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The voices behind one number: days, and optionally one sentiment, topic, reason, product, channel
    or agent. Its arguments are the calls and complaints lists' own filters (webapp/services/calls.py)."""

    start: date
    end: date
    sentiment: str = ""
    topic: str = ""
    passing: str = ""
    reason: str = ""
    product: str = ""
    channel: str = ""
    agent: str = ""

    @cached_property
    def query(self) -> str:
        """:meth:`args` as a query string, made once (a dashboard links each selection four times)."""
        return urlencode(self.args())

    def args(self) -> dict[str, str]:
        """As query arguments of the calls list, the complaints list and the voices page."""
        values = {"date_from": self.start.isoformat(), "date_to": self.end.isoformat(), "sentiment": self.sentiment,
                  "topic": self.topic, "passing": self.passing if self.topic else "", "reason": self.reason,
                  "product": self.product, "channel": self.channel, "agent": self.agent}
        return {k: v for k, v in values.items() if v}

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: date) -> Selection:
        """Read a selection from the voices page's address (the last 7 days when it names none)."""
        start = listing.day(args.get("date_from", "")) or today - timedelta(days=6)
        end = listing.day(args.get("date_to", "")) or today
        tag = listing.Tag("", LabelKind.TOPIC)  # a well-formed taxonomy key, or nothing
        sentiment = args.get("sentiment", "")
        channel = args.get("channel", "")
        passing = args.get("passing", "")
        return cls(start, end, sentiment=sentiment if sentiment in tuple(Sentiment) else "",
                   topic=tag.parse("topic", args), passing=passing if passing in tuple(Passing) else "",
                   reason=tag.parse("reason", args), product=listing.words(args.get("product", ""), 120),
                   channel=channel if channel in tuple(Channel) else "",
                   agent=listing.words(args.get("agent", ""), 120))

    def conditions(self, model: Voice, scope: Scope) -> Iterator[ColumnElement[bool]]:
        """The conditions on ``model`` (calls or complaints) that pick the voices of this selection."""
        yield from _period(model, self.start, self.end, scope)
        if self.product:
            yield model.product == self.product
        if self.channel:
            yield model.channel == self.channel
        if self.agent:
            yield model.agent == self.agent
        owner = _owner(model)
        for kind, value in ((TagKind.SENTIMENT, self.sentiment), (TagKind.TOPIC, self.topic),
                            (TagKind.REASON, self.reason)):
            if value:
                tagged = select(owner).where(Tag.kind == kind, Tag.value == value, Tag.rejected.is_(False))
                if kind is TagKind.TOPIC and self.passing:
                    tagged = tagged.where(Tag.mention.is_(self.passing == Passing.MENTION))
                yield model.id.in_(tagged)


def _owner(model: Voice) -> Any:  # Any: Tag.call_id or Tag.complaint_id, an instrumented column
    return Tag.call_id if model is Call else Tag.complaint_id


def _period(model: Voice, start: date, end: date, scope: Scope) -> Iterator[ColumnElement[bool]]:
    yield from _days(model, ((start, end),), scope)


def _days(model: Voice, ranges: Sequence[Range], scope: Scope) -> Iterator[ColumnElement[bool]]:
    if len(ranges) == 1:
        (start, end), = ranges
        yield model.received_at >= _at(start)
        yield model.received_at < _at(end + timedelta(days=1))
    else:
        yield insight_days.within(model, ranges)
    if scope.products is not None:
        yield model.product.in_(scope.products)


# --- the figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One line of a ranked table: its calls and complaints in the period and in the baseline."""

    key: str
    label: str
    calls: int
    complaints: int
    base_calls: int
    base_complaints: int
    change: significance.Result
    #: The voices this line counts, in the period and in the baseline.
    selection: Selection
    base_selection: Selection

    @property
    def total(self) -> int:
        return self.calls + self.complaints

    @property
    def base_total(self) -> int:
        return self.base_calls + self.base_complaints


@dataclass(frozen=True)
class Point:
    """One bucket of the volume chart (a day, a week or a month) starting on ``start``."""

    start: date
    end: date
    calls: int
    complaints: int
    current: bool

    @property
    def selection(self) -> Selection:
        return Selection(self.start, self.end)


@dataclass
class Dashboard:
    window: Window
    scope: Scope
    totals: list[Figure] = field(default_factory=list)
    series: list[Point] = field(default_factory=list)
    sentiments: list[Figure] = field(default_factory=list)
    topics: list[Figure] = field(default_factory=list)
    mentions: list[Figure] = field(default_factory=list)
    reasons: list[Figure] = field(default_factory=list)
    products: list[Figure] = field(default_factory=list)
    channels: list[Figure] = field(default_factory=list)
    #: None when the reader may not see agent figures.
    agents: list[Figure] | None = None
    min_count: int = significance.MIN_COUNT
    alpha: float = significance.ALPHA


#: (period is current, key...) -> count, per voice table.
Counts = dict[tuple[Any, ...], int]
#: Days, first and last included.
Range = tuple[date, date]


def _sum(*tables: Counts) -> Counts:
    """Counts added key by key (enum keys as their plain values, as the roll-ups hold them)."""
    found: Counts = {}
    for table in tables:
        for key, n in table.items():
            plain = tuple(str(k) if isinstance(k, enum.Enum) else k for k in key)
            found[plain] = found.get(plain, 0) + n
    return found


def _sum_both(*pairs: tuple[Counts, Counts]) -> tuple[Counts, Counts]:
    return _sum(*(calls for calls, _k in pairs)), _sum(*(complaints for _c, complaints in pairs))


def _grouped(session: Session, model: Voice, keys: Sequence[Any], win: Window, scope: Scope, ranges: Sequence[Range],
             *, join_tags: bool = False, where: Sequence[ColumnElement[bool]] = (), sets: bool = False) -> Counts:
    """Counts of ``model``'s voices received on the days of ``ranges`` (within the period and its baseline),
    split at the period's first day and grouped by ``keys`` (one query); with ``sets``, by the period alone
    and by each key alone (PostgreSQL's GROUPING SETS: the other keys are None in each row)."""
    current = case((model.received_at >= _at(win.start), 1), else_=0).label("is_current")
    inner: Select[Any] = select(current, *keys)
    if join_tags:
        inner = inner.select_from(Tag).join(model, _owner(model) == model.id)
    inner = inner.where(*_days(model, ranges, scope), *where)
    sub = inner.subquery()
    columns = list(sub.c)
    if sets:
        first, *rest = columns
        grouping: Any = func.grouping_sets(tuple_(first), *(tuple_(first, c) for c in rest))
        rows = session.execute(select(*columns, func.count()).group_by(grouping))
    else:
        rows = session.execute(select(*columns, func.count()).group_by(*columns))
    return {tuple(row[:-1]): int(row[-1]) for row in rows}


def _both(session: Session, keys: Any, win: Window, scope: Scope, ranges: Sequence[Range],
          **kwargs: Any) -> tuple[Counts, Counts]:
    """:func:`_grouped` for calls and complaints; ``keys`` maps a voice table to its grouping columns."""
    return (_grouped(session, Call, keys(Call), win, scope, ranges, **kwargs),
            _grouped(session, Complaint, keys(Complaint), win, scope, ranges, **kwargs))


def _dimensions(session: Session, win: Window, scope: Scope, ranges: Sequence[Range],
                ) -> dict[str, tuple[Counts, Counts]]:
    """The totals and the counts by product, channel and (when the reader may see them) agent: on
    PostgreSQL one query per voice table with GROUPING SETS (one scan of the period's rows, a few hundred
    rows back), elsewhere one query per table and dimension."""
    names = ("product", "channel", "agent") if scope.agents else ("product", "channel")
    found: dict[str, tuple[Counts, Counts]] = {name: ({}, {}) for name in ("total", *names)}
    models: tuple[Voice, Voice] = (Call, Complaint)
    for column, model in enumerate(models):
        keys = [getattr(model, name) for name in names]
        if session.get_bind().dialect.name == "postgresql":
            for (is_current, *values), n in _grouped(session, model, keys, win, scope, ranges, sets=True).items():
                given = [(name, value) for name, value in zip(names, values, strict=True) if value is not None]
                name, key = given[0] if given else ("total", None)
                found[name][column][(is_current,) if key is None else (is_current, key)] = n
            continue
        found["total"][column].update(_grouped(session, model, (), win, scope, ranges))
        for name, key_column in zip(names, keys, strict=True):
            found[name][column].update(_grouped(session, model, (key_column,), win, scope, ranges))
    return found


def _figures(win: Window, counts: tuple[Counts, Counts], labels: Mapping[str, str], select_key: Any,
             *, key_of: Any = lambda k: k[0], keep: Any = lambda k: True) -> list[Figure]:
    """One figure per key found, ranked by the period's voices then the baseline's, each change tested
    with the Poisson rate test and the family corrected (Benjamini-Hochberg)."""
    calls, complaints = counts
    found: dict[str, list[int]] = {}
    for column, table in enumerate((calls, complaints)):
        for (is_current, *rest), n in table.items():
            if not keep(rest):
                continue
            key = str(key_of(rest) if rest else "")
            found.setdefault(key, [0, 0, 0, 0])[column + (0 if is_current else 2)] += n
    tests = [significance.rate_change(c + k, bc + bk, current_days=win.days, baseline_days=win.base_days)
             for c, k, bc, bk in found.values()]
    tested = significance.adjust(tests)
    here, before = Selection(win.start, win.end), Selection(win.base_start, win.base_end)
    figures = [Figure(key, labels.get(key, key), c, k, bc, bk, change, select_key(here, key), select_key(before, key))
               for (key, (c, k, bc, bk)), change in zip(found.items(), tested, strict=True)]
    return sorted(figures, key=lambda f: (-f.total, -f.base_total, f.label))


def _shares(win: Window, counts: tuple[Counts, Counts], labels: Mapping[str, str]) -> list[Figure]:
    """The share of each sentiment among the voices that have one, tested with the two-proportion test."""
    calls, complaints = counts
    by: dict[str, list[int]] = {str(s): [0, 0, 0, 0] for s in Sentiment}
    for column, table in enumerate((calls, complaints)):
        for (is_current, kind, value, _mention), n in table.items():
            if kind == TagKind.SENTIMENT and value in by:
                by[value][column + (0 if is_current else 2)] += n
    total = sum(v[0] + v[1] for v in by.values())
    base = sum(v[2] + v[3] for v in by.values())
    tests = [significance.share_change(c + k, total, bc + bk, base) for c, k, bc, bk in by.values()]
    here, before = Selection(win.start, win.end), Selection(win.base_start, win.base_end)
    return [Figure(key, labels[key], c, k, bc, bk, change, replace(here, sentiment=key),
                   replace(before, sentiment=key))
            for (key, (c, k, bc, bk)), change in zip(by.items(), significance.adjust(tests), strict=True)]


def _per_day(session: Session, win: Window, scope: Scope, ranges: Sequence[Range]) -> dict[date, list[int]]:
    """Calls and complaints per day received on the days of ``ranges`` (GROUP BY day)."""
    per_day: dict[date, list[int]] = {}
    models: tuple[Voice, Voice] = (Call, Complaint)
    for column, model in enumerate(models):
        day = insight_days.day_column(session, model).label("day")
        sub = select(day).where(*_days(model, ranges, scope)).subquery()
        for when, n in session.execute(select(sub.c.day, func.count()).group_by(sub.c.day)):
            per_day.setdefault(insight_days.as_date(when), [0, 0])[column] += int(n)
    return per_day


def _series(win: Window, per_day: Mapping[date, list[int]]) -> list[Point]:
    """Calls and complaints per bucket from the baseline's first day to the period's last."""
    points: list[Point] = []
    for start, end in _buckets(win):
        calls = sum(v[0] for d, v in per_day.items() if start <= d <= end)
        complaints = sum(v[1] for d, v in per_day.items() if start <= d <= end)
        points.append(Point(start, end, calls, complaints, current=start >= win.start))
    return points


def _buckets(win: Window) -> Iterator[tuple[date, date]]:
    """The chart's buckets, cut at the period's first day so that none straddles the two periods."""
    for first, last in ((win.base_start, win.base_end), (win.start, win.end)):
        start = first
        while start <= last:
            if win.bucket == "day":
                end = start
            elif win.bucket == "week":
                end = start + timedelta(days=6 - start.weekday())
            else:
                end = (start.replace(day=1) + relativedelta(months=1)) - timedelta(days=1)
            end = min(end, last)
            yield start, end
            start = end + timedelta(days=1)


def _taxonomy_labels(session: Session, locale: str) -> dict[LabelKind, dict[str, str]]:
    found: dict[LabelKind, dict[str, str]] = {LabelKind.TOPIC: {}, LabelKind.REASON: {}}
    for item in taxonomy.labels(session):
        found.setdefault(item.kind, {})[item.key] = item.label(locale)
    return found


def _counted(session: Session, win: Window, scope: Scope, rollups: bool,
             ) -> tuple[tuple[Counts, Counts], dict[str, tuple[Counts, Counts]], dict[date, list[int]]]:
    """The tag counts, the counts by dimension and the voices per day of the window: the days that are over
    and unmarked from the daily roll-ups (webapp/services/insight_days.py), the others live; with
    ``rollups`` False, every day live."""
    today = utcnow().date()
    if rollups and not (scope.products is not None and scope.agents):
        days = insight_days.plan(session, win.base_start, win.end, today, win.start)
    else:
        days = insight_days.Plan(win.base_start, win.end, None, (), ((win.base_start, win.end),))
    rolled = insight_days.read(session, days, win.start, scope.products, scope.agents)
    if not days.live:
        return _sum_both(rolled.tags), {k: _sum_both(v) for k, v in rolled.dimensions.items()}, rolled.per_day
    tags = _both(session, lambda m: (Tag.kind, Tag.value, Tag.mention), win, scope, days.live, join_tags=True,
                 where=(Tag.rejected.is_(False),))
    dimensions = _dimensions(session, win, scope, days.live)
    per_day = _per_day(session, win, scope, days.live)
    for day, (calls, complaints) in rolled.per_day.items():
        per_day.setdefault(day, [0, 0])
        per_day[day][0] += calls
        per_day[day][1] += complaints
    return (_sum_both(tags, rolled.tags),
            {name: _sum_both(counts, rolled.dimensions[name]) for name, counts in dimensions.items()}, per_day)


def dashboard(session: Session, user: User, period: Period, today: date, locale: str, *,
              rollups: bool = True) -> Dashboard:
    """Every figure of the dashboard for ``user`` (aggregate queries only), for the period ending on ``today``.

    ``rollups`` False counts every day live (the roll-ups hold the same counts: tests compare the two).
    """
    win = window(period, today)
    scope = scope_of(session, user)
    result = Dashboard(win, scope)
    if scope.empty:
        return result
    names = _taxonomy_labels(session, locale)
    tag_counts, dimensions, per_day = _counted(session, win, scope, rollups)

    def tagged(kind: TagKind, mention: bool | None = None) -> Any:
        return lambda rest: rest[0] == kind and (mention is None or bool(rest[2]) is mention)

    def by(name: str, **extra: str) -> Any:
        return lambda selection, key: replace(selection, **{name: key}, **extra)

    result.series = _series(win, per_day)
    result.totals = _figures(win, dimensions["total"], {"": ""}, lambda s, _k: s)
    result.sentiments = _shares(win, tag_counts, {str(s): enum_label("sentiment", s) for s in Sentiment})
    result.topics = _figures(win, tag_counts, names[LabelKind.TOPIC], by("topic", passing=Passing.MAIN),
                             key_of=lambda rest: rest[1], keep=tagged(TagKind.TOPIC, mention=False))
    result.mentions = _figures(win, tag_counts, names[LabelKind.TOPIC], by("topic", passing=Passing.MENTION),
                               key_of=lambda rest: rest[1], keep=tagged(TagKind.TOPIC, mention=True))
    result.reasons = _figures(win, tag_counts, names[LabelKind.REASON], by("reason"),
                              key_of=lambda rest: rest[1], keep=tagged(TagKind.REASON))
    result.products = _figures(win, dimensions["product"], {}, by("product"), keep=lambda rest: bool(rest[0]))
    channels = {str(c): enum_label("channel", c) for c in Channel}
    result.channels = _figures(win, dimensions["channel"], channels, by("channel"))
    if scope.agents:
        result.agents = _figures(win, dimensions["agent"], {}, by("agent"), keep=lambda rest: bool(rest[0]))
    return result


# --- the voices behind a number ------------------------------------------------------------------------


@dataclass
class Voices:
    selection: Selection
    scope: Scope
    calls: list[Call]
    complaints: list[Complaint]
    call_total: int
    complaint_total: int
    #: The approved clips of the selection's calls.
    clips: list[Clip]


def voices(session: Session, user: User, selection: Selection) -> Voices:
    """The calls, complaints and approved clips behind one number (the first ones of each)."""
    scope = scope_of(session, user)
    if scope.empty:
        return Voices(selection, scope, [], [], 0, 0, [])
    if not scope.agents:
        selection = replace(selection, agent="")
    call_where = list(selection.conditions(Call, scope))
    complaint_where = list(selection.conditions(Complaint, scope))
    calls = list(session.scalars(select(Call).where(*call_where)
                                 .order_by(Call.received_at.desc(), Call.id.desc()).limit(VOICES_SHOWN)))
    complaints = list(session.scalars(select(Complaint).where(*complaint_where)
                                      .order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(VOICES_SHOWN)))
    call_total = int(session.scalar(select(func.count()).select_from(Call).where(*call_where)) or 0)
    complaint_total = int(session.scalar(select(func.count()).select_from(Complaint).where(*complaint_where)) or 0)
    clips = list(session.scalars(select(Clip).join(Call, Clip.call_id == Call.id)
                                 .where(Clip.status == ClipStatus.APPROVED, *call_where)
                                 .order_by(Clip.approved_at.desc(), Clip.id.desc()).limit(CLIPS_SHOWN)))
    return Voices(selection, scope, calls, complaints, call_total, complaint_total, clips)


def period_of(args: Mapping[str, str], today: date) -> tuple[Period, date]:
    """The period an address names (``period``, ``end``: its last day), the last 7 days ending today
    when it names none (:class:`~webapp.errors.BadRequest` for a day out of range)."""
    raw = args.get("period", "")
    period = Period(raw) if raw in tuple(Period) else Period.WEEK
    return period, listing.day(args.get("end", "")) or today
