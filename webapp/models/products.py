"""Products as the company manages them: owners, families and departments, the ratings customers
gave them, and the 3/5 watch list (issue #15, item 5).

Calls and complaints name their product in free text (``product``); a :class:`Product` row exists
once the company gives that name an owner, a family or a department, or imports ratings for it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, Float, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class RatingSource(enum.StrEnum):
    CSV = "csv"
    API = "api"


class Product(TenantScoped, Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: As calls, complaints and ratings name it.
    name: Mapped[str] = mapped_column(String(120))
    #: A product family (review packs can cover a whole family).
    family: Mapped[str] = mapped_column(String(120), default="", index=True)
    #: The department that answers for it: its staff may read its insights.
    department: Mapped[str] = mapped_column(String(120), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: When the company marked the product "modified": only ratings given after it can take it off
    #: the watch list.
    modified_at: Mapped[datetime | None] = mapped_column(default=None)
    #: On the watch list since (its rating fell under the company's floor), else empty.
    watch_since: Mapped[datetime | None] = mapped_column(default=None)
    #: The rating that put it there.
    watch_rating: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(TenantScoped, Base):
    """A customer's 1-5 rating of a product (a store review, a survey), imported by CSV or API."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_ratings_tenant_id_product_rated_on", "tenant_id", "product", "rated_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(120))
    stars: Mapped[int] = mapped_column(SmallInteger)
    rated_on: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[RatingSource] = mapped_column(
        Enum(RatingSource, native_enum=False, length=20, values_callable=enum_values), default=RatingSource.CSV)
    #: The sender's own id: an import run twice adds nothing.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
