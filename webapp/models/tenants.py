"""Tenants: the companies that use Écoute. The table itself is not tenant-scoped."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, String, Text
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
    #: The complaint register's clock rule set (webapp/services/complaint_clocks.ClockRules):
    #: ACPR's by default, 10 jours ouvrables to acknowledge and 2 calendar months to answer.
    clock_days: Mapped[str] = mapped_column(String(20), default="ouvrables")
    clock_calendar: Mapped[str] = mapped_column(String(20), default="metropolitan")
    clock_acknowledge_days: Mapped[int] = mapped_column(default=10)
    clock_answer_months: Mapped[int] = mapped_column(default=2)
    #: Set, the answer is due in this many days of ``clock_days`` instead of months.
    clock_answer_days: Mapped[int | None] = mapped_column(default=None)
    #: The mediator a (partly) rejected complaint's answer must name: its name, and how to reach it.
    mediator_name: Mapped[str] = mapped_column(String(200), default="")
    mediator_details: Mapped[str] = mapped_column(Text, default="")
    #: The 3/5 rule: a product rated under ``rating_floor`` over ``rating_window_days``, with at least
    #: ``rating_min_count`` ratings, joins the watch list.
    rating_floor: Mapped[float] = mapped_column(Float, default=3.0)
    rating_window_days: Mapped[int] = mapped_column(default=90)
    rating_min_count: Mapped[int] = mapped_column(default=10)
    #: The company's time zone (IANA): screens' schedules, proof-of-play days, quarters of coverage.
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Paris")
    #: The kiosk's look: the company's accent colour (``#rrggbb``, "" for the default) and logo
    #: (object key of an uploaded PNG/SVG-free raster image, "" for none).
    accent_color: Mapped[str] = mapped_column(String(7), default="")
    logo_key: Mapped[str] = mapped_column(String(300), default="")
    #: Listening coverage's goal: minutes of customer voices per person and quarter.
    listening_goal_minutes: Mapped[int] = mapped_column(default=20)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None
