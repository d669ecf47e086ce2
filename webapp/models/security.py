"""Single-use tokens (invitations, password resets) and failed-login records."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, enum_values, utcnow
from webapp.models.users import User
from webapp.tenancy import TenantScoped


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    RESET = "reset"


class UserToken(TenantScoped, Base):
    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, native_enum=False, length=20, values_callable=enum_values)
    )
    #: SHA-256 of the secret part of the link; the link itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed login; counted per key over a sliding window to throttle guessing.

    Not tenant-scoped: the login form knows no tenant. Keys are hashes (``account:`` +
    e-mail, ``ip:`` + address), so the table holds no e-mail address in clear.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
