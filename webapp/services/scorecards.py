"""Product scorecards and the 3/5 rule (issue #15, item 5).

**A scorecard** shows, per product and over the company's rating window
(``Tenant.rating_window_days``, 90 days by default): the average of the ratings given in it
(1 to 5) and how many there are, the trend by month, the number of calls and written complaints
about the product, and the share of those voices that were unhappy.

**Estimated from voices.** Where a product has no rating in the window, its score is estimated
from the sentiment of its calls and complaints, mapped onto the same 1–5 scale and averaged:

    satisfied = 5, neutral = 3, unhappy = 1

(a voice with no sentiment tag, or whose tag a person rejected, counts for nothing). The pages
always label such a figure "estimated from voices"; the 3/5 rule never uses it.

**The 3/5 rule** (:func:`evaluate`). A product whose ratings over the window, at least
``Tenant.rating_min_count`` of them (10), average under ``Tenant.rating_floor`` (3.0) is flagged:
``Product.watch_since`` and ``watch_rating`` are set, an :class:`~webapp.models.Alert` of kind
``rating`` is raised (key ``rating:<product id>:<day>``: one per product and day, however often the
rule runs) and its owner is e-mailed. It stays on the watch list until the company marks it
"modified" (``Product.modified_at``, after it was flagged) and the ratings given *after* that day
(within the window) number at least the minimum and average at least the floor; ratings given
before the modification never clear it. Once a product was modified, only ratings given after the
modification count for flagging it again too: they judge the product as it is now.

The rule runs after every ratings import (webapp.services.ratings) and once a day for every company,
as an idempotent job (:func:`schedule_rating_rule`, ``rating_rule``: worker/handlers/rating_rule.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from webapp import jobs, mail, tenancy
from webapp.db import utcnow
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import (
    Alert,
    Call,
    Complaint,
    Dimension,
    Product,
    Rating,
    RuleKind,
    Sentiment,
    Tag,
    TagKind,
    Tenant,
    User,
    UserStatus,
)
from webapp.services import audit, products

#: How a voice's sentiment maps onto the 1–5 rating scale (see the module's docstring).
SENTIMENT_SCORES: dict[str, int] = {Sentiment.SATISFIED: 5, Sentiment.NEUTRAL: 3, Sentiment.UNHAPPY: 1}
#: The job that evaluates the 3/5 rule for one company (worker/handlers/rating_rule.py).
RATING_RULE = "rating_rule"
#: The mail a product's owner gets when it joins the watch list (templates/emails/rating_watch.txt).
WATCH_MAIL = "rating_watch"
#: Months a scorecard's trend covers.
TREND_MONTHS = 12
#: What the company may set (the settings page): floor, window (days) and minimum count.
FLOOR_RANGE, WINDOW_RANGE, MIN_COUNT_RANGE = (1.0, 5.0), (7, 730), (1, 10_000)


def window_start(tenant: Tenant, today: date) -> date:
    """The first day of the company's rating window ending ``today`` (90 days: today and the 89 before)."""
    return today - timedelta(days=tenant.rating_window_days - 1)


def _since(start: date) -> datetime:
    return datetime.combine(start, time(0), tzinfo=UTC)


def average(total: float, count: int) -> float | None:
    return total / count if count else None


@dataclass
class Figures:
    """A product's figures over a period."""

    #: Sum and number of the ratings given in it.
    stars: float = 0.0
    ratings: int = 0
    calls: int = 0
    complaints: int = 0
    #: Voices by sentiment (satisfied, neutral, unhappy).
    sentiments: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def rating(self) -> float | None:
        """The average rating, or None without ratings."""
        return average(self.stars, self.ratings)

    @property
    def voices(self) -> int:
        """Voices with a sentiment."""
        return sum(self.sentiments.values())

    @property
    def estimated(self) -> float | None:
        """The score estimated from the voices' sentiment (:data:`SENTIMENT_SCORES`), or None without any."""
        total = sum(SENTIMENT_SCORES[value] * n for value, n in self.sentiments.items() if value in SENTIMENT_SCORES)
        return average(total, self.voices)

    @property
    def score(self) -> float | None:
        """The rating when there are ratings, else the estimate (see :attr:`is_estimated`)."""
        return self.rating if self.ratings else self.estimated

    @property
    def is_estimated(self) -> bool:
        return not self.ratings and self.voices > 0

    @property
    def unhappy_share(self) -> float | None:
        """Unhappy voices among those with a sentiment (0..1), or None without any."""
        return average(self.sentiments.get(Sentiment.UNHAPPY, 0), self.voices)


@dataclass(frozen=True)
class Scorecard:
    product: Product
    owner: str
    figures: Figures

    @property
    def on_watch(self) -> bool:
        return self.product.watch_since is not None


def _voice_figures(session: Session, start: date, into: dict[str, Figures], product: str | None = None) -> None:
    """Add the calls, complaints and their sentiments since ``start`` to ``into`` (by product): four queries."""
    for model, counter in ((Call, "calls"), (Complaint, "complaints")):
        product_col: InstrumentedAttribute[str] = model.product
        where: list[ColumnElement[bool]] = [model.received_at >= _since(start), product_col != ""]
        if product is not None:
            where.append(product_col == product)
        for name, n in session.execute(select(product_col, func.count()).where(*where).group_by(product_col)):
            setattr(into[name], counter, getattr(into[name], counter) + int(n))
        owner = Tag.call_id if model is Call else Tag.complaint_id
        rows = session.execute(
            select(product_col, Tag.value, func.count()).join(Tag, owner == model.id)
            .where(*where, Tag.kind == TagKind.SENTIMENT, Tag.rejected.is_(False))
            .group_by(product_col, Tag.value))
        for name, value, n in rows:
            into[name].sentiments[str(value)] += int(n)


def _rating_figures(session: Session, start: date, into: dict[str, Figures]) -> None:
    rows = session.execute(select(Rating.product, func.sum(Rating.stars), func.count())
                           .where(Rating.rated_on >= start).group_by(Rating.product))
    for name, total, n in rows:
        into[name].stars += float(total or 0)
        into[name].ratings += int(n)


def scorecards(session: Session, tenant: Tenant, reader: products.Reader, today: date | None = None
               ) -> list[Scorecard]:
    """The scorecard of every product ``reader`` may read, by name (a constant number of queries)."""
    start = window_start(tenant, today or utcnow().date())
    figures: dict[str, Figures] = defaultdict(Figures)
    _rating_figures(session, start, figures)
    _voice_figures(session, start, figures)
    owners = products.owner_names(session)
    return [Scorecard(p, owners.get(p.owner_id or 0, ""), figures[p.name])
            for p in products.sync_products(session) if reader.may_read(p)]


@dataclass(frozen=True)
class Month:
    """One month of a product's trend."""

    month: date
    figures: Figures


def _month(day: date) -> date:
    return day.replace(day=1)


def scorecard(session: Session, tenant: Tenant, product: Product, today: date | None = None
              ) -> tuple[Scorecard, list[Month]]:
    """A product's scorecard over the window, and its trend by month over the last :data:`TREND_MONTHS`."""
    today = today or utcnow().date()
    window: dict[str, Figures] = defaultdict(Figures)
    start = window_start(tenant, today)
    total, count = session.execute(select(func.sum(Rating.stars), func.count()).where(
        Rating.product == product.name, Rating.rated_on >= start)).one()
    window[product.name].stars, window[product.name].ratings = float(total or 0), int(count)
    _voice_figures(session, start, window, product.name)
    first = _month(today)
    for _step in range(TREND_MONTHS - 1):
        first = _month(first - timedelta(days=1))
    months: dict[date, Figures] = {}
    day = first
    while day <= today:
        months[day] = Figures()
        day = _month(day + timedelta(days=32))
    for rated_on, total, n in session.execute(
            select(Rating.rated_on, func.sum(Rating.stars), func.count())
            .where(Rating.product == product.name, Rating.rated_on >= first).group_by(Rating.rated_on)):
        month = months.get(_month(rated_on))
        if month is not None:
            month.stars += float(total or 0)
            month.ratings += int(n)
    _monthly_voices(session, product.name, first, months)
    owner = session.get(User, product.owner_id) if product.owner_id else None
    card = Scorecard(product, owner.display_name if owner else "", window[product.name])
    return card, [Month(m, f) for m, f in sorted(months.items(), reverse=True)]


def _monthly_voices(session: Session, name: str, first: date, months: dict[date, Figures]) -> None:
    """Add the product's voices since ``first`` to their months: counted per day received (UTC) and sentiment
    in the database (GROUP BY), two queries whatever the number of voices."""
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    for model, counter in ((Call, "calls"), (Complaint, "complaints")):
        owner = Tag.call_id if model is Call else Tag.complaint_id
        stamp: Any = model.received_at
        if on_postgresql:  # the day in UTC, whatever the session's time zone
            stamp = func.timezone(literal_column("'UTC'"), stamp)
        sub = (select(func.date(stamp).label("day"), Tag.value.label("sentiment")).select_from(model)
               .outerjoin(Tag, and_(owner == model.id, Tag.kind == TagKind.SENTIMENT, Tag.rejected.is_(False)))
               .where(model.product == name, model.received_at >= _since(first)).subquery())
        for day, value, n in session.execute(select(sub.c.day, sub.c.sentiment, func.count())
                                             .group_by(sub.c.day, sub.c.sentiment)):
            when = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
            month = months.get(_month(when))
            if month is None:
                continue
            setattr(month, counter, getattr(month, counter) + int(n))
            if value:
                month.sentiments[str(value)] += int(n)


# --- the 3/5 rule ----------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one run of the rule did: the products it flagged and those that left the watch list."""

    flagged: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


def counted_from(product: Product, start: date) -> date:
    """The first day whose ratings count for the rule: the window's, or the day after the modification."""
    if product.modified_at is None:
        return start
    return max(start, product.modified_at.astimezone(UTC).date() + timedelta(days=1))


def may_leave(product: Product) -> bool:
    """Whether the product was marked modified since it joined the watch list (else it cannot leave it)."""
    return (product.watch_since is not None and product.modified_at is not None
            and product.modified_at >= product.watch_since)


def evaluate(session: Session, tenant: Tenant, now: datetime | None = None) -> Evaluation:
    """Apply the 3/5 rule to every product of the company (see the module's docstring); idempotent.

    Flagging raises the product's alert (one per product and day) and queues a mail to its owner.
    """
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    start = window_start(tenant, today)
    by_day: dict[str, list[tuple[date, float, int]]] = defaultdict(list)
    for name, rated_on, total, n in session.execute(
            select(Rating.product, Rating.rated_on, func.sum(Rating.stars), func.count())
            .where(Rating.rated_on >= start).group_by(Rating.product, Rating.rated_on)):
        by_day[name].append((rated_on, float(total or 0), int(n)))
    done = Evaluation()
    for product in products.sync_products(session):
        since = counted_from(product, start)
        days = [(total, n) for day, total, n in by_day.get(product.name, []) if day >= since]
        count = sum(n for _total, n in days)
        rating = average(sum(total for total, _n in days), count)
        if rating is None or count < tenant.rating_min_count:
            continue
        if product.watch_since is None and rating < tenant.rating_floor:
            _flag(session, tenant, product, rating, count, since, now)
            done.flagged.append(product.name)
        elif may_leave(product) and rating >= tenant.rating_floor:
            product.watch_since, product.watch_rating = None, None
            audit.record(session, tenant_id=tenant.id, actor=None, action="product.watch_left",
                         target=f"product:{product.id}", rating=round(rating, 2), count=count)
            done.cleared.append(product.name)
    session.flush()
    return done


def _flag(session: Session, tenant: Tenant, product: Product, rating: float, count: int, since: date,
          now: datetime) -> None:
    """Put ``product`` on the watch list, raise its alert and mail its owner (once per product and day)."""
    product.watch_since, product.watch_rating = now, round(rating, 2)
    today = now.astimezone(UTC).date()
    key = f"rating:{product.id}:{today.isoformat()}"
    if session.scalar(select(Alert.id).where(Alert.key == key)) is not None:
        return
    session.add(Alert(key=key, kind=RuleKind.RATING, dimension=Dimension.PRODUCT, value=product.name,
                      window_start=since, window_end=today,
                      detail={"product_id": product.id, "rating": round(rating, 2), "count": count,
                              "floor": tenant.rating_floor, "min_count": tenant.rating_min_count}))
    owner = session.get(User, product.owner_id) if product.owner_id else None
    if owner is not None and owner.status == UserStatus.ACTIVE:
        mail.queue_mail(session, tenant_id=tenant.id, user_id=owner.id, template=WATCH_MAIL,
                        context={"product": product.name, "rating": round(rating, 2), "count": count,
                                 "floor": tenant.rating_floor, "product_id": product.id})


def watch_list(cards: Iterable[Scorecard]) -> list[Scorecard]:
    """The products on the watch list, longest there first."""
    return sorted((c for c in cards if c.on_watch), key=lambda c: (c.product.watch_since, c.product.name))


def schedule_rating_rule(now: datetime) -> int:
    """Queue today's ``rating_rule`` job for every company that has none yet; how many were queued
    (a periodic schedule: webapp/services/periodic.py). The key ``rating_rule:<day>`` lets one insert win."""
    day = now.astimezone(UTC).date().isoformat()
    with tenancy.tenant_session(None) as session:  # the tenants table is not tenant data
        tenant_ids = list(session.scalars(select(Tenant.id).where(Tenant.is_platform.is_(False)).order_by(Tenant.id)))
    return sum(jobs.enqueue_once(tenant_id, kind=RATING_RULE, idempotency_key=f"{RATING_RULE}:{day}",
                                 payload={"day": day}) for tenant_id in tenant_ids)


def run_rating_rule(tenant_id: int, now: datetime | None = None) -> Evaluation:
    """The ``rating_rule`` job: evaluate the rule for one company, in its own transaction."""
    with tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            return Evaluation()
        return evaluate(session, tenant, now)


def update_settings(session: Session, tenant: Tenant, actor: User, *, floor: str, window_days: str,
                    min_count: str) -> bool:
    """Change the company's 3/5 rule (floor, window in days, minimum count); False when nothing changed.

    Raises :class:`UserError` for a value out of range. The rule applies from its next run.
    """
    try:
        new_floor = float((floor or "").strip().replace(",", "."))
    except ValueError:
        new_floor = -1.0
    if not FLOOR_RANGE[0] <= new_floor <= FLOOR_RANGE[1]:
        raise UserError(_("The floor must be a number from 1 to 5, such as 3 or 3.5."), "floor_invalid")
    window = (window_days or "").strip()
    if not window.isdigit() or not WINDOW_RANGE[0] <= int(window) <= WINDOW_RANGE[1]:
        raise UserError(_("The window must be from %(min)d to %(max)d days.", min=WINDOW_RANGE[0],
                          max=WINDOW_RANGE[1]), "window_invalid")
    minimum = (min_count or "").strip()
    if not minimum.isdigit() or not MIN_COUNT_RANGE[0] <= int(minimum) <= MIN_COUNT_RANGE[1]:
        raise UserError(_("The minimum number of ratings must be from %(min)d to %(max)d.",
                          min=MIN_COUNT_RANGE[0], max=MIN_COUNT_RANGE[1]), "min_count_invalid")
    changes = {name: [old, new] for name, old, new in (
        ("rating_floor", tenant.rating_floor, round(new_floor, 2)),
        ("rating_window_days", tenant.rating_window_days, int(window)),
        ("rating_min_count", tenant.rating_min_count, int(minimum))) if old != new}
    if not changes:
        return False
    tenant.rating_floor, tenant.rating_window_days, tenant.rating_min_count = (
        round(new_floor, 2), int(window), int(minimum))
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.settings_changed",
                 target=f"tenant:{tenant.id}", **changes)
    return True
