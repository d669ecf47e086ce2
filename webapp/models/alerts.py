"""Alert rules a company sets, and the alerts they raised (issue #15, item 4).

The worker evaluates the rules in a periodic, idempotent job; an alert's ``key`` names its rule and
window, so one rule raises at most one alert per window, however often it is evaluated.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class RuleKind(enum.StrEnum):
    THRESHOLD = "threshold"  #: the unhappy share of a selection over a threshold, with a minimum count
    CHANGE = "change"  #: a topic's or reason's volume this window against the baseline, significant
    EMERGING = "emerging"  #: a reason that is new, or emerging, this window
    RATING = "rating"  #: a product's rating under the company's floor (the 3/5 rule)


class Dimension(enum.StrEnum):
    """What a rule watches: everything, or one product, topic or reason (``value``)."""

    ALL = "all"
    PRODUCT = "product"
    TOPIC = "topic"
    REASON = "reason"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class AlertRule(TenantScoped, Base):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[RuleKind] = mapped_column(_enum(RuleKind))
    dimension: Mapped[Dimension] = mapped_column(_enum(Dimension), default=Dimension.ALL)
    #: The product name, topic key or reason key watched ("" with Dimension.ALL).
    value: Mapped[str] = mapped_column(String(120), default="")
    #: For a threshold: the share (0..1) over which it fires, e.g. 0.40.
    threshold: Mapped[float | None] = mapped_column(Float, default=None)
    #: The window evaluated (days), and the baseline it is compared with (days, before the window).
    window_days: Mapped[int] = mapped_column(default=7)
    baseline_days: Mapped[int] = mapped_column(default=28)
    #: Fewer voices than this in the window and the rule says nothing.
    min_count: Mapped[int] = mapped_column(default=20)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(default=None)


class Alert(TenantScoped, Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_alerts_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The rule (empty for the built-in rating rule) and the window: at most one alert per pair.
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"), default=None)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[RuleKind] = mapped_column(_enum(RuleKind))
    dimension: Mapped[Dimension] = mapped_column(_enum(Dimension), default=Dimension.ALL)
    value: Mapped[str] = mapped_column(String(120), default="")
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    #: The figures behind it (counts, shares, the test's p-value), never the customers' words.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
