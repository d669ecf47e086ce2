"""Ratings customers gave the company's products (1 to 5: store reviews, surveys), imported from a CSV
file or sent by the API (issue #15, item 5).

Both paths are all or nothing: every line (or item) is checked first, and one bad line refuses the
whole file with every line's problem, so that a file fixed and sent again is never half counted.
An item sent with the sender's own id (``external_id``; the CSV's ``id`` column) is stored once:
sent again with the same content it is reported as already known, with other content it is a
:class:`~webapp.errors.Conflict`. An item without an id is known by its content (product, stars, date
and text), counted, so that a file imported twice is stored once. After each import the 3/5 rule is evaluated at once
(:func:`webapp.services.scorecards.evaluate`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import search
from webapp.db import utcnow
from webapp.errors import Conflict, UserError
from webapp.i18n import _
from webapp.models import Rating, RatingSource, Tenant, User
from webapp.services import audit, products, scorecards
from webapp.services.ingestion import IDEMPOTENCY_CONFLICT, MAX_CSV_ROWS

#: The longest text kept with a rating, and the longest product name and external id.
MAX_TEXT = 5_000
MAX_PRODUCT = 120
MAX_EXTERNAL_ID = 200
#: Items one API request may carry.
MAX_API_ITEMS = 1_000
#: The earliest date accepted: before it, a date is a typing mistake.
FIRST_DAY = date(1900, 1, 1)

CSV_COLUMNS = ("product", "rating", "date", "text", "id")
#: Other names a spreadsheet may give the columns, folded (lower case, no accents, words joined by "_").
CSV_ALIASES: dict[str, str] = {
    **{name: "product" for name in ("produit", "article", "reference_produit", "ref_produit", "sku", "nom_produit",
                                    "product_name")},
    **{name: "rating" for name in ("note", "notation", "etoiles", "nombre_d_etoiles", "stars", "score", "avis_note",
                                   "note_sur_5", "rating_1_5")},
    **{name: "date" for name in ("date_de_l_avis", "date_avis", "date_de_la_note", "le", "rated_on", "rating_date",
                                 "review_date", "jour")},
    **{name: "text" for name in ("texte", "avis", "commentaire", "comment", "review", "verbatim", "message")},
    **{name: "id" for name in ("external_id", "id_externe", "identifiant", "identifiant_externe", "reference",
                               "ref", "numero", "review_id", "id_avis")},
}
#: dd/mm/yyyy, as French spreadsheets write dates (a time after it is ignored).
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T].*)?")
#: Half of a UTF-16 surrogate pair, which JSON may carry but no encoding can store.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: 4, 4.0, 4,0 or 4/5.
_STARS = re.compile(r"([1-5])(?:[.,]0+)?(?:\s*/\s*5)?")


@dataclass(frozen=True)
class RatingIn:
    """One rating, checked."""

    product: str
    stars: int
    rated_on: date
    text: str = ""
    external_id: str | None = None
    #: Where it was in the file (its line) or the request (its position from 1); not part of the rating.
    number: int = field(default=0, compare=False)


def _problems(problems: list[tuple[int, str]], label: str) -> tuple[list[str], str]:
    """Each problem as a sentence naming its line (or item), and all of them in one message."""
    each = [str(_("Line %(line)d: %(reason)s", line=n, reason=reason) if label == "line" else
                _("Item %(line)d: %(reason)s", line=n, reason=reason)) for n, reason in problems]
    return each, str(_("Nothing was imported. %(problems)s", problems=" ".join(each[:20])))


class Refused(UserError):
    """A file or request refused as a whole: ``problems`` says what is wrong with each bad line (or item)."""

    def __init__(self, problems: list[tuple[int, str]], label: str) -> None:
        self.problems, message = _problems(problems, label)
        super().__init__(message, "ratings_refused")


class Clash(Conflict):
    """An external id sent again with other content: nothing was imported (``problems`` as in :class:`Refused`)."""

    def __init__(self, problems: list[tuple[int, str]], label: str) -> None:
        self.problems, message = _problems(problems, label)
        super().__init__(message, IDEMPOTENCY_CONFLICT)


def problems_of(err: UserError) -> list[str]:
    """The sentences of every problem ``err`` reports."""
    return list(err.problems) if isinstance(err, Refused | Clash) else [str(err.message)]


def _plain(value: object) -> str:
    """A cell as text: without NUL (PostgreSQL refuses it) and lone surrogates, spaces collapsed."""
    text = "" if value is None else str(value)
    return " ".join(_LONE_SURROGATE.sub("\ufffd", text.replace("\x00", "")).split())


def _stars(value: object) -> int:
    if isinstance(value, bool):
        value = ""
    if isinstance(value, int | float) and float(value).is_integer():
        value = str(int(value))
    match = _STARS.fullmatch(_plain(value))
    if match is None:
        raise UserError(_("The rating must be a whole number from 1 to 5."), "rating_invalid")
    return int(match.group(1))


def _day(value: object, today: date) -> date:
    raw = _plain(value)
    if not raw:
        raise UserError(_("Give the date of the rating."), "date_missing")
    french = _DAY_FIRST.fullmatch(raw)
    try:
        if french:
            day = date(int(french.group(3)), int(french.group(2)), int(french.group(1)))
        elif len(raw) == 10:
            day = date.fromisoformat(raw)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            day = (parsed.astimezone(UTC) if parsed.tzinfo else parsed).date()
    except ValueError:
        raise UserError(_("The date “%(value)s” is not understood. Use the form 31/03/2026 or 2026-03-31.",
                          value=raw[:40]), "date_invalid") from None
    if day < FIRST_DAY:
        raise UserError(_("The date “%(value)s” is out of range: give a date after 1900.", value=raw[:40]),
                        "date_out_of_range")
    if day > today:
        raise UserError(_("The date of a rating cannot be in the future."), "date_future")
    return day


def clean_rating(raw: Mapping[str, object], today: date, number: int = 0) -> RatingIn:
    """Check one rating (``product``, ``rating``, ``date``, optional ``text`` and ``external_id``).

    Raises :class:`UserError` naming every problem of the item, in one message.
    """
    problems: list[str] = []
    product = _plain(raw.get("product"))
    if not product:
        problems.append(_("Name the product."))
    elif len(product) > MAX_PRODUCT:
        problems.append(_("%(field)s is too long: %(max)d characters at most.", field=_("Product"), max=MAX_PRODUCT))
    stars, day = 0, today
    try:
        stars = _stars(raw.get("rating"))
    except UserError as err:
        problems.append(str(err.message))
    try:
        day = _day(raw.get("date"), today)
    except UserError as err:
        problems.append(str(err.message))
    text = _LONE_SURROGATE.sub("\ufffd", str(raw.get("text") or "").replace("\x00", "")).strip()
    if len(text) > MAX_TEXT:
        problems.append(_("The text is too long: %(max)d characters at most.", max=MAX_TEXT))
    external_id = _plain(raw.get("external_id"))
    if len(external_id) > MAX_EXTERNAL_ID:
        problems.append(_("%(field)s is too long: %(max)d characters at most.", field="id", max=MAX_EXTERNAL_ID))
    if problems:
        raise UserError(" ".join(problems), "rating_invalid")
    return RatingIn(product, stars, day, text, external_id or None, number)


@dataclass
class Imported:
    """What an import stored: the ratings in the order sent, each with whether it was already known."""

    ratings: list[tuple[Rating, bool]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for _rating, known in self.ratings if not known)

    @property
    def duplicates(self) -> int:
        return sum(1 for _rating, known in self.ratings if known)


def as_json(rating: Rating, known: bool) -> dict[str, object]:
    """A stored rating as the API answers it (webapp/openapi.py, ``Rating``)."""
    return {"id": rating.id, "external_id": rating.external_id, "product": rating.product, "rating": rating.stars,
            "date": rating.rated_on.isoformat(), "text": rating.text, "source": str(rating.source),
            "duplicate": known}


def _same(rating: Rating, item: RatingIn) -> bool:
    return (rating.product, rating.stars, rating.rated_on, rating.text) == (
        item.product, item.stars, item.rated_on, item.text)


def _check_known(session: Session, items: Sequence[RatingIn], label: str) -> dict[str, Rating]:
    """The ratings already stored under the items' external ids; every id reused with other content
    (or twice in the batch with different content) refused at once, as a :class:`Conflict`."""
    ids = sorted({item.external_id for item in items if item.external_id})
    known: dict[str, Rating] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        known.update((str(r.external_id), r) for r in session.scalars(
            select(Rating).where(Rating.external_id.in_(chunk))))
    seen: dict[str, RatingIn] = {}
    clashes: list[tuple[int, str]] = []
    for item in items:
        if not item.external_id:
            continue
        first = seen.setdefault(item.external_id, item)
        stored = known.get(item.external_id)
        if (stored is not None and not _same(stored, item)) or first != item:
            clashes.append((item.number, _("The id “%(external_id)s” was already used for another rating. Give this "
                                      "rating an id of its own.", external_id=item.external_id[:60])))
    if clashes:
        raise Clash(clashes, label)
    return known


def _content(item: RatingIn | Rating) -> tuple[str, int, date, str]:
    """What tells ratings sent without an id apart."""
    return item.product, item.stars, item.rated_on, item.text


def _known_without_id(session: Session, items: Sequence[RatingIn]) -> dict[tuple[str, int, date, str], list[Rating]]:
    """The ratings stored without an id that have the same product, stars, date and text as items sent without
    one, by that content (one query per 500 products)."""
    loose = [item for item in items if not item.external_id]
    if not loose:
        return {}
    products = sorted({item.product for item in loose})
    first, last = min(item.rated_on for item in loose), max(item.rated_on for item in loose)
    wanted = {_content(item) for item in loose}
    found: dict[tuple[str, int, date, str], list[Rating]] = {}
    for start in range(0, len(products), 500):
        for rating in session.scalars(select(Rating).where(
                Rating.external_id.is_(None), Rating.product.in_(products[start:start + 500]),
                Rating.rated_on.between(first, last)).order_by(Rating.id)):
            if (key := _content(rating)) in wanted:
                found.setdefault(key, []).append(rating)
    return found


def store_ratings(session: Session, tenant: Tenant, items: Sequence[RatingIn], source: RatingSource,
                  *, label: str = "item", actor: User | None = None, now: datetime | None = None) -> Imported:
    """Store checked ratings, then evaluate the 3/5 rule. Those already known are not stored again: by their
    external id, or, sent without one, by their product, stars, date and text, counted: a file sent again adds
    nothing, and two customers' identical ratings in one file are two ratings (the n-th rating of some content
    is known when n are stored). Raises :class:`Conflict` (nothing stored) when an external id comes back with
    other content."""
    spelled = {name: products.spelling(session, name) for name in dict.fromkeys(i.product for i in items)}
    items = [replace(item, product=spelled[item.product]) for item in items]  # "FOUR X2" is the "Four X2" known
    known = _check_known(session, items, label)
    unnamed = _known_without_id(session, items)
    done = Imported()
    batch: dict[str, Rating] = {}
    for item in items:
        already = known.get(item.external_id or "") or batch.get(item.external_id or "")
        if already is None and not item.external_id and unnamed.get(key := _content(item)):
            already = unnamed[key].pop(0)
        if already is not None:
            done.ratings.append((already, True))
            continue
        rating = Rating(product=item.product, stars=item.stars, rated_on=item.rated_on, text=item.text,
                        source=source, external_id=item.external_id)
        session.add(rating)
        if item.external_id:
            batch[item.external_id] = rating
        done.ratings.append((rating, False))
    session.flush()
    if done.created:
        audit.record(session, tenant_id=tenant.id, actor=actor, action="ratings.imported",
                     target=f"ratings:{source}", created=done.created, duplicates=done.duplicates)
    scorecards.evaluate(session, tenant, now=now)
    return done


# --- CSV -------------------------------------------------------------------------------------------


def _key(raw: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", search.fold(raw or "")).strip("_")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(_("This file is not a text CSV file. Save it as CSV (UTF-8) and try again."), "csv_encoding")


def read_csv(data: bytes, today: date) -> list[RatingIn]:
    """Every rating of a CSV file, checked; :class:`Refused` with each bad line's problems when any is bad.

    Columns (a header row, in any order; comma, semicolon or tab separated): product, rating (1 to 5),
    date (31/03/2026 or 2026-03-31), text and id (optional), or their French names (produit, note,
    date, avis or commentaire, identifiant).
    """
    content = _decode(data)
    if not content.strip():
        raise UserError(_("This CSV file is empty."), "csv_empty")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content), dialect=dialect)
    try:
        header = [_key(name) for name in next(reader)]
    except (StopIteration, csv.Error):
        header = []
    header = [name if name in CSV_COLUMNS else CSV_ALIASES.get(name, name) for name in header]
    if not {"product", "rating", "date"} <= set(header):
        raise UserError(_("The first row must name the columns, with at least “product”, “rating” and “date”. "
                          "Known columns: %(columns)s.", columns=", ".join(CSV_COLUMNS)), "csv_header")
    items: list[RatingIn] = []
    problems: list[tuple[int, str]] = []
    for line in range(2, MAX_CSV_ROWS + 3):
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append((line, _("This row cannot be read: check its quotes and separators.")))
            continue
        if line > MAX_CSV_ROWS + 1:
            raise UserError(_("This file has more than %(max)d rows. Split it and import each part.",
                              max=MAX_CSV_ROWS), "csv_too_many_rows")
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as spreadsheets leave at the end
        row = dict(zip(header, cells, strict=False))
        try:
            items.append(clean_rating({**row, "external_id": row.get("id", "")}, today, line))
        except UserError as err:
            problems.append((line, str(err.message)))
    if problems:
        raise Refused(problems, "line")
    if not items:
        raise UserError(_("This CSV file has no rating under its header row."), "csv_empty")
    return items


def import_csv(session: Session, tenant: Tenant, data: bytes, actor: User) -> Imported:
    """Import a CSV file of ratings, all or nothing (:func:`read_csv`, :func:`store_ratings`)."""
    return store_ratings(session, tenant, read_csv(data, utcnow().date()), RatingSource.CSV, label="line",
                         actor=actor)


def import_items(session: Session, tenant: Tenant, body: object) -> Imported:
    """Import the ratings an API request sent (a JSON list of objects), all or nothing."""
    if not isinstance(body, list) or not body:
        raise UserError(_("Send a JSON list of ratings, such as [{\"product\": \"Oven X2\", \"rating\": 4, "
                          "\"date\": \"2026-03-31\"}]."), "invalid_body")
    if len(body) > MAX_API_ITEMS:
        raise UserError(_("Send %(max)d ratings at most per request.", max=MAX_API_ITEMS), "too_many_items")
    today = utcnow().date()
    items: list[RatingIn] = []
    problems: list[tuple[int, str]] = []
    fields = ("product", "rating", "date", "text", "external_id")
    for number, raw in enumerate(body, start=1):
        if not isinstance(raw, dict):
            problems.append((number, _("Each rating must be a JSON object.")))
            continue
        unknown = sorted(str(k) for k in set(raw) - set(fields))
        wrong = [k for k in ("product", "date", "text") if raw.get(k) is not None and not isinstance(raw[k], str)]
        if unknown or wrong:
            problems.append((number, _("Unknown field “%(field)s”. The fields are: %(fields)s.",
                                       field=unknown[0][:40], fields=", ".join(fields)) if unknown else
                             _("The field “%(field)s” must be a string.", field=wrong[0])))
            continue
        ident = raw.get("external_id")
        try:
            items.append(clean_rating({**raw, "external_id": ident if isinstance(ident, str | int) else ""}, today,
                                      number))
        except UserError as err:
            problems.append((number, str(err.message)))
    if problems:
        raise Refused(problems, "item")
    return store_ratings(session, tenant, items, RatingSource.API)
