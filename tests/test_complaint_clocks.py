"""The complaint register's regulatory clocks (issue #15): ACPR's jours ouvrables and calendar months."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.services.complaint_clocks import (
    ACPR,
    OUVRES,
    Calendar,
    ClockRules,
    DayKind,
    add_days,
    counts,
    deadlines,
)


def test_a_complaint_received_on_christmas_eve_is_due_on_the_seventh_of_january_and_the_24th_of_february() -> None:
    """The issue's pinned example: Wednesday 24 December 2025, no sent date. Counting from the 25th
    (not counted: holiday), 26 Fri, 27 Sat, 29-31, 2 Jan (1 Jan is a holiday), 3 Sat, 5, 6, 7."""
    due = deadlines(date(2025, 12, 24))
    assert due.acknowledge_by == date(2026, 1, 7)
    assert due.answer_by == date(2026, 2, 24)


def test_the_sent_date_starts_the_clock_when_known() -> None:
    due = deadlines(received=date(2025, 12, 24), sent=date(2025, 12, 19))  # a letter posted on a Friday
    assert due.acknowledge_by == date(2026, 1, 2)  # 20 Sat, 22-24, 26, 27, 29-31, 2 Jan
    assert due.answer_by == date(2026, 2, 19)


def test_sundays_and_public_holidays_never_count_saturdays_do_in_jours_ouvrables() -> None:
    assert counts(date(2026, 1, 3), DayKind.OUVRABLES)  # a Saturday
    assert not counts(date(2026, 1, 4), DayKind.OUVRABLES)  # a Sunday
    assert not counts(date(2026, 5, 1), DayKind.OUVRABLES)  # Labour Day, a Friday
    assert not counts(date(2026, 5, 14), DayKind.OUVRABLES)  # Ascension, from the holiday library
    assert not counts(date(2026, 1, 3), DayKind.OUVRES)  # Saturdays do not count in jours ouvrés


def test_jours_ouvres_skip_saturdays() -> None:
    assert deadlines(date(2025, 12, 24), rules=OUVRES).acknowledge_by == date(2026, 1, 9)


def test_alsace_moselle_adds_good_friday_and_saint_stephen() -> None:
    metropolitan = add_days(date(2025, 12, 24), 1, DayKind.OUVRABLES)
    alsace = add_days(date(2025, 12, 24), 1, DayKind.OUVRABLES, Calendar.ALSACE_MOSELLE)
    assert (metropolitan, alsace) == (date(2025, 12, 26), date(2025, 12, 27))
    assert counts(date(2026, 4, 3), DayKind.OUVRABLES)
    assert not counts(date(2026, 4, 3), DayKind.OUVRABLES, Calendar.ALSACE_MOSELLE)


def test_two_months_from_the_end_of_a_month_end_on_the_last_day_of_the_shorter_month() -> None:
    assert deadlines(date(2025, 12, 31)).answer_by == date(2026, 2, 28)
    assert ACPR.answer_months == 2 and ACPR.acknowledge_days == 10


def test_custom_day_counts() -> None:
    rules = ClockRules(acknowledge_days=2, days=DayKind.CALENDAR, answer_days=30)
    due = deadlines(date(2025, 12, 24), rules=rules)
    assert due == type(due)(acknowledge_by=date(2025, 12, 26), answer_by=date(2026, 1, 23))


@pytest.mark.parametrize("bad", [{"acknowledge_days": 0}, {"answer_months": 0}, {"answer_days": 0}])
def test_a_rule_set_without_a_delay_is_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="between"):
        ClockRules(**bad)
