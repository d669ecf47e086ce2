"""Each company's taxonomy: the topics calls are about and the finer complaint reasons it defines.

Every company starts with the default topics (stable keys: ``delivery``, ``billing``...; see
webapp/services/default_taxonomy.py); the tenant admin renames them, adds topics and reasons with French and
English labels and example phrases, and retires those no longer wanted. A key never changes,
so tags keep pointing at the right entry after a rename.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class LabelKind(enum.StrEnum):
    TOPIC = "topic"
    REASON = "reason"


class Label(TenantScoped, Base):
    """One topic or complaint reason of a company's taxonomy."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LabelKind] = mapped_column(Enum(LabelKind, native_enum=False, length=20,
                                                 values_callable=enum_values))
    #: Stable identifier (``delivery``, ``late_delivery``): what tags store; never renamed.
    key: Mapped[str] = mapped_column(String(60))
    label_fr: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    #: Phrases customers use for it, one per line: the tagger looks for them, in both languages.
    examples: Mapped[str] = mapped_column(Text, default="")
    #: Retired entries are not given to new calls; tags already made stay.
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def label(self, locale: str) -> str:
        return self.label_fr if locale.startswith("fr") else self.label_en

    def example_list(self) -> list[str]:
        return [line.strip() for line in self.examples.splitlines() if line.strip()]


class TaggerModel(TenantScoped, Base):
    """A company's own classifier, trained from its people's corrections (worker/tagging/tenant_model.py)."""

    __tablename__ = "tagger_models"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: How many corrected texts it learnt from.
    examples: Mapped[int] = mapped_column(default=0)
    #: The fitted model, serialised by worker/tagging/tenant_model.py (the company's data only).
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
