"""The filter and results component shared by the lists quality managers filter (calls, clips, and the
complaint register next).

A list declares its filters once, as a frozen dataclass that subclasses :class:`Filters`. Each field is
made by one of the kinds below, which says how it reads the query string and how the filter form shows
it; the list's :meth:`Filters.conditions` hook turns the values into the query's conditions::

    @dataclass(frozen=True)
    class CallFilters(listing.Filters):
        q: str = listing.text(_l("Words said"), 100, search=True)
        status: str = listing.choice(_l("Status"), CallStatus, labels="status")
        topic: str = listing.tag(_l("Topic"), LabelKind.TOPIC)
        received: listing.DayRange = listing.dates(_l("Received from"), _l("to"))

        def conditions(self) -> Iterator[ColumnElement[bool]]:
            if self.status:
                yield Call.status == self.status
            ...

    filters = CallFilters.from_args(request.args)   # BadRequest with the reason for a value out of range
    page = listing.Page(*listing.fetch(session, select(Call), filters, order_by=(Call.id.desc(),)), filters)

As django-filter's ``FilterSet`` does, the declaration carries the labels the form shows; the pages
render it with ``partials/listing/_filters.html`` and ``partials/listing/_results.html``, and
``webapp/views/listing.py`` answers the page, the results (htmx) or the polled rows from one URL.

A value that makes no sense (a status that does not exist, a topic key with odd characters, a date
that is not one) is ignored, as a stale bookmark should still open its list; a value the database
could not hold (a date past the calendar's range, a page number that is not one) is refused with a
:class:`BadRequest` that says why.
"""

from __future__ import annotations

import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Generic, Self, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.base import ExecutableOption

from webapp.errors import BadRequest
from webapp.i18n import _
from webapp.models import Label, LabelKind
from webapp.services import taxonomy

PAGE_SIZE = 25
#: Lists go no further (an OFFSET of a quarter of a million rows is already slow).
MAX_PAGE = 10_000
#: Dates a filter may name: a day after the last one would not fit in Python's calendar.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
#: Where a field keeps its kind in its dataclass field's metadata.
_SPEC = "ecoute.listing"

T = TypeVar("T")
Ts = TypeVarTuple("Ts")  # a statement's columns, whatever they are
F = TypeVar("F", bound="Filters")


# --- values --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRange:
    """Whole days, both ends included; either end may be open."""

    start: date | None = None
    end: date | None = None

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None

    def conditions(self, column: InstrumentedAttribute[datetime]) -> Iterator[ColumnElement[bool]]:
        """``column`` (an aware UTC time) falls on one of these days, counted in UTC."""
        if self.start is not None:
            yield column >= datetime.combine(self.start, time.min, tzinfo=UTC)
        if self.end is not None:
            yield column < datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)


def words(raw: str, max_length: int) -> str:
    """Words typed in a search field: spaces collapsed, cut at ``max_length``, without the NUL character
    PostgreSQL refuses in text."""
    return " ".join(raw.replace("\x00", "").split())[:max_length]


def contains(typed: str) -> str:
    """A LIKE pattern for text containing ``typed``, where a typed % or _ is itself, not a wildcard
    (use with ``escape="\\\\"``)."""
    return "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def day(raw: str) -> date | None:
    """A day typed as YYYY-MM-DD; None when it is not one (ignored), :class:`BadRequest` when it is out
    of the range a list may name."""
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise BadRequest(_("The date “%(value)s” is out of range. Choose a date between %(first)s and "
                           "%(last)s.", value=value.isoformat(), first=FIRST_DAY.isoformat(),
                           last=LAST_DAY.isoformat()), "date_out_of_range")
    return value


def page_number(raw: str) -> int:
    """The ``page`` argument of a list's address: 1 when empty, :class:`BadRequest` when it is not a page
    number between 1 and :data:`MAX_PAGE`."""
    raw = raw.strip()
    if not raw:
        return 1
    if len(raw) > 6 or not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(_("The page number “%(value)s” is not valid. Choose a page between 1 and %(max)d.",
                           value=raw[:20], max=MAX_PAGE), "page_invalid")
    return int(raw)


# --- kinds of field --------------------------------------------------------------------------------------


class Field(ABC):
    """A kind of filter: how it reads the query string, how it writes itself back, how the form shows it."""

    #: Which widget ``partials/listing/_filters.html`` draws: text, choice, tag or dates.
    kind: ClassVar[str]
    label: str

    @abstractmethod
    def parse(self, name: str, args: Mapping[str, str]) -> object:
        """The value of field ``name`` in a query string (its default when absent or meaningless)."""

    def to_args(self, name: str, value: Any) -> dict[str, str]:  # Any: the value parse() gave, of this kind
        """``value`` as query arguments (empty strings for the defaults): one argument, by default."""
        return {name: str(value)}

    def ids(self, name: str) -> tuple[str, ...]:
        """The ids of the form's inputs (the browser tests and the labels point at them)."""
        return (f"f-{name}",)


@dataclass(frozen=True)
class Text(Field):
    """Words: spaces collapsed, cut at ``max_length``; ``search`` makes a search box, which typing filters."""

    kind: ClassVar[str] = "text"
    label: str
    max_length: int
    search: bool = False
    placeholder: str | None = None
    #: A sentence under the field saying where the words are looked for.
    hint: str | None = None

    def parse(self, name: str, args: Mapping[str, str]) -> str:
        return words(args.get(name, ""), self.max_length)


@dataclass(frozen=True)
class Choice(Field):
    """One of fixed values (an enumeration), each shown by ``webapp.i18n.label(labels, value)``."""

    kind: ClassVar[str] = "choice"
    label: str
    values: tuple[str, ...]
    #: The kind of label the values have in ``webapp.i18n.label`` ("status", "channel"...).
    labels: str

    def parse(self, name: str, args: Mapping[str, str]) -> str:
        value = args.get(name, "")
        return value if value in self.values else ""


@dataclass(frozen=True)
class Tag(Field):
    """A key of the company's taxonomy (a topic, a complaint reason): any well-formed key is read, the
    form offers the company's labels."""

    kind: ClassVar[str] = "tag"
    label: str
    taxonomy: LabelKind
    #: Offer only the labels still in use (a retired one still filters when it is in the address).
    active_only: bool = False
    #: Leave the field out of the form while the company has no such label (reasons are opt-in).
    hide_if_empty: bool = False

    def parse(self, name: str, args: Mapping[str, str]) -> str:
        value = args.get(name, "").strip()
        return value if re.fullmatch(r"[a-z0-9_]{1,60}", value) else ""


@dataclass(frozen=True)
class Dates(Field):
    """A range of whole days, as two arguments (``date_from``, ``date_to``) and two date inputs."""

    kind: ClassVar[str] = "dates"
    label: str
    end_label: str
    start: str = "date_from"
    end: str = "date_to"
    input_ids: tuple[str, str] = ("f-from", "f-to")

    def parse(self, name: str, args: Mapping[str, str]) -> DayRange:
        return DayRange(day(args.get(self.start, "")), day(args.get(self.end, "")))

    def to_args(self, name: str, value: Any) -> dict[str, str]:
        days: DayRange = value
        return {self.start: days.start.isoformat() if days.start else "",
                self.end: days.end.isoformat() if days.end else ""}

    def ids(self, name: str) -> tuple[str, ...]:
        return self.input_ids


@dataclass(frozen=True)
class Option:
    """One value a :class:`Pick` offers: its key in the address, its name in the form."""

    key: str
    name: str

    def label(self, _locale: str) -> str:
        return self.name


@dataclass(frozen=True)
class Pick(Field):
    """One of values read from the database when the form is drawn (a person, for the register's owner);
    drawn as a taxonomy field is, from :func:`tag_choices`."""

    kind: ClassVar[str] = "tag"
    label: str
    options: Callable[[Session], list[Option]]
    hide_if_empty: bool = False

    def parse(self, name: str, args: Mapping[str, str]) -> str:
        value = args.get(name, "").strip()
        return value if re.fullmatch(r"[a-z0-9_]{1,60}", value) else ""


@dataclass(frozen=True)
class Named(Pick):
    """One of names read from the database when the form is drawn (a product), matched exactly as written:
    the address carries the name itself, so any name up to ``max_length`` is read, and the form keeps one
    it no longer offers (a bookmark's) as its selected choice."""

    max_length: int = 120
    #: The form offers the name the address carries even when the database no longer holds it.
    keeps_current: ClassVar[bool] = True

    def parse(self, name: str, args: Mapping[str, str]) -> str:
        return args.get(name, "").replace("\x00", "").strip()[:self.max_length]


@dataclass(frozen=True)
class Hidden(Field):
    """A value the address carries but the form does not offer (a dashboard's drill-down: one agent, main
    topics only): read from the query string, kept by the form as a hidden input."""

    kind: ClassVar[str] = "hidden"
    label: str
    max_length: int = 120
    #: The values it may take; any words when empty.
    values: tuple[str, ...] = ()

    def parse(self, name: str, args: Mapping[str, str]) -> str:
        value = words(args.get(name, ""), self.max_length)
        return value if not self.values or value in self.values else ""


# Each returns the dataclass field that declares a filter; typed as its value so that the class reads as
# plain attributes (``status: str = choice(...)``), as dataclasses.field() itself is typed.


def text(label: str, max_length: int, *, search: bool = False, placeholder: str | None = None,
         hint: str | None = None) -> str:
    """Words to look for: in a column, in a transcript... (the list's hook says where)."""
    spec = Text(label, max_length, search=search, placeholder=placeholder, hint=hint)
    return dataclasses.field(default="", metadata={_SPEC: spec})


def choice(label: str, values: Iterable[str], *, labels: str) -> str:
    """One of ``values`` (a StrEnum or strings), shown with ``webapp.i18n.label(labels, value)``."""
    spec = Choice(label, tuple(str(v) for v in values), labels)
    return dataclasses.field(default="", metadata={_SPEC: spec})


def tag(label: str, kind: LabelKind, *, active_only: bool = False, hide_if_empty: bool = False) -> str:
    """A topic or complaint reason of the company's taxonomy."""
    spec = Tag(label, kind, active_only=active_only, hide_if_empty=hide_if_empty)
    return dataclasses.field(default="", metadata={_SPEC: spec})


def pick(label: str, options: Callable[[Session], list[Option]]) -> str:
    """One of the ``options`` the database holds when the form is drawn (people, by id)."""
    spec = Pick(label, options)
    return dataclasses.field(default="", metadata={_SPEC: spec})


def named(label: str, options: Callable[[Session], list[Option]], max_length: int = 120) -> str:
    """One of the names the database holds when the form is drawn (products), matched exactly: an equality an
    index serves, where a "contains" search would read every row (benchmarks/register.py)."""
    spec = Named(label, options, max_length=max_length)
    return dataclasses.field(default="", metadata={_SPEC: spec})


def hidden(label: str, max_length: int = 120, *, values: Iterable[str] = ()) -> str:
    """A value only an address sets (a drill-down's), kept by the form as a hidden input."""
    spec = Hidden(label, max_length, tuple(str(v) for v in values))
    return dataclasses.field(default="", metadata={_SPEC: spec})


def dates(label: str, end_label: str, *, start: str = "date_from", end: str = "date_to") -> DayRange:
    """A range of days (``label`` names its first input, ``end_label`` its second)."""
    spec = Dates(label, end_label, start=start, end=end)
    return dataclasses.field(default=DayRange(), metadata={_SPEC: spec})


# --- a list's filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters(ABC):
    """A list's filters and its page number. Subclasses are frozen dataclasses whose fields are made by
    :func:`text`, :func:`choice`, :func:`tag`, :func:`pick`, :func:`named` and :func:`dates`, in the order the
    form shows them."""

    page: int = 1

    @classmethod
    def fields(cls) -> list[tuple[str, Field]]:
        """(name, kind) of each filter, in the order declared."""
        return [(f.name, f.metadata[_SPEC]) for f in dataclasses.fields(cls) if _SPEC in f.metadata]

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Self:
        """Read the filters from a query string (:class:`BadRequest` for a value out of range)."""
        values: dict[str, Any] = {name: spec.parse(name, args) for name, spec in cls.fields()}  # Any: per kind
        return cls(**values, page=page_number(args.get("page", "")))

    @abstractmethod
    def conditions(self) -> Iterable[ColumnElement[bool]]:
        """The list's hook: the conditions these values put on its query (none for an empty filter)."""

    def apply(self, stmt: Select[*Ts]) -> Select[*Ts]:
        """``stmt`` with these filters' conditions."""
        found = list(self.conditions())
        return stmt.where(*found) if found else stmt

    @property
    def is_filtering(self) -> bool:
        return any(getattr(self, name) for name, _spec in self.fields())

    def query_args(self, **changes: object) -> dict[str, str]:
        """These filters as query arguments (the pager's links, the polling rows), with some changed;
        empty ones and page 1 are left out."""
        values: dict[str, str] = {}
        for name, spec in self.fields():
            values.update(spec.to_args(name, getattr(self, name)))
        values["page"] = str(self.page)
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


@dataclass(frozen=True)
class Page(Generic[T, F]):
    """One page of a list, as the results region shows it."""

    items: list[T]
    total: int
    filters: F
    #: Some rows will change without anyone acting (being processed): the rows poll until none does.
    has_pending: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def fetch(session: Session, stmt: Select[T], filters: Filters, *, order_by: Sequence[ColumnElement[Any]],
          options: Sequence[ExecutableOption] = ()) -> tuple[list[T], int]:
    """One page of ``stmt`` filtered by ``filters``, and how many rows match in all: two queries, whatever
    the page size (``options``, such as eager loads, apply to the page only)."""
    base = filters.apply(stmt)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    items = list(session.scalars(base.options(*options).order_by(*order_by)
                                 .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)))
    return items, total


def tag_choices(session: Session, filters: type[Filters]) -> dict[str, list[Label] | list[Option]]:
    """What the form offers for each :func:`tag` and :func:`pick` field of ``filters``: the company's labels,
    or the options read (one query each)."""
    choices: dict[str, list[Label] | list[Option]] = {}
    for name, spec in filters.fields():
        if isinstance(spec, Tag):
            choices[name] = taxonomy.labels(session, spec.taxonomy, active_only=spec.active_only)
        elif isinstance(spec, Pick):
            choices[name] = spec.options(session)
    return choices

