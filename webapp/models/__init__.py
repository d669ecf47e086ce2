"""Typed SQLAlchemy models, one file per area."""

from webapp.models.audit import AuditEvent
from webapp.models.security import LoginFailure, UserToken
from webapp.models.tenants import Tenant
from webapp.models.users import Role, User, UserStatus

__all__ = ["AuditEvent", "LoginFailure", "Role", "Tenant", "User", "UserStatus", "UserToken"]
