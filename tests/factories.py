"""Factories: plain functions that insert valid rows through the real services.

Each returns plain values (ids, e-mails), never live ORM objects, so tests cannot lean
on an identity map the app does not share. They need an app context.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from webapp import tenancy
from webapp.models import Role, Tenant
from webapp.services import tenants as tenant_service

_seq = itertools.count(1)


@dataclass(frozen=True)
class UserRef:
    id: int
    tenant_id: int
    email: str
    role: Role


def make_tenant(*, slug: str | None = None, name: str | None = None, locale: str = "fr") -> int:
    n = next(_seq)
    with tenancy.all_tenants_session() as session:
        tenant = Tenant(slug=slug or f"company-{n}", name=name or f"Company {n}", default_locale=locale)
        session.add(tenant)
        session.flush()
        return tenant.id


def make_user(tenant_id: int, *, role: Role = Role.STAFF, email: str | None = None,
              password: str = "correct horse battery", name: str = "") -> UserRef:
    email = email or f"person{next(_seq)}@example.test"
    with tenancy.tenant_session(tenant_id) as session:
        tenant = tenant_service.get_tenant(session, tenant_id)
        user = tenant_service.upsert_active_user(session, tenant, email=email, role=role, password=password,
                                                 name=name or email.split("@")[0].title())
        return UserRef(user.id, tenant_id, user.email, role)


def make_platform_admin(*, email: str, password: str) -> UserRef:
    with tenancy.all_tenants_session() as session:
        home = tenant_service.platform_tenant(session)
        user = tenant_service.upsert_active_user(session, home, email=email, role=Role.PLATFORM_ADMIN,
                                                 password=password)
        return UserRef(user.id, home.id, user.email, Role.PLATFORM_ADMIN)
