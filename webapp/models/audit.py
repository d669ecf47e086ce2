"""The audit log: who did what to whom, per tenant, for the tenant admin to read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from webapp.models.kiosks import Kiosk
from webapp.models.users import User
from webapp.tenancy import TenantScoped


class AuditEvent(TenantScoped, Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: None when the platform or an operator command acted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    #: The customer room's screen that acted (a clip played), when no person did.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id", ondelete="SET NULL"), default=None)
    #: Short dotted verb, e.g. ``user.invited``, ``user.role_changed``.
    action: Mapped[str] = mapped_column(String(40))
    #: Who or what was acted on, e.g. ``user:12``.
    target: Mapped[str] = mapped_column(String(80), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    kiosk: Mapped[Kiosk | None] = relationship(foreign_keys=[kiosk_id])
