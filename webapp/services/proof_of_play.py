"""Proof of play: how many times each clip played on each screen, per day (issue #16, item 8).

Every play a kiosk's heartbeat reports and webapp/services/kiosks.py accepts is counted here, in
``PlayTally`` (one row per screen, clip and day, the day in the company's time zone), by an
``INSERT … ON CONFLICT … DO UPDATE`` upsert: two heartbeats at once never lose a play, on
PostgreSQL as on SQLite. A tally holds ids, a day, a count and the screen's name: no personal
data, and no foreign key, so the report outlives a clip's retirement and its erasure (an erased
clip is shown as "clip erased", without its title, which was a person's words about a customer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapp import exports
from webapp.db import utcnow
from webapp.i18n import _
from webapp.models import Clip, Kiosk, PlayTally, Tenant, User
from webapp.services import audit

#: The longest range a report covers (days): a year and a day, so that a leap year fits.
MAX_DAYS = 366
#: The range shown when none is asked for (days, today included).
DEFAULT_DAYS = 30


def zone(tenant: Tenant | None) -> ZoneInfo:
    """The company's time zone (Europe/Paris when unset or unknown)."""
    try:
        return ZoneInfo(tenant.timezone if tenant is not None and tenant.timezone else "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


def count_plays(session: Session, kiosk: Kiosk, plays: Iterable[tuple[int, datetime]]) -> None:
    """Add the accepted ``plays`` (clip id, when) of ``kiosk`` to the tallies, one upsert per (clip, day).

    Safe under concurrency: the increment happens in the database (``plays = plays + n``), and the
    unique constraint on (tenant, screen, clip, day) makes a second insert an update.
    """
    tz = zone(session.get(Tenant, kiosk.tenant_id))
    counts: dict[tuple[int, date], int] = defaultdict(int)
    for clip_id, at in plays:
        counts[(clip_id, at.astimezone(tz).date())] += 1
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for (clip_id, day), n in sorted(counts.items()):
        # A Core insert: the tenant is stamped here, from the kiosk the request is bound to (RLS checks it).
        stmt = insert(PlayTally).values(tenant_id=kiosk.tenant_id, kiosk_id=kiosk.id, clip_id=clip_id, day=day,
                                        plays=n, kiosk_name=kiosk.name[:120])
        session.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "kiosk_id", "clip_id", "day"],
            set_={"plays": PlayTally.plays + stmt.excluded.plays}))


@dataclass(frozen=True)
class DateRange:
    """The days a report covers, both included, and what was wrong with the asked range, if anything."""

    start: date
    end: date
    error: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def date_range(args: Mapping[str, str], tenant: Tenant | None, *, now: datetime | None = None) -> DateRange:
    """The range ``?start=YYYY-MM-DD&end=YYYY-MM-DD`` asks for; the last 30 days (company time) by default.

    An unreadable, reversed or too long range falls back to the default, with a message saying why.
    """
    today = (now or utcnow()).astimezone(zone(tenant)).date()
    default = DateRange(today - timedelta(days=DEFAULT_DAYS - 1), today)
    raw_start, raw_end = (args.get("start") or "").strip(), (args.get("end") or "").strip()
    if not raw_start and not raw_end:
        return default
    try:
        start = date.fromisoformat(raw_start) if raw_start else default.start
        end = date.fromisoformat(raw_end) if raw_end else today
    except ValueError:
        return DateRange(default.start, default.end, _("Dates are written as 2026-11-30. The last 30 days are "
                                                       "shown instead."))
    if end < start:
        return DateRange(default.start, default.end, _("The range ends before it starts. The last 30 days are "
                                                       "shown instead."))
    if (end - start).days + 1 > MAX_DAYS:
        return DateRange(default.start, default.end, _("A report covers a year at most. The last 30 days are "
                                                       "shown instead."))
    return DateRange(start, end)


@dataclass(frozen=True)
class Line:
    """Plays of one clip on one screen on one day, with the names to show (never a customer's)."""

    day: date
    kiosk_id: int
    screen: str
    clip_id: int
    #: The clip's title, or "" when the clip was erased (:attr:`is_erased`).
    title: str
    is_erased: bool
    is_retired: bool
    plays: int


@dataclass(frozen=True)
class Total:
    key: int
    name: str
    plays: int
    is_erased: bool = False


@dataclass(frozen=True)
class PlayReport:
    range: DateRange
    lines: list[Line] = field(default_factory=list)
    by_clip: list[Total] = field(default_factory=list)
    by_screen: list[Total] = field(default_factory=list)
    by_day: list[tuple[date, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.plays for line in self.lines)


def _lines(session: Session, period: DateRange) -> list[Line]:
    rows = session.execute(select(PlayTally.day, PlayTally.kiosk_id, PlayTally.kiosk_name, PlayTally.clip_id,
                                  PlayTally.plays)
                           .where(PlayTally.day >= period.start, PlayTally.day <= period.end)
                           .order_by(PlayTally.day, PlayTally.kiosk_id, PlayTally.clip_id)).all()
    clip_ids = {row.clip_id for row in rows}
    kiosk_ids = {row.kiosk_id for row in rows}
    clips = ({c.id: (c.title, c.retired_at is not None)
              for c in session.execute(select(Clip.id, Clip.title, Clip.retired_at).where(Clip.id.in_(clip_ids)))}
             if clip_ids else {})
    screens = ({k.id: k.name for k in session.execute(select(Kiosk.id, Kiosk.name).where(Kiosk.id.in_(kiosk_ids)))}
               if kiosk_ids else {})
    lines = []
    for row in rows:
        title, retired = clips.get(row.clip_id, ("", False))
        lines.append(Line(day=row.day, kiosk_id=row.kiosk_id, screen=screens.get(row.kiosk_id, row.kiosk_name),
                          clip_id=row.clip_id, title=title, is_erased=row.clip_id not in clips, is_retired=retired,
                          plays=int(row.plays)))
    return lines


def report(session: Session, period: DateRange) -> PlayReport:
    """Plays in ``period``: per clip, screen and day, and totals per clip, per screen and per day."""
    lines = _lines(session, period)
    clips: dict[int, int] = defaultdict(int)
    screens: dict[int, int] = defaultdict(int)
    days: dict[date, int] = defaultdict(int)
    names: dict[int, tuple[str, bool]] = {}
    screen_names: dict[int, str] = {}
    for line in lines:
        clips[line.clip_id] += line.plays
        screens[line.kiosk_id] += line.plays
        days[line.day] += line.plays
        names[line.clip_id] = (line.title, line.is_erased)
        screen_names[line.kiosk_id] = line.screen
    by_clip = sorted((Total(i, names[i][0], n, names[i][1]) for i, n in clips.items()), key=lambda t: (-t.plays, t.key))
    by_screen = sorted((Total(i, screen_names[i], n) for i, n in screens.items()), key=lambda t: (-t.plays, t.key))
    return PlayReport(period, lines, by_clip, by_screen, sorted(days.items()))


def export(session: Session, actor: User, period: DateRange, *, fmt: str) -> exports.Download:
    """The report's lines as ``fmt`` ("csv" or "xlsx"), column names in the request's language; journalled."""
    erased = _("clip erased")
    header = [_("Day"), _("Screen"), _("Clip"), _("Clip title"), _("Plays")]
    rows = [[line.day.isoformat(), line.screen, line.clip_id, erased if line.is_erased else line.title, line.plays]
            for line in _lines(session, period)]
    done = exports.download(fmt, header, rows, sheet=_("Plays"),
                            filename=f"plays-{period.start.isoformat()}-{period.end.isoformat()}")
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="plays.exported", target="", format=fmt,
                 rows=done.rows, start=period.start.isoformat(), end=period.end.isoformat())
    return done
