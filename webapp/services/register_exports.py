"""The complaint register's downloads (issue #15, item 7): the register list as CSV or XLSX with its filters
applied, and the yearly figures a regulator asks for (ACPR's annual complaint questionnaire and the like).

The list's rows are the register page's own query (``register.RegisterFilters``: the same filters, the same
order), without its pages. The figures count a year's entries (those received that year) by complaint
reason, channel and outcome, and by delay band: acknowledged and answered by their due date, later, or not
yet. Each entry is judged against its own due dates (webapp/services/complaint_clocks.py, the company's rule
set when the entry was made); acknowledging means the first of acknowledging and answering, both taken as
French dates. An entry with several reasons counts once under each, so those counts may add up to more than
the total; the other breakdowns add up to it.

Cells go through webapp/exports.py, which neutralises formulas in both formats; column and row labels are
in the reader's language. Every download is journalled (who, what, which filters or year, how many rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import exports
from webapp.db import utcnow
from webapp.errors import BadRequest
from webapp.i18n import _, label, ngettext
from webapp.models import Channel, Label, LabelKind, Outcome, RegisterEntry, Tenant, User
from webapp.services import audit, register
from webapp.services.complaint_clocks import DayKind

#: Rows read at a time (bounded memory).
BATCH = 1000


def _reason_names(session: Session, locale: str) -> dict[str, str]:
    return {lb.key: lb.label(locale) for lb in session.scalars(select(Label).where(Label.kind == LabelKind.REASON))}


# --- the register list -------------------------------------------------------------------------------------


def entry_header() -> list[str]:
    return [_("Reference"), _("Received"), _("Sent"), _("Channel"), _("Product"), _("Complaint reasons"),
            _("Subject"), _("Customer reference"), _("Remedy asked for"), _("Owner"), _("Status"),
            _("Acknowledge by"), _("Answer by"), _("Acknowledged"), _("Answered"), _("Closed"), _("Outcome"),
            _("Overdue"), _("Answer")]


def entry_rows(session: Session, filters: register.RegisterFilters, locale: str) -> Iterator[list[object]]:
    """The register's rows for ``filters`` (every page), latest received first, as the list orders them."""
    reasons = _reason_names(session, locale)
    owners = {u.id: u.display_name for u in session.scalars(select(User))}
    day = register.today()
    stmt = filters.apply(select(RegisterEntry)).order_by(RegisterEntry.received_on.desc(), RegisterEntry.id.desc())
    for e in session.scalars(stmt.execution_options(yield_per=BATCH)):
        state = register.clocks(e, day)
        yield [e.reference, e.received_on, e.sent_on, label("channel", e.channel), e.product,
               ", ".join(reasons.get(r, r) for r in e.reasons), e.subject, e.customer_ref, e.remedy,
               owners.get(e.owner_id or 0, ""), label("entry_status", e.status), e.acknowledge_by, e.answer_by,
               e.acknowledged_at, e.answered_at, e.closed_at, label("outcome", e.outcome) if e.outcome else "",
               _("yes") if state.overdue else _("no"), e.answer_text]


def export_entries(session: Session, actor: User, *, fmt: str, filters: register.RegisterFilters, locale: str,
                   now: datetime | None = None) -> exports.Download:
    """The register filtered by ``filters`` as ``fmt`` ("csv" or "xlsx"); journalled as ``register.exported``."""
    day = (now or utcnow()).date().isoformat()
    done = exports.download(fmt, entry_header(), entry_rows(session, filters, locale), sheet=_("Complaint register"),
                            filename=f"register-{day}")
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="register.exported", target="",
                 format=fmt, rows=done.rows, filters=filters.query_args(page=1))
    return done


# --- the yearly figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Breakdown:
    """One table of the figures: a title, and a count for each value."""

    key: str
    title: str
    counts: list[Count]


@dataclass(frozen=True)
class Figures:
    year: int
    total: int
    breakdowns: list[Breakdown]
    #: Years that have entries (and the current one), latest first: the page's choice.
    years: list[int]


def _band(done: date | None, due: date) -> str:
    if done is None:
        return "not_yet"
    return "in_time" if done <= due else "late"


def _band_labels(tenant: Tenant) -> tuple[dict[str, str], dict[str, str]]:
    """The delay bands' labels under the company's rule set: "within 10 working days", "within 2 months"."""
    rules = register.rules_of(tenant)
    days = rules.acknowledge_days
    acknowledge = (ngettext("Acknowledged within %(num)d day", "Acknowledged within %(num)d days", days)
                   if rules.days is DayKind.CALENDAR else
                   ngettext("Acknowledged within %(num)d working day", "Acknowledged within %(num)d working days",
                            days))
    if rules.answer_days is not None:
        answer = ngettext("Answered within %(num)d day", "Answered within %(num)d days", rules.answer_days)
    else:
        answer = ngettext("Answered within %(num)d month", "Answered within %(num)d months", rules.answer_months)
    return ({"in_time": acknowledge, "late": _("Acknowledged later"), "not_yet": _("Not acknowledged yet")},
            {"in_time": answer, "late": _("Answered later"), "not_yet": _("Not answered yet")})


def _counts(counter: Counter[str], labels: dict[str, str], keys: Sequence[str] | None = None) -> list[Count]:
    """Every key of ``keys`` (zeros included) in that order, else the counter's keys, most frequent first."""
    if keys is None:
        keys = [k for k, _n in sorted(counter.items(), key=lambda kv: (-kv[1], labels.get(kv[0], kv[0])))]
    return [Count(k, labels.get(k, k), counter.get(k, 0)) for k in keys]


def years(session: Session) -> list[int]:
    """The years that have entries, and the current one, latest first."""
    found = {int(y) for y in session.scalars(select(RegisterEntry.year).distinct()) if y is not None}
    return sorted(found | {register.today().year}, reverse=True)


def figures(session: Session, tenant: Tenant, year: int, locale: str) -> Figures:
    """The year's counts by reason, channel, outcome and delay band (one query over the year's entries)."""
    rows = session.execute(select(
        RegisterEntry.reasons, RegisterEntry.channel, RegisterEntry.outcome, RegisterEntry.acknowledge_by,
        RegisterEntry.answer_by, RegisterEntry.acknowledged_at, RegisterEntry.answered_at,
    ).where(RegisterEntry.received_on >= date(year, 1, 1), RegisterEntry.received_on < date(year + 1, 1, 1)))
    reasons: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    acknowledged: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    total = 0
    for entry_reasons, channel, outcome, acknowledge_by, answer_by, acknowledged_at, answered_at in rows:
        total += 1
        reasons.update(list(dict.fromkeys(entry_reasons)) or [""])
        channels[str(channel)] += 1
        outcomes[str(outcome) if outcome is not None and answered_at is not None else ""] += 1
        first = min((t for t in (acknowledged_at, answered_at) if t is not None), default=None)
        acknowledged[_band(register.paris_day(first) if first else None, acknowledge_by)] += 1
        answered[_band(register.paris_day(answered_at) if answered_at else None, answer_by)] += 1
    acknowledge_labels, answer_labels = _band_labels(tenant)
    reason_labels = {**_reason_names(session, locale), "": _("No reason given")}
    outcome_labels = {**{o.value: label("outcome", o.value) for o in Outcome}, "": _("Not answered yet")}
    bands = ["in_time", "late", "not_yet"]
    return Figures(year, total, [
        Breakdown("reason", _("By complaint reason"), _counts(reasons, reason_labels)),
        Breakdown("channel", _("By channel"), _counts(channels, {c.value: label("channel", c.value) for c in Channel},
                                                      [c.value for c in Channel])),
        Breakdown("outcome", _("By outcome"), _counts(outcomes, outcome_labels, [*(o.value for o in Outcome), ""])),
        Breakdown("acknowledgement", _("Acknowledgement delay"), _counts(acknowledged, acknowledge_labels, bands)),
        Breakdown("answer", _("Answer delay"), _counts(answered, answer_labels, bands)),
    ], years(session))


def figures_header() -> list[str]:
    return [_("Year"), _("Figure"), _("Value"), _("Complaints")]


def figures_rows(result: Figures) -> Iterator[list[object]]:
    yield [result.year, _("Complaints received"), "", result.total]
    for breakdown in result.breakdowns:
        for count in breakdown.counts:
            yield [result.year, breakdown.title, count.label, count.count]


def export_figures(session: Session, actor: User, tenant: Tenant, *, year: int, fmt: str,
                   locale: str) -> exports.Download:
    """The year's figures as ``fmt``, one row per count; journalled as ``register.figures_exported``."""
    done = exports.download(fmt, figures_header(), figures_rows(figures(session, tenant, year, locale)),
                            sheet=_("Figures %(year)d", year=year), filename=f"complaint-figures-{year}")
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="register.figures_exported", target="",
                 format=fmt, year=year)
    return done


def year_of(raw: str | None) -> int:
    """The year a query string names (the current one when absent); :class:`BadRequest` unless 1900 to 2100."""
    raw = (raw or "").strip()
    if not raw:
        return register.today().year
    if not (raw.isascii() and raw.isdigit() and 1900 <= int(raw) <= 2100):
        raise BadRequest(_("The year “%(value)s” is not understood. Use the form 2026.", value=raw[:10]))
    return int(raw)
