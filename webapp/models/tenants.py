"""Tenants: the companies that use Écoute. The table itself is not tenant-scoped."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, utcnow

PLATFORM_SLUG = "platform"


class StereoLayout(enum.StrEnum):
    """How the company's telephony records stereo calls: which side is the agent."""

    AGENT_LEFT = "agent_left"  #: agent on the left channel, customer on the right (the common layout)
    AGENT_RIGHT = "agent_right"
    MIXED = "mixed"  #: both voices on both channels: transcribe the mix, no speakers


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short identifier used in URLs and commands, e.g. ``maison-demo``.
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: Language of the interface and of mails for people who have not chosen one.
    default_locale: Mapped[str] = mapped_column(String(5), default="fr")
    #: How long recordings are kept, in days, before they are erased.
    retention_days: Mapped[int] = mapped_column(default=180)
    #: Stereo recordings: which channel is the agent (StereoLayout); mono calls have no speakers.
    stereo_layout: Mapped[str] = mapped_column(String(20), default=StereoLayout.AGENT_LEFT.value)
    #: The internal tenant that holds the platform admins; never listed nor suspended.
    is_platform: Mapped[bool] = mapped_column(default=False)
    suspended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None
