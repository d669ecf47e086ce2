"""The regulatory clocks of a complaint: by when it must be acknowledged, and by when answered.

The default rule set is ACPR's (recommendation 2022-R-01, updated by 2024-R-02), binding on banks and
insurers: acknowledge within 10 *jours ouvrables* (Monday to Saturday, French public holidays excluded,
the day the clock starts not counted), and answer within 2 calendar months. Both run from the date the
complaint was sent when it is known (a letter's postmark, an e-mail's date), else from the date it was
received. Answering within the first delay counts as acknowledging.

Public holidays come from the ``holidays`` package (metropolitan France, or Alsace-Moselle with its Good
Friday and 26 December), never from a table typed here. Other rule sets: *jours ouvrés* (Monday to
Friday) and custom day counts. This module is pure: no database, no Flask.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays
from dateutil.relativedelta import relativedelta


class DayKind(enum.StrEnum):
    """Which days count towards a delay."""

    OUVRABLES = "ouvrables"  #: Monday to Saturday, public holidays excluded
    OUVRES = "ouvres"  #: Monday to Friday, public holidays excluded
    CALENDAR = "calendar"  #: every day


class Calendar(enum.StrEnum):
    """Which French public holidays apply."""

    METROPOLITAN = "metropolitan"
    ALSACE_MOSELLE = "alsace_moselle"  #: adds Good Friday and 26 December


@dataclass(frozen=True)
class ClockRules:
    """A company's rule set: the acknowledgement delay in days of ``days``, the answer delay in months
    (calendar months, as ACPR's) or, when ``answer_days`` is set, in days of ``days``."""

    acknowledge_days: int = 10
    days: DayKind = DayKind.OUVRABLES
    answer_months: int = 2
    answer_days: int | None = None
    calendar: Calendar = Calendar.METROPOLITAN

    def __post_init__(self) -> None:
        if not 1 <= self.acknowledge_days <= 365:
            raise ValueError("acknowledge_days must be between 1 and 365")
        if not 1 <= self.answer_months <= 24:
            raise ValueError("answer_months must be between 1 and 24")
        if self.answer_days is not None and not 1 <= self.answer_days <= 730:
            raise ValueError("answer_days must be between 1 and 730")


#: ACPR 2022-R-01: 10 jours ouvrables to acknowledge, 2 months to answer.
ACPR = ClockRules()
#: The same delays counted in jours ouvrés (Monday to Friday), as some companies commit to.
OUVRES = ClockRules(days=DayKind.OUVRES)


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: date
    answer_by: date


@cache
def _public_holidays(calendar: Calendar, year: int) -> frozenset[date]:
    subdiv = "57" if calendar is Calendar.ALSACE_MOSELLE else None
    return frozenset(holidays.country_holidays("FR", subdiv=subdiv, years=year))


def counts(day: date, kind: DayKind, calendar: Calendar = Calendar.METROPOLITAN) -> bool:
    """Whether ``day`` counts towards a delay in days of ``kind``."""
    if kind is DayKind.CALENDAR:
        return True
    last_weekday = 5 if kind is DayKind.OUVRABLES else 4  # Saturday, or Friday
    return day.weekday() <= last_weekday and day not in _public_holidays(calendar, day.year)


def add_days(start: date, count: int, kind: DayKind, calendar: Calendar = Calendar.METROPOLITAN) -> date:
    """The day on which ``count`` days of ``kind`` have passed after ``start`` (``start`` itself not counted)."""
    day = start
    left = count
    while left > 0:
        day += timedelta(days=1)
        if counts(day, kind, calendar):
            left -= 1
    return day


def deadlines(received: date, sent: date | None = None, rules: ClockRules = ACPR) -> Deadlines:
    """The complaint's due dates under ``rules``, from ``sent`` when known, else from ``received``."""
    start = sent or received
    acknowledge_by = add_days(start, rules.acknowledge_days, rules.days, rules.calendar)
    if rules.answer_days is not None:
        answer_by = add_days(start, rules.answer_days, rules.days, rules.calendar)
    else:
        answer_by = start + relativedelta(months=rules.answer_months)  # 31 December + 2 months: 28 February
    return Deadlines(acknowledge_by=acknowledge_by, answer_by=answer_by)
