"""Improvement actions: the outer loop from what the room heard to what the company changed (issue #16).

An action has a title and the problem it answers, an owner, a due date and comments, and goes
proposed → accepted → in progress → done → verified, or rejected with a reason. It starts from a
clip, a reaction, a complaint, a register entry, a dashboard number, an alert or a workshop
(:class:`ActionOrigin`), and names what it should change: a topic, a reason or a product, whose
volume and unhappy share before and after the "done" date are the evidence a quality manager
reads before confirming it verified (webapp/services/action_evidence.py).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class ActionStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ActionOrigin(enum.StrEnum):
    """Where the action was started from."""

    MANUAL = "manual"
    CLIP = "clip"
    REACTION = "reaction"
    COMPLAINT = "complaint"
    REGISTER = "register"
    DASHBOARD = "dashboard"
    ALERT = "alert"
    WORKSHOP = "workshop"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class ImprovementAction(TenantScoped, Base):
    __tablename__ = "improvement_actions"
    __table_args__ = (Index("ix_improvement_actions_tenant_id_status_due_on", "tenant_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The problem, in the proposer's words (no customer's personal data: excerpts are masked).
    problem: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus), default=ActionStatus.PROPOSED)
    #: Why it was rejected (required to reject).
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None,
                                                 index=True)
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    origin: Mapped[ActionOrigin] = mapped_column(_enum(ActionOrigin), default=ActionOrigin.MANUAL)
    #: What it should change, which verification measures: a topic key, a reason key, a product name.
    topic: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(String(60), default="")
    product: Mapped[str] = mapped_column(String(120), default="")
    #: Where a dashboard number or an alert pointed (its filters, as a query string), if it started there.
    origin_query: Mapped[str] = mapped_column(String(500), default="")
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id", ondelete="SET NULL"), default=None,
                                                    index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    #: When it was marked done: verification compares equal windows before and after it.
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: Bumped on every change: a form or an API call based on an older version is refused.
    version: Mapped[int] = mapped_column(default=1)


class ActionLink(TenantScoped, Base):
    """What an action is about: exactly one of a clip, a call, a complaint, a register entry, a
    reaction or an alert. Erasing the voice erases the link, not the action."""

    __tablename__ = "action_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_actions.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), default=None, index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), default=None, index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), default=None,
                                                     index=True)
    register_entry_id: Mapped[int | None] = mapped_column(ForeignKey("register_entries.id", ondelete="CASCADE"),
                                                          default=None, index=True)
    reaction_id: Mapped[int | None] = mapped_column(ForeignKey("reactions.id", ondelete="CASCADE"), default=None,
                                                    index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), default=None,
                                                 index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionEvent(TenantScoped, Base):
    """The action's timeline: a comment, a status change, an owner or due date set."""

    __tablename__ = "action_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_actions.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: "comment", "status", "owner", "due", "link", "edit".
    kind: Mapped[str] = mapped_column(String(20))
    #: A comment's text, or what changed (e.g. {"from": "done", "to": "in_progress"}).
    comment: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
