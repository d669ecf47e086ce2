"""The insight dashboard's daily roll-ups (webapp/models/insight_days.py): which days a dashboard reads from
them, reading them, and building them (the ``insight_days`` job, queued by a periodic schedule).

A dashboard's days (its period and baseline) split in two (:func:`plan`): the days that are over (before
today, UTC) and unmarked are read from the roll-ups (:func:`read`, three aggregate queries over a few
hundred rows per day or whole month, whatever the number of voices); today, the days after it and every
marked day are counted live from the calls, complaints and tags, as before (webapp/services/insights.py).
The two add up to what the live queries alone give: the roll-ups hold the same counts, made by the
same conditions (:func:`build`; tests/test_insights_rollups.py compares them on both engines).

The marks are written by the one hook in webapp/models/insight_days.py, whatever service writes voices or
tags. :func:`schedule_builds` queues, every 10 minutes, a build for each company with marked days that are
over; the build replaces those days' roll-ups and deletes the marks it read, in one transaction, so a
write that lands meanwhile leaves its day marked (counted live until the next build).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, literal_column, or_, select, text
from sqlalchemy.orm import Session

from webapp import jobs, tenancy
from webapp.models import Call, Complaint, Tag, TagKind
from webapp.models.insight_days import Grouping, InsightDay, InsightMark, Span, VoiceKind
from webapp.services import windows

#: The job kind that builds a company's marked days.
BUILD = "insight_days"
#: Days one build reads at a time (a few queries per source each).
BATCH_DAYS = 31
#: Beyond this many separate runs of days to count live (marks scattered over the window), the whole
#: window is counted live: one range scan beats dozens of ORed ones.
MAX_LIVE_RANGES = 40
#: The tag kinds the dashboard counts.
KINDS = (TagKind.SENTIMENT, TagKind.TOPIC, TagKind.REASON)

#: (period is current, key...) -> count, per voice table (as webapp/services/insights.py counts).
Counts = dict[tuple[Any, ...], int]
Voice = type[Call] | type[Complaint]
Range = tuple[date, date]


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def runs(days: Iterable[date]) -> list[Range]:
    """Consecutive days as (first, last) ranges, in order."""
    found: list[Range] = []
    for day in sorted(set(days)):
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def within(model: Voice, ranges: Sequence[Range]) -> ColumnElement[bool]:
    """``model``'s voices received on the days of ``ranges`` (UTC days, both ends included)."""
    return or_(*(and_(model.received_at >= _at(first), model.received_at < _at(last + timedelta(days=1)))
                 for first, last in ranges))


def day_column(session: Session, model: Voice) -> Any:  # Any: a SQL expression of either engine
    """The UTC day a voice was received on, in SQL (PostgreSQL stores an instant, SQLite a UTC text)."""
    stamp: Any = model.received_at
    if session.get_bind().dialect.name == "postgresql":
        stamp = func.timezone(literal_column("'UTC'"), stamp)
    return func.date(stamp)


def as_date(value: Any) -> date:
    """A day as the engine returns it (a date on PostgreSQL, text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- which days come from where ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How a dashboard counts the days from ``start`` to ``end``."""

    start: date
    end: date
    #: Days from ``start`` to ``rolled_end`` but the ``marked`` ones are read from the roll-ups; None: none.
    rolled_end: date | None
    marked: tuple[date, ...]
    #: The days counted live, as ranges (today and after, and the marked days).
    live: tuple[Range, ...]
    #: The first days of the calendar months read from month rows: rolled up whole (no day marked, over)
    #: and on one side of the period's first day. Their days are read from day rows for the chart only.
    months: tuple[date, ...] = ()

    def edges(self) -> list[Range]:
        """The rolled-up days outside :attr:`months`, as ranges (read from day rows)."""
        if self.rolled_end is None:
            return []
        skipped = set(self.marked)
        for first in self.months:
            skipped.update(first + timedelta(days=n) for n in range((_next_month(first) - first).days))
        days = (self.start + timedelta(days=n) for n in range((self.rolled_end - self.start).days + 1))
        return runs(day for day in days if day not in skipped)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def plan(session: Session, start: date, end: date, today: date, current_start: date | None = None) -> Plan:
    """Which days of ``start``..``end`` are read from roll-ups and which are counted live (one query);
    with ``current_start`` (the period's first day), which whole months on either side of it are read
    from month rows."""
    rolled_end = min(end, today - timedelta(days=1))
    if rolled_end < start:
        return Plan(start, end, None, (), ((start, end),))
    marked = tuple(session.scalars(select(InsightMark.day).where(InsightMark.day >= start,
                                                                 InsightMark.day <= rolled_end)
                                   .distinct().order_by(InsightMark.day)))
    if len(marked) > (rolled_end - start).days:  # every day marked
        return Plan(start, end, None, (), ((start, end),))
    live_days = list(marked)
    if end > rolled_end:
        live_days += [rolled_end + timedelta(days=1 + i) for i in range((end - rolled_end).days)]
    live = runs(live_days)
    if len(live) > MAX_LIVE_RANGES:
        return Plan(start, end, None, (), ((start, end),))
    months: list[date] = []
    first = start if start.day == 1 else _next_month(start)
    while current_start is not None and _next_month(first) - timedelta(days=1) <= rolled_end:
        last = _next_month(first) - timedelta(days=1)
        one_side = last < current_start or first >= current_start
        if one_side and not any(first <= day <= last for day in marked):
            months.append(first)
        first = _next_month(first)
    return Plan(start, end, rolled_end, marked, tuple(live), tuple(months))


# --- reading -------------------------------------------------------------------------------------------


@dataclass
class Rolled:
    """What the roll-ups of a plan's days add to a dashboard, in webapp/services/insights.py's shapes."""

    #: (is current, kind, value, mention) -> tags, for calls and complaints.
    tags: tuple[Counts, Counts] = field(default_factory=lambda: ({}, {}))
    #: "total", "product", "channel", "agent" -> (is current[, key]) -> voices, for calls and complaints.
    dimensions: dict[str, tuple[Counts, Counts]] = field(
        default_factory=lambda: {name: ({}, {}) for name in ("total", "product", "channel", "agent")})
    #: day -> [calls, complaints]
    per_day: dict[date, list[int]] = field(default_factory=dict)


def _add(counts: Counts, key: tuple[Any, ...], n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def read(session: Session, days: Plan, current_start: date, products: tuple[str, ...] | None,
         agents: bool) -> Rolled:
    """The roll-ups of ``days``' rolled-up days, split at ``current_start`` (the period's first day).

    ``products``: only these products' voices (staff), None for all; ``agents``: the counts by agent too
    (for every product only: raises ValueError with ``products``). Three queries at most: the whole
    months' rows, the other days' rows, and the voices per day (for the chart and the totals).
    """
    if products is not None and agents:
        raise ValueError("the roll-ups count agents for every product only")
    found = Rolled()
    if days.rolled_end is None:
        return found
    scoped = [] if products is None else [InsightDay.product.in_(products)]
    if products is None:
        groups = [Grouping.PRODUCT, Grouping.CHANNEL, Grouping.TAG] + ([Grouping.AGENT] if agents else [])
        series_group = Grouping.TOTAL
    else:
        groups = [Grouping.PRODUCT_CHANNEL, Grouping.PRODUCT_TAG]
        series_group = Grouping.PRODUCT_CHANNEL
    edges = days.edges()
    if days.months:
        _read_groups(session, found, current_start, InsightDay.span == Span.MONTH, InsightDay.day.in_(days.months),
                     InsightDay.grouping.in_(groups), *scoped)
    if edges:
        _read_groups(session, found, current_start, InsightDay.span == Span.DAY, _on(edges),
                     InsightDay.grouping.in_(groups), *scoped)
    when = [InsightDay.span == Span.DAY, InsightDay.grouping == series_group, InsightDay.day >= days.start,
            InsightDay.day <= days.rolled_end, *scoped]
    if days.marked:
        when.append(InsightDay.day.not_in(days.marked))
    for source, day, n in session.execute(select(InsightDay.source, InsightDay.day, func.sum(InsightDay.count))
                                          .where(*when).group_by(InsightDay.source, InsightDay.day)):
        column, when_day = (0 if source == VoiceKind.CALL else 1), as_date(day)
        found.per_day.setdefault(when_day, [0, 0])[column] += int(n)
        _add(found.dimensions["total"][column], (1 if when_day >= current_start else 0,), int(n))
    return found


def _on(ranges: Sequence[Range]) -> ColumnElement[bool]:
    return or_(*(and_(InsightDay.day >= first, InsightDay.day <= last) for first, last in ranges))


def _read_groups(session: Session, found: Rolled, current_start: date, *where: ColumnElement[bool]) -> None:
    """Add the counts of the rows ``where`` picks to ``found``'s tags and dimensions (one query)."""
    is_current = case((InsightDay.day >= current_start, 1), else_=0)
    keys = (InsightDay.source, InsightDay.grouping, is_current, InsightDay.product, InsightDay.channel,
            InsightDay.agent, InsightDay.kind, InsightDay.value, InsightDay.mention)
    rows = session.execute(select(*keys, func.sum(InsightDay.count)).where(*where).group_by(*keys))
    dims = found.dimensions
    for source, grouping, current, product, channel, agent, kind, value, mention, n in rows:
        column, n = (0 if source == VoiceKind.CALL else 1), int(n)
        if grouping in (Grouping.TAG, Grouping.PRODUCT_TAG):
            _add(found.tags[column], (current, kind, value, bool(mention)), n)
            continue
        if grouping in (Grouping.PRODUCT, Grouping.PRODUCT_CHANNEL):
            _add(dims["product"][column], (current, product), n)
        if grouping in (Grouping.CHANNEL, Grouping.PRODUCT_CHANNEL):
            _add(dims["channel"][column], (current, channel), n)
        if grouping is Grouping.AGENT:
            _add(dims["agent"][column], (current, agent), n)


# --- building ------------------------------------------------------------------------------------------


def _batches(days: Sequence[date], size: int) -> Iterator[list[date]]:
    for start in range(0, len(days), size):
        yield list(days[start:start + size])


def _grouped(session: Session, columns: Sequence[Any], where: Sequence[ColumnElement[bool]],
             join: Voice | None = None) -> Iterator[tuple[Any, ...]]:
    """``columns`` (the day first) and a count per group, for the rows ``where`` picks."""
    inner = select(*columns)
    if join is not None:
        inner = inner.select_from(Tag).join(join, (Tag.call_id if join is Call else Tag.complaint_id) == join.id)
    sub = inner.where(*where).subquery()
    for row in session.execute(select(*sub.c, func.count()).group_by(*sub.c)):
        yield (as_date(row[0]), *row[1:])


def count_days(session: Session, days: Sequence[date]) -> list[dict[str, Any]]:
    """The roll-up rows of ``days`` for the session's company, counted live (three queries per source)."""
    rows: list[dict[str, Any]] = []
    ranges = runs(days)
    models: tuple[tuple[VoiceKind, Voice], ...] = ((VoiceKind.CALL, Call), (VoiceKind.COMPLAINT, Complaint))
    for source, model in models:
        day = day_column(session, model).label("day")
        where = [within(model, ranges)]
        counts: Counter[tuple[Any, ...]] = Counter()
        for on, product, channel, n in _grouped(session, (day, model.product, model.channel), where):
            channel = str(channel)
            counts[on, Grouping.PRODUCT_CHANNEL, product, channel, "", "", "", False] += n
            counts[on, Grouping.PRODUCT, product, "", "", "", "", False] += n
            counts[on, Grouping.CHANNEL, "", channel, "", "", "", False] += n
            counts[on, Grouping.TOTAL, "", "", "", "", "", False] += n
        for on, agent, n in _grouped(session, (day, model.agent), where):
            counts[on, Grouping.AGENT, "", "", agent, "", "", False] += n
        tagged = [*where, Tag.rejected.is_(False), Tag.kind.in_(KINDS)]
        for on, product, kind, value, mention, n in _grouped(
                session, (day, model.product, Tag.kind, Tag.value, Tag.mention), tagged, join=model):
            kind, mention = str(kind), bool(mention)
            counts[on, Grouping.PRODUCT_TAG, product, "", "", kind, value, mention] += n
            counts[on, Grouping.TAG, "", "", "", kind, value, mention] += n
        rows += [{"day": on, "span": Span.DAY, "source": source, "grouping": grouping, "product": product,
                  "channel": channel, "agent": agent, "kind": kind, "value": value, "mention": mention, "count": n}
                 for (on, grouping, product, channel, agent, kind, value, mention), n in counts.items()]
    return rows


def _build_month(session: Session, tenant_id: int, first: date) -> None:
    """Replace a month's rows with the sums of its day rows (a build rebuilt some of them)."""
    session.execute(delete(InsightDay).where(InsightDay.span == Span.MONTH, InsightDay.day == first)
                    .execution_options(synchronize_session=False))
    keys = (InsightDay.source, InsightDay.grouping, InsightDay.product, InsightDay.channel, InsightDay.agent,
            InsightDay.kind, InsightDay.value, InsightDay.mention)
    sums = session.execute(select(*keys, func.sum(InsightDay.count)).where(
        InsightDay.span == Span.DAY, InsightDay.day >= first, InsightDay.day < _next_month(first)).group_by(*keys))
    rows = [{"tenant_id": tenant_id, "day": first, "span": Span.MONTH, "source": source, "grouping": grouping,
             "product": product, "channel": channel, "agent": agent, "kind": kind, "value": value,
             "mention": mention, "count": int(n)}
            for source, grouping, product, channel, agent, kind, value, mention, n in sums]
    if rows:
        session.execute(insert(InsightDay), rows)


def build(session: Session, today: date) -> int:
    """Rebuild the roll-ups of the session's company's marked days before ``today`` and of their months,
    and delete the marks read; how many days were built. Marks made meanwhile (by transactions this one
    does not see) stay.

    On PostgreSQL a transaction-level advisory lock keeps two builds of one company from interleaving
    (each would delete the rows the other had not committed yet, and both would insert).
    """
    tenant_id: int = session.info["tenant_id"]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(1115, :t)"), {"t": tenant_id})
    marks = session.execute(select(InsightMark.id, InsightMark.day).where(InsightMark.day < today)).all()
    days = sorted({day for _id, day in marks})
    for batch in _batches(days, BATCH_DAYS):
        session.execute(delete(InsightDay).where(InsightDay.span == Span.DAY, InsightDay.day.in_(batch))
                        .execution_options(synchronize_session=False))
        rows = count_days(session, batch)
        if rows:
            session.execute(insert(InsightDay), [{"tenant_id": tenant_id, **row} for row in rows])
    for first in sorted({day.replace(day=1) for day in days}):
        _build_month(session, tenant_id, first)
    ids = sorted(mark_id for mark_id, _day in marks)
    for start in range(0, len(ids), 500):
        session.execute(delete(InsightMark).where(InsightMark.id.in_(ids[start:start + 500])).execution_options(
            synchronize_session=False))
    return len(days)


def run_build(tenant_id: int, now: datetime) -> int:
    """The ``insight_days`` job: build one company's marked days that are over, in one transaction."""
    with tenancy.tenant_session(tenant_id) as session:
        return build(session, now.astimezone(UTC).date())


def _slot(now: datetime) -> str:
    """``now``'s ten minutes as a window key: ``2026-12-03T21:10``."""
    return f"{now.astimezone(UTC):%Y-%m-%dT%H}:{now.minute // 10}0"


def schedule_builds(now: datetime) -> int:
    """Queue a build for each company with marked days that are over, at most one per ten minutes; how
    many were queued (a periodic schedule: webapp/services/periodic.py)."""
    today = now.astimezone(UTC).date()
    queued = 0
    for tenant_id in windows.company_ids():
        with tenancy.tenant_session(tenant_id) as session:
            pending = session.scalar(select(InsightMark.id).where(InsightMark.day < today).limit(1)) is not None
        if pending:
            queued += jobs.enqueue_once(tenant_id, kind=BUILD, idempotency_key=f"{BUILD}:{_slot(now)}",
                                        payload={"day": today.isoformat()})
    return queued
