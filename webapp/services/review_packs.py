"""Review packs: the twice-yearly review of a product, or a product family, with its owner (issue #15,
item 6; Bonduelle reviews complaints with each product manager twice a year).

A pack covers a period, by default the last complete semester (January to June, July to December),
and shows:

- the volumes of calls and complaints, month by month, against the previous period;
- the unhappy share of its voices;
- its top complaint reasons and main topics (not passing mentions), each with two or three
  verbatims whose personal data is masked, and a link and QR code to the approved, bleeped clip of
  a call where one exists;
- the register's open and overdue entries for its products;
- the actions taken: entries answered or closed in the period and upheld, fully or partly
  and the improvement actions about the products done in the period, verified or not (issue #16).

The page (webapp/views/review_packs.py) and the PDF share one template; the PDF is made by the
``review_pack_pdf`` job (worker/handlers/review_pack_pdf.py, WeasyPrint through webapp/pdf.py), never
in a request. Each product's owner is mailed a link to the page every six months
(:func:`schedule_review_packs`, the ``review_pack_mail`` job): a link, not the PDF attached, because
the page asks who is reading, follows erasures and stays the company's, while an attachment would
carry customers' words into mailboxes and forwards for ever.

Who may read a pack: the company's admins and quality managers; a staff member for the products they
own or that belong to their department (for a family, every product of it).
"""

from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import segno
from babel.dates import format_date
from markupsafe import Markup
from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from webapp import jobs, storage, tenancy
from webapp.db import utcnow
from webapp.errors import NotFound
from webapp.models import (
    Call,
    Clip,
    ClipStatus,
    Complaint,
    EntryStatus,
    ImprovementAction,
    Label,
    LabelKind,
    Outcome,
    Product,
    RegisterEntry,
    RenderStatus,
    Role,
    Sentiment,
    Tag,
    TagKind,
    Tenant,
    Transcript,
    User,
    UserStatus,
)
from webapp.services import actions as improvement_actions
from webapp.services import excerpts

#: Job kinds: the PDF of a pack someone asked for, and the semi-annual mail to a product's owner.
REVIEW_PACK_PDF = "review_pack_pdf"
REVIEW_PACK_MAIL = "review_pack_mail"
#: The daily job that deletes the PDFs made more than :data:`PDF_KEEP` ago.
REVIEW_PACK_PURGE = "review_pack_purge"
#: How long a PDF the worker made stays downloadable: it holds customers' words (masked), which an
#: erasure could not reach in a file kept for ever; whoever needs it later asks again.
PDF_KEEP = timedelta(days=1)
#: How far back the purge looks for PDFs past their time (it runs daily: a few days would do).
PURGE_LOOKBACK = timedelta(days=30)
#: How many reasons and topics a pack ranks, and verbatims under each.
TOP = 5
VERBATIMS = 3
#: How many open register entries a pack lists (the count says how many there are in all).
MAX_ENTRIES = 50
#: The semi-annual mail goes out in the first days after a semester ends, not later (a product made
#: in March is not sent the previous July-December's pack).
MAIL_WINDOW = timedelta(days=14)
#: A product family's scope value: ``family:<name>``; a product's: ``product:<id>``.
_SCOPE = re.compile(r"(product):(\d{1,12})|(family):(.{1,120})", re.S)
_PERIOD = re.compile(r"(\d{4})-H([12])")
CURATORS = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER)


# --- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A semester: ``2026-H1`` is January to June 2026, ``2026-H2`` July to December."""

    year: int
    half: int

    @property
    def key(self) -> str:
        return f"{self.year}-H{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return date(self.year, 7, 1) if self.half == 1 else date(self.year + 1, 1, 1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def months(self) -> list[date]:
        """The first day of each of its six months."""
        return [date(self.year, self.start.month + i, 1) for i in range(6)]

    @property
    def previous(self) -> Period:
        return Period(self.year, 1) if self.half == 2 else Period(self.year - 1, 2)

    @classmethod
    def of(cls, day: date) -> Period:
        """The semester ``day`` falls in."""
        return cls(day.year, 1 if day.month <= 6 else 2)

    @classmethod
    def last_complete(cls, today: date) -> Period:
        """The last semester that ended before ``today``."""
        return cls.of(today).previous

    @classmethod
    def parse(cls, raw: str, today: date) -> Period:
        """``2026-H1`` as a period; the last complete one when empty, malformed or not yet begun."""
        match = _PERIOD.fullmatch((raw or "").strip())
        if match is None or not 2000 <= int(match[1]) <= 2999:
            return cls.last_complete(today)
        period = cls(int(match[1]), int(match[2]))
        return period if period.start <= today else cls.last_complete(today)

    @classmethod
    def choices(cls, today: date, count: int = 6) -> list[Period]:
        """The current semester and the ``count - 1`` before it, newest first (the form's choice)."""
        found = [cls.of(today)]
        while len(found) < count:
            found.append(found[-1].previous)
        return found


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- scope and access ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a pack covers: one product, or every product of a family."""

    value: str  #: ``product:<id>`` or ``family:<name>``
    name: str  #: the product's or the family's name
    is_family: bool
    products: tuple[Product, ...]

    @property
    def names(self) -> list[str]:
        """The product names voices and register entries use."""
        return [p.name for p in self.products]


def _may_read(user: User, product: Product) -> bool:
    if user.role in CURATORS:
        return True
    if user.role != Role.STAFF:
        return False
    return product.owner_id == user.id or bool(user.department and product.department == user.department)


def choices(session: Session, user: User) -> tuple[list[Product], list[str]]:
    """The products and families ``user`` may open a pack for, by name."""
    every = list(session.scalars(select(Product).order_by(Product.name)))
    products = [p for p in every if _may_read(user, p)]
    families: dict[str, bool] = {}
    for product in every:
        if product.family:
            families[product.family] = families.get(product.family, True) and _may_read(user, product)
    return products, sorted((name for name, ok in families.items() if ok), key=str.casefold)


def resolve_scope(session: Session, user: User, raw: str) -> Scope | None:
    """The scope ``raw`` names (``product:12``, ``family:Boissons``); None when ``raw`` is empty;
    :class:`NotFound` when it names nothing ``user`` may read (another company's id included)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _SCOPE.fullmatch(raw)
    if match is None:
        raise NotFound()
    if match[1]:
        product = session.get(Product, int(match[2]))
        if product is None or not _may_read(user, product):
            raise NotFound()
        return Scope(raw, product.name, False, (product,))
    family = match[4]
    members = tuple(session.scalars(select(Product).where(Product.family == family).order_by(Product.name)))
    if not members or not all(_may_read(user, p) for p in members):
        raise NotFound()
    return Scope(raw, family, True, members)


# --- personal data -----------------------------------------------------------------------------------


# --- the pack ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    month: date
    calls: int
    complaints: int

    @property
    def voices(self) -> int:
        return self.calls + self.complaints

    def label(self, locale: str) -> str:
        """The month's name and year in ``locale``: "juillet 2026", "July 2026"."""
        return str(format_date(self.month, "LLLL yyyy", locale=locale))


@dataclass(frozen=True)
class Verbatim:
    """A voice behind a reason or a topic, its personal data masked."""

    kind: str  #: "call" or "complaint"
    voice_id: int
    received_at: datetime
    text: str
    #: The approved, rendered (bleeped) clip of the call, when there is one.
    clip_id: int | None = None


@dataclass(frozen=True)
class Ranked:
    key: str
    label: str
    count: int
    previous: int
    verbatims: list[Verbatim] = field(default_factory=list)


@dataclass(frozen=True)
class EntryLine:
    """A register entry as the pack lists it."""

    id: int
    reference: str
    subject: str
    product: str
    status: str
    received_on: date
    acknowledge_by: date
    answer_by: date
    #: "acknowledge", "answer" or "" (on time).
    overdue: str = ""
    outcome: str = ""
    answered_on: date | None = None


@dataclass(frozen=True)
class Pack:
    scope: Scope
    period: Period
    months: list[Month]
    previous_months: list[Month]
    unhappy: int
    previous_unhappy: int
    reasons: list[Ranked]
    topics: list[Ranked]
    open_entries: list[EntryLine]
    open_count: int
    overdue_count: int
    actions: list[EntryLine]
    made_at: datetime
    #: Improvement actions about the products done in the period (webapp/services/actions.py).
    improvements: list[ImprovementAction] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(m.calls for m in self.months)

    @property
    def complaints(self) -> int:
        return sum(m.complaints for m in self.months)

    @property
    def voices(self) -> int:
        return self.calls + self.complaints

    @property
    def previous_calls(self) -> int:
        return sum(m.calls for m in self.previous_months)

    @property
    def previous_complaints(self) -> int:
        return sum(m.complaints for m in self.previous_months)

    @property
    def previous_voices(self) -> int:
        return self.previous_calls + self.previous_complaints

    @property
    def unhappy_share(self) -> float | None:
        """Unhappy voices over all voices of the period, 0..1; None without voices."""
        return self.unhappy / self.voices if self.voices else None

    @property
    def previous_unhappy_share(self) -> float | None:
        return self.previous_unhappy / self.previous_voices if self.previous_voices else None

    @property
    def clip_ids(self) -> list[int]:
        """Every clip a verbatim links to (the page draws a QR code for each)."""
        return sorted({v.clip_id for r in (*self.reasons, *self.topics) for v in r.verbatims if v.clip_id})


def change(now: int | float, before: int | float) -> float | None:
    """The relative change from ``before`` to ``now`` (0.25 for +25 %); None when ``before`` is 0."""
    return (now - before) / before if before else None


def _monthly(session: Session, model: type[Call] | type[Complaint], names: list[str],
             months: list[date], end: date) -> list[int]:
    """How many voices of ``model`` each month received (one query), ``months`` being first days."""
    bounds = [*months[1:], end]
    bucket = case(*((model.received_at < _moment(b), i) for i, b in enumerate(bounds)), else_=len(bounds))
    rows = session.execute(
        select(bucket.label("m"), func.count()).where(
            model.product.in_(names), model.received_at >= _moment(months[0]), model.received_at < _moment(end))
        .group_by(bucket))
    counts = [0] * len(months)
    for index, count in rows:
        if 0 <= int(index) < len(months):
            counts[int(index)] = int(count)
    return counts


def _tag_counts(session: Session, kind: TagKind, names: list[str], period: Period,
                value: str | None = None) -> tuple[Counter[str], Counter[str]]:
    """How many of the period's voices, and of the previous period's, carry each value of ``kind`` (main
    topics only): two joined queries (calls, complaints), each counting both periods at once."""
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for model, owner in ((Call, Tag.call_id), (Complaint, Tag.complaint_id)):
        current = case((model.received_at >= _moment(period.start), 1), else_=0)
        stmt = (select(Tag.value, current, func.count()).join(model, model.id == owner)
                .where(Tag.kind == kind, Tag.rejected.is_(False), model.product.in_(names),
                       model.received_at >= _moment(period.previous.start), model.received_at < _moment(period.end))
                .group_by(Tag.value, current))
        if kind == TagKind.TOPIC:
            stmt = stmt.where(Tag.mention.is_(False))  # main topics; passing mentions are not what a voice is about
        if value is not None:
            stmt = stmt.where(Tag.value == value)
        for key, is_now, count in session.execute(stmt):
            (now if is_now else before)[str(key)] += int(count)
    return now, before


def _ranked(session: Session, kind: TagKind, names: list[str], period: Period, locale: str) -> list[Ranked]:
    now, before = _tag_counts(session, kind, names, period)
    top = [key for key, _n in sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]
    label_kind = LabelKind.TOPIC if kind == TagKind.TOPIC else LabelKind.REASON
    labels = {lb.key: lb.label(locale) for lb in
              session.scalars(select(Label).where(Label.kind == label_kind, Label.key.in_(top)))} if top else {}
    verbatims = _verbatims(session, kind, top, names, period)
    return [Ranked(key, labels.get(key, key), now[key], before[key], verbatims.get(key, [])) for key in top]


def _candidates(session: Session, voice: str, kind: TagKind, keys: list[str], names: list[str], period: Period,
                *extra: ColumnElement[bool]) -> list[tuple[str, str, int, datetime, list[Any]]]:
    """The newest :data:`VERBATIMS` calls or complaints (``voice``) of the period tagged with each of ``keys``,
    meeting ``extra``: ``(key, voice, id, received_at, evidence)``, in one query (a window per key)."""
    model, owner = (Call, Tag.call_id) if voice == "call" else (Complaint, Tag.complaint_id)
    rank = func.row_number().over(partition_by=Tag.value, order_by=(model.received_at.desc(), model.id.desc()))
    inner = (select(Tag.value.label("key"), model.id.label("id"), model.received_at.label("at"),
                    Tag.evidence.label("evidence"), rank.label("rank"))
             .join(Tag, owner == model.id)
             .where(Tag.kind == kind, Tag.value.in_(keys), Tag.rejected.is_(False), model.product.in_(names),
                    model.received_at >= _moment(period.start), model.received_at < _moment(period.end), *extra))
    if kind == TagKind.TOPIC:
        inner = inner.where(Tag.mention.is_(False))
    sub = inner.subquery()
    rows = session.execute(select(sub.c.key, sub.c.id, sub.c.at, sub.c.evidence).where(sub.c.rank <= VERBATIMS)
                           .order_by(sub.c.key, sub.c.rank))
    return [(str(key), voice, int(voice_id), at, evidence) for key, voice_id, at, evidence in rows]


def _verbatims(session: Session, kind: TagKind, keys: list[str], names: list[str],
               period: Period) -> dict[str, list[Verbatim]]:
    """Up to :data:`VERBATIMS` voices for each of ``keys``: calls with an approved, bleeped clip first (what
    the room may play), then written complaints, then other transcribed calls; newest first within each
    (three queries for candidates, a few for their texts, whatever the number of keys)."""
    if not keys:
        return {}
    ready = select(Clip.call_id).where(Clip.status == ClipStatus.APPROVED, Clip.render_status == RenderStatus.READY)
    found = [*_candidates(session, "call", kind, keys, names, period, Call.id.in_(ready)),
             *_candidates(session, "complaint", kind, keys, names, period),
             # a call not yet transcribed has no words to quote
             *_candidates(session, "call", kind, keys, names, period, Call.id.not_in(ready),
                          Call.id.in_(select(Transcript.call_id)))]
    picked: list[tuple[str, str, int, datetime, list[Any]]] = []
    for key in keys:
        picked += [row for row in found if row[0] == key][:VERBATIMS]
    return _texts(session, picked)


def _texts(session: Session, picked: list[tuple[str, str, int, datetime, list[Any]]]) -> dict[str, list[Verbatim]]:
    """The picked voices' masked excerpts, by key (a handful of queries, whatever the number)."""
    call_ids = sorted({i for _key, k, i, _at, _ev in picked if k == "call"})
    complaint_ids = sorted({i for _key, k, i, _at, _ev in picked if k == "complaint"})
    pii: dict[tuple[str, int], list[Tag]] = defaultdict(list)
    if picked:
        owners = []
        if call_ids:
            owners.append(Tag.call_id.in_(call_ids))
        if complaint_ids:
            owners.append(Tag.complaint_id.in_(complaint_ids))
        for tag in session.scalars(select(Tag).where(Tag.kind == TagKind.PII, or_(*owners))):
            pii["call" if tag.call_id else "complaint", tag.call_id or tag.complaint_id or 0].append(tag)
    clips: dict[int, Clip] = {}
    if call_ids:
        for row in session.scalars(select(Clip).where(
                Clip.call_id.in_(call_ids), Clip.status == ClipStatus.APPROVED,
                Clip.render_status == RenderStatus.READY).order_by(Clip.approved_at.desc(), Clip.id.desc())):
            clips.setdefault(row.call_id, row)
    transcripts = {t.call_id: t for t in session.scalars(select(Transcript).where(Transcript.call_id.in_(call_ids)))} \
        if call_ids else {}
    complaints = {c.id: c.text for c in session.scalars(select(Complaint).where(Complaint.id.in_(complaint_ids)))} \
        if complaint_ids else {}
    out: dict[str, list[Verbatim]] = defaultdict(list)
    for key, kind, voice_id, received_at, evidence in picked:
        phrases = [p for p in evidence or [] if isinstance(p, str)]
        clip = clips.get(voice_id) if kind == "call" else None
        if clip is not None and clip.captions:
            # The clip's captions were masked when it was rendered, in step with its bleeps.
            text = excerpts.excerpt(" ".join(str(line.get("text", "")) for line in clip.captions), 0)
        elif kind == "call":
            transcript = transcripts.get(voice_id)
            if transcript is None:
                continue
            text = excerpts.masked_excerpt(excerpts.call_text(transcript), excerpts.pii_spans(pii[kind, voice_id]),
                                           phrases)
        else:
            text = excerpts.masked_excerpt(complaints.get(voice_id, ""), excerpts.pii_spans(pii[kind, voice_id]),
                                           phrases)
        if text:
            out[key].append(Verbatim(kind, voice_id, received_at, text, clip.id if clip is not None else None))
    return out


_DONE = (EntryStatus.ANSWERED, EntryStatus.CLOSED)


def overdue(entry: RegisterEntry, today: date) -> str:
    """Which of its deadlines an open entry has missed: "acknowledge", "answer" or "" (answering in
    time counts as acknowledging: an answered or closed entry is never overdue)."""
    if entry.status in _DONE:
        return ""
    if today > entry.answer_by:
        return "answer"
    if entry.acknowledged_at is None and entry.status == EntryStatus.RECEIVED and today > entry.acknowledge_by:
        return "acknowledge"
    return ""


def _line(entry: RegisterEntry, today: date) -> EntryLine:
    return EntryLine(entry.id, entry.reference, entry.subject, entry.product, str(entry.status), entry.received_on,
                     entry.acknowledge_by, entry.answer_by, overdue(entry, today),
                     str(entry.outcome) if entry.outcome else "",
                     entry.answered_at.date() if entry.answered_at else None)


def _register(session: Session, names: list[str], period: Period,
              today: date) -> tuple[list[EntryLine], int, int, list[EntryLine]]:
    """Open entries (overdue first, then by answer date), their count, the overdue count, and the
    actions taken: entries answered in the period and upheld, fully or partly."""
    open_rows = [_line(e, today) for e in session.scalars(
        select(RegisterEntry).where(RegisterEntry.product.in_(names), RegisterEntry.status.not_in(_DONE))
        .order_by(RegisterEntry.answer_by, RegisterEntry.id))]
    open_rows.sort(key=lambda e: (not e.overdue, e.answer_by, e.id))
    overdue_count = sum(1 for e in open_rows if e.overdue)
    actions = [_line(e, today) for e in session.scalars(
        select(RegisterEntry).where(
            RegisterEntry.product.in_(names), RegisterEntry.status.in_(_DONE),
            RegisterEntry.outcome.in_((Outcome.UPHELD, Outcome.PARTLY_UPHELD)),
            RegisterEntry.answered_at >= _moment(period.start), RegisterEntry.answered_at < _moment(period.end))
        .order_by(RegisterEntry.answered_at, RegisterEntry.id).limit(MAX_ENTRIES))]
    return open_rows[:MAX_ENTRIES], len(open_rows), overdue_count, actions


def build_pack(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime | None = None) -> Pack:
    """Gather the review pack of ``scope`` over ``period``, its labels in ``locale`` (about twenty
    queries, whatever the number of voices)."""
    now = now or utcnow()
    names = scope.names
    months = period.previous.months + period.months
    calls = _monthly(session, Call, names, months, period.end)
    complaints = _monthly(session, Complaint, names, months, period.end)
    series = [Month(m, c, w) for m, c, w in zip(months, calls, complaints, strict=True)]
    open_entries, open_count, overdue_count, actions = _register(session, names, period, now.date())
    unhappy, previous_unhappy = _tag_counts(session, TagKind.SENTIMENT, names, period, Sentiment.UNHAPPY)
    return Pack(scope=scope, period=period, months=series[6:], previous_months=series[:6],
                unhappy=unhappy[Sentiment.UNHAPPY], previous_unhappy=previous_unhappy[Sentiment.UNHAPPY],
                reasons=_ranked(session, TagKind.REASON, names, period, locale),
                topics=_ranked(session, TagKind.TOPIC, names, period, locale),
                open_entries=open_entries, open_count=open_count, overdue_count=overdue_count, actions=actions,
                made_at=now, improvements=improvement_actions.done_for_products(
                    session, names, _moment(period.start), _moment(period.end)))


def pack_clip(session: Session, user: User, clip_id: int) -> Clip:
    """A rendered (bleeped) clip a pack may link to: approved, and of a product ``user`` may read (curators,
    who curate every clip on their own pages, any rendered one); :class:`NotFound` otherwise, as for a
    missing one."""
    clip = session.get(Clip, clip_id)
    if clip is None or clip.render_status != RenderStatus.READY or not clip.audio_key:
        raise NotFound()
    if user.role not in CURATORS:
        if clip.status != ClipStatus.APPROVED:
            raise NotFound()
        product = session.scalar(select(Product).where(Product.name == clip.call.product))
        if product is None or not _may_read(user, product):
            raise NotFound()
    return clip


# --- the PDF, made by the worker ---------------------------------------------------------------------


def request_pdf(session: Session, user: User, scope: Scope, period: Period, locale: str) -> jobs.Job:
    """Queue the PDF of a pack for ``user`` (the ``review_pack_pdf`` job); the job, whose id names it."""
    key = f"{REVIEW_PACK_PDF}:{user.id}:{secrets.token_urlsafe(12)}"
    job = jobs.enqueue(session, kind=REVIEW_PACK_PDF, idempotency_key=key, max_attempts=3,
                       payload={"user_id": user.id, "scope": scope.value, "period": period.key, "locale": locale,
                                "name": pdf_name(scope, period)})
    session.flush()
    return job


def pdf_job(session: Session, user: User, job_id: int, now: datetime | None = None) -> jobs.Job:
    """``user``'s own PDF job; :class:`NotFound` for anyone else's (same answer as a missing one) and for
    one made more than :data:`PDF_KEEP` ago (its file is purged)."""
    job = session.get(jobs.Job, job_id)
    if job is None or job.kind != REVIEW_PACK_PDF or job.payload.get("user_id") != user.id:
        raise NotFound()
    if job.finished_at is not None and job.finished_at < (now or utcnow()) - PDF_KEEP:
        raise NotFound()
    return job


def expired_pdf_keys(session: Session, now: datetime) -> list[str]:
    """The storage keys of the company's PDFs made more than :data:`PDF_KEEP` ago (within the purge's look-back)."""
    old = jobs.finished_between(session, REVIEW_PACK_PDF, now - PDF_KEEP - PURGE_LOOKBACK, now - PDF_KEEP)
    return [pdf_key(tenant_id, job_id) for job_id, tenant_id in old]


def schedule_pdf_purge(now: datetime) -> int:
    """Queue today's ``review_pack_purge`` for every company (once a day: key ``review-pack-purge:<day>``)."""
    day = now.date().isoformat()
    return sum(jobs.enqueue_once(tenant_id, kind=REVIEW_PACK_PURGE, idempotency_key=f"review-pack-purge:{day}",
                                 payload={"at": now.isoformat()}) for tenant_id in _company_ids())


def _company_ids() -> list[int]:
    with tenancy.tenant_session(None) as session:  # the tenants table is not tenant data
        return list(session.scalars(select(Tenant.id).where(Tenant.is_platform.is_(False)).order_by(Tenant.id)))


def qr_svg(url: str) -> Markup:
    """A QR code of ``url`` as inline SVG (segno's own markup: safe to put in the page as it is)."""
    svg = segno.make(url, error="m").svg_inline(scale=2, title=None)
    return Markup(svg)  # noqa: S704 - segno's output, no text of ours or of customers in it


def pdf_key(tenant_id: int, job_id: int) -> str:
    """Where the PDF a job made lives."""
    return storage.key_for(tenant_id, "review-packs", f"{job_id}.pdf")


def pdf_name(scope: Scope, period: Period) -> str:
    """The PDF's file name: ``review-pack-<name>-2026-H1.pdf``, the name reduced to safe characters."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scope.name).strip("-").lower()[:40] or "pack"
    return f"review-pack-{slug}-{period.key}.pdf"


# --- the semi-annual mail ----------------------------------------------------------------------------


def schedule_review_packs(now: datetime) -> int:
    """Queue, in the first days after a semester ends, one ``review_pack_mail`` job per owned product
    of every company, keyed ``review-pack:<product id>:<period>`` (idempotent: once per product and
    semester, whatever the number of workers or runs). Returns how many were queued."""
    period = Period.last_complete(now.date())
    if now.date() - period.end >= MAIL_WINDOW:
        return 0
    queued = 0
    for tenant_id in _company_ids():
        with tenancy.tenant_session(tenant_id) as session:
            owned = list(session.execute(select(Product.id, Product.owner_id).where(Product.owner_id.isnot(None))))
        for product_id, owner_id in owned:
            queued += jobs.enqueue_once(tenant_id, kind=REVIEW_PACK_MAIL,
                                        idempotency_key=f"review-pack:{product_id}:{period.key}",
                                        payload={"product_id": product_id, "owner_id": owner_id,
                                                 "period": period.key})
    return queued


def mail_recipient(session: Session, product_id: int, period_key: str) -> tuple[User, Scope, Period] | None:
    """Who the semi-annual mail of a product goes to now (its owner, if still active and allowed to read
    it), with the pack's scope and period; None when there is no one to send it to."""
    product = session.get(Product, product_id)
    if product is None or product.owner_id is None:
        return None
    owner = session.get(User, product.owner_id)
    if owner is None or owner.status != UserStatus.ACTIVE or not _may_read(owner, product):
        return None
    match = _PERIOD.fullmatch(period_key)
    if match is None:
        return None
    return owner, Scope(f"product:{product.id}", product.name, False, (product,)), Period(int(match[1]),
                                                                                          int(match[2]))
