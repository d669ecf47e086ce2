"""The list component (webapp/services/listing.py): a list's filters read from a query string, written
back, turned into conditions, and drawn by the shared form. The call and clip lists that use it are
tested over HTTP in test_ingestion.py, test_tags.py, test_clips.py, test_search.py and test_edge_input.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from flask import Flask, render_template_string
from sqlalchemy import ColumnElement, select
from werkzeug.datastructures import MultiDict

from tests.conftest import CountQueries
from webapp.errors import BadRequest
from webapp.models import Call, CallStatus, Channel, LabelKind, Role
from webapp.services import listing
from webapp.services.calls import CallFilters
from webapp.services.clips import ClipFilters


@dataclass(frozen=True)
class Register(listing.Filters):
    """A list declared the way the complaint register will be: every kind of field once."""

    q: str = listing.text("Words", 20, search=True, placeholder="e.g. refund", hint="In the text.")
    status: str = listing.choice("Status", CallStatus, labels="status")
    reason: str = listing.tag("Reason", LabelKind.REASON, hide_if_empty=True)
    received: listing.DayRange = listing.dates("Received from", "to", start="from", end="until")

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.status:
            yield Call.status == self.status
        yield from self.received.conditions(Call.received_at)


def args(**values: str) -> MultiDict[str, str]:
    return MultiDict(values)


# --- reading -------------------------------------------------------------------------------------------


def test_an_empty_query_string_gives_the_defaults() -> None:
    f = Register.from_args(args())
    assert f == Register() and f.page == 1 and f.received == listing.DayRange()
    assert not f.is_filtering and f.query_args() == {}


def test_each_kind_reads_its_value() -> None:
    f = Register.from_args(args(q="  rendez   vous ", status="ready", reason="late_parcel", **{"from": "2026-01-31"},
                                until="2026-02-01", page="3"))
    assert (f.q, f.status, f.reason, f.page) == ("rendez vous", "ready", "late_parcel", 3)
    assert f.received == listing.DayRange(date(2026, 1, 31), date(2026, 2, 1))
    assert f.is_filtering


def test_words_are_cut_at_their_length_and_lose_the_nul_postgresql_refuses() -> None:
    f = Register.from_args(args(q="a\x00b " + "x" * 40))
    assert f.q == "ab " + "x" * 17 and len(f.q) == 20


@pytest.mark.parametrize(("name", "value"), [("status", "nonsense"), ("status", "READY"), ("reason", "../etc"),
                                             ("reason", "Late"), ("reason", "x" * 61), ("from", "31/01/2026"),
                                             ("until", "2026-02-30"), ("from", "")])
def test_a_value_that_makes_no_sense_is_ignored(name: str, value: str) -> None:
    """As a stale bookmark should still open its list (a retired status, a mistyped date)."""
    assert Register.from_args(args(**{name: value})) == Register()


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
def test_a_date_out_of_range_is_refused_with_the_reason(value: str) -> None:
    with pytest.raises(BadRequest) as refused:
        Register.from_args(args(until=value))
    assert refused.value.code == "date_out_of_range" and value in str(refused.value.message)
    assert "1900-01-01" in str(refused.value.message) and "2999-12-31" in str(refused.value.message)


def test_the_first_and_last_days_a_list_may_name_are_read() -> None:
    f = Register.from_args(args(**{"from": "1900-01-01"}, until="2999-12-31"))
    assert f.received == listing.DayRange(listing.FIRST_DAY, listing.LAST_DAY)


@pytest.mark.parametrize("page", ["0", "-1", "1.5", "abc", "10001", "1e3", "１", "1000000", " 2x"])
def test_a_page_that_is_not_a_page_number_is_refused_with_the_reason(page: str) -> None:
    with pytest.raises(BadRequest) as refused:
        Register.from_args(args(page=page))
    assert refused.value.code == "page_invalid" and "10000" in str(refused.value.message)


@pytest.mark.parametrize(("page", "expected"), [("", 1), (" 7 ", 7), ("10000", listing.MAX_PAGE)])
def test_page_numbers(page: str, expected: int) -> None:
    assert Register.from_args(args(page=page)).page == expected


# --- writing back ----------------------------------------------------------------------------------------


def test_query_args_give_back_what_was_read_and_leave_out_the_empty_ones() -> None:
    query = {"q": "porte", "status": "failed", "from": "2026-03-01", "page": "2"}
    f = Register.from_args(args(**query))
    assert f.query_args() == query
    assert f.query_args(page=1) == {k: v for k, v in query.items() if k != "page"}
    assert f.query_args(page=3)["page"] == "3"
    assert Register.from_args(args(**f.query_args())) == f


def test_the_lists_declare_their_fields_in_the_order_of_their_forms() -> None:
    assert [name for name, _spec in CallFilters.fields()] == ["q", "status", "channel", "product", "received",
                                                              "sentiment", "topic", "reason", "agent", "passing"]
    assert [name for name, _spec in ClipFilters.fields()] == ["q", "sentiment", "status", "topic", "product",
                                                              "received"]
    calls = CallFilters.from_args(args(channel="store", date_from="2026-10-15", date_to="2026-11-30",
                                       sentiment="neutral"))
    assert calls.query_args() == {"channel": "store", "date_from": "2026-10-15", "date_to": "2026-11-30",
                                  "sentiment": "neutral"}
    # A clip is satisfied or unhappy, never neutral; a call's channel is no clip filter.
    assert ClipFilters.from_args(args(sentiment="neutral", channel="store")) == ClipFilters()
    channel = dict(CallFilters.fields())["channel"]
    assert isinstance(channel, listing.Choice) and channel.values == tuple(Channel)


# --- the query -------------------------------------------------------------------------------------------


def test_the_lists_hook_gives_the_conditions_applied() -> None:
    assert str(Register().apply(select(Call))) == str(select(Call))
    f = Register.from_args(args(status="ready", **{"from": "2026-01-31"}, until="2026-02-01"))
    found = list(f.conditions())
    assert len(found) == 3
    applied = f.apply(select(Call)).compile(compile_kwargs={"literal_binds": False})
    assert applied.params == {"status_1": "ready", "received_at_1": datetime(2026, 1, 31, tzinfo=UTC),
                              "received_at_2": datetime(2026, 2, 2, tzinfo=UTC)}


def test_a_day_range_counts_whole_days_in_utc_with_either_end_open() -> None:
    assert list(listing.DayRange().conditions(Call.received_at)) == []
    [after] = listing.DayRange(start=date(2026, 1, 1)).conditions(Call.received_at)
    assert after.compile().params == {"received_at_1": datetime(2026, 1, 1, tzinfo=UTC)}
    [before] = listing.DayRange(end=date(2026, 12, 31)).conditions(Call.received_at)
    assert before.compile().params == {"received_at_1": datetime(2027, 1, 1, tzinfo=UTC)}


def test_a_typed_wildcard_is_a_character() -> None:
    assert listing.contains("50 %_\\") == "%50 \\%\\_\\\\%"


def test_a_page_counts_its_pages() -> None:
    assert [listing.Page([], total, Register()).pages for total in (0, 1, 25, 26, 250)] == [1, 1, 1, 2, 10]


# --- the form --------------------------------------------------------------------------------------------

FORM = '{% import "partials/listing/_filters.html" as lists %}{{ lists.filter_form(listing, filters, choices) }}'


def _form(app: Flask, filters: Register, reasons: list[object]) -> str:
    view = SimpleNamespace(endpoint="calls.call_list", results_id="register-results")
    with app.test_request_context("/calls"):
        return render_template_string(FORM, listing=view, filters=filters, choices={"reason": reasons})


def test_a_new_list_gets_its_form_from_its_declaration(app: Flask) -> None:
    reason = SimpleNamespace(key="late_parcel", label=lambda locale: "Late parcel")
    html = _form(app, Register.from_args(args(q="porte", status="ready", until="2026-02-01")), [reason])
    assert 'hx-get="/calls" hx-target="#register-results"' in html
    assert 'keyup changed delay:400ms from:#f-q"' in html
    assert re.search(r'<label for="f-q">Words</label>\s*<input id="f-q" name="q" type="search" value="porte" '
                     r'maxlength="20" placeholder="e.g. refund" aria-describedby="f-q-hint">\s*'
                     r'<p class="hint" id="f-q-hint">In the text.</p>', html), html
    assert '<option value="ready" selected>' in html and '<option value="failed" >' in html
    assert '<select id="f-reason" name="reason">' in html and '<option value="late_parcel" >Late parcel' in html
    assert '<label for="f-from">Received from</label>' in html and 'name="from" value=""' in html
    assert '<label for="f-to">to</label>' in html and 'name="until" value="2026-02-01"' in html
    # Fields come in the order declared; a reason with no labels yet is left out.
    order = [html.index(f'id="f-{name}"') for name in ("q", "status", "reason", "from", "to")]
    assert order == sorted(order)
    assert 'id="f-reason"' not in _form(app, Register(), [])


@pytest.mark.parametrize(("url", "rows_id", "taxonomy_fields"),
                         [("/calls", "call-rows", 2), ("/clips", "clip-rows", 1)])
def test_only_the_whole_page_reads_the_taxonomy_its_form_offers(login_as, count_queries: CountQueries, url: str,
                                                                rows_id: str, taxonomy_fields: int) -> None:
    """The results swapped in by the form, and the rows polled, come without the form: one query per
    taxonomy field less (topics; and complaint reasons on the call list), and without the menu, one
    less for the alerts it counts as new."""
    qm = login_as("a", Role.QUALITY_MANAGER)
    qm.get(url)  # warm what a process reads once
    with count_queries() as page:
        assert qm.get(url).status_code == 200
    with count_queries() as results:
        answer = qm.get(url, headers={"HX-Request": "true"})
        assert answer.status_code == 200 and "<form" not in answer.text
    with count_queries() as rows:
        assert qm.get(url, headers={"HX-Request": "true", "HX-Target": rows_id}).status_code == 286  # none pending
    assert len(page) - len(results) == taxonomy_fields + 1, (page, results)
    assert len(rows) == len(results), (rows, results)
