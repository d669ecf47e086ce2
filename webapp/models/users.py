"""People who log in: each belongs to one tenant and has one role."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, enum_values, utcnow
from webapp.models.tenants import Tenant
from webapp.tenancy import TenantScoped


class Role(enum.StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    TENANT_ADMIN = "tenant_admin"
    QUALITY_MANAGER = "quality_manager"
    STAFF = "staff"


#: Roles a tenant admin may give (platform admins live in the platform tenant only).
TENANT_ROLES = (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)


class UserStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class User(TenantScoped, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; unique within a tenant (the same person may work for two companies).
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, values_callable=enum_values))
    status: Mapped[UserStatus] = mapped_column(
        Enum(UserStatus, native_enum=False, length=20, values_callable=enum_values), default=UserStatus.INVITED
    )
    #: argon2id hash; None until the invitation is accepted.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    #: Interface language chosen by the person; None means the tenant's default.
    locale: Mapped[str | None] = mapped_column(String(5), default=None)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Stamped into the session at login (through :meth:`get_id`) and checked on every request:
    #: raising it ends every session of the person at once (logout, new password, deactivation,
    #: company suspension), copies of the cookie included.
    session_version: Mapped[int] = mapped_column(default=1)
    #: The password was set by an operator (printed once): the person must choose their own
    #: before using any other page.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: The department the person works in (a staff member may read the insights of its products).
    department: Mapped[str] = mapped_column(String(120), default="")
    #: How often the person wants the alerts digest by e-mail: "daily", "weekly" or "never".
    digest: Mapped[str] = mapped_column(String(10), default="weekly")
    #: A manager: listening coverage shows managers apart (issue #16).
    is_manager: Mapped[bool] = mapped_column(default=False)
    #: When the person last opened the alerts page: the menu counts the alerts raised since.
    alerts_seen_at: Mapped[datetime | None] = mapped_column(default=None)

    tenant: Mapped[Tenant] = relationship(lazy="joined", innerjoin=True)

    # flask-login's protocol -------------------------------------------------------------
    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The tenant travels with the id so the loader can bind its Session before reading;
        # the session version lets the loader refuse a session that was ended since.
        return f"{self.tenant_id}:{self.id}:{self.session_version}"

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN

    @property
    def display_name(self) -> str:
        return self.name or self.email
