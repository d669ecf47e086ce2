"""Factories: plain functions that insert valid rows through the real services.

Each returns plain values (ids, e-mails), never live ORM objects, so tests cannot lean
on an identity map the app does not share. They need an app context.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from tests.audio import tone
from webapp import tenancy
from webapp.models import Role, Source, Tenant, TokenScope, User
from webapp.services import api_tokens, ingestion, taxonomy
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
        taxonomy.seed_defaults(session, tenant.id)
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


def make_call(tenant_id: int, *, external_id: str | None = None, product: str = "", seconds: float = 0.5,
              bulk: bool = False) -> int:
    """A call stored through the ingestion service from a tiny generated WAV (a different tone each time)."""
    with tempfile.TemporaryDirectory() as folder:
        wav = tone(Path(folder) / "call.wav", seconds=seconds, frequency=200 + 7 * next(_seq))
        with wav.open("rb") as stream, tenancy.tenant_session(tenant_id) as session:
            meta = ingestion.clean_meta({"product": product, "external_id": external_id or ""})
            done = ingestion.ingest_call(session, current_app.config["ECOUTE"], tenant_id, stream=stream,
                                         filename=wav.name, meta=meta, origin=ingestion.Origin(Source.BROWSER),
                                         bulk=bulk)
            return done.call.id


def make_complaint(tenant_id: int, *, text: str | None = None, external_id: str | None = None) -> int:
    with tenancy.tenant_session(tenant_id) as session:
        complaint, _duplicate = ingestion.create_complaint(
            session, text=text or f"Complaint number {next(_seq)}: the oven stopped working.",
            meta=ingestion.clean_meta({"external_id": external_id or "", "channel": "email"}),
            origin=ingestion.Origin(Source.BROWSER))
        return complaint.id


@dataclass(frozen=True)
class TokenRef:
    id: int
    tenant_id: int
    raw: str  #: the token itself, as the integrator sends it
    scope: TokenScope


def make_api_token(tenant_id: int, scope: TokenScope = TokenScope.INGEST, *, name: str | None = None) -> TokenRef:
    """An API token created by the tenant's first admin, through the service (so it is audited too)."""
    with tenancy.tenant_session(tenant_id) as session:
        admin = session.scalars(select(User).where(User.role == Role.TENANT_ADMIN).order_by(User.id)).first()
        assert admin is not None, "make_api_token needs a tenant admin: make_user(tenant_id, role=TENANT_ADMIN)"
        new = api_tokens.create_token(session, admin, name=name or f"System {next(_seq)}", scope=scope)
        return TokenRef(new.token.id, tenant_id, new.raw, scope)


def first_label(tenant_id: int) -> int:
    """The id of the company's first taxonomy entry (a default topic)."""
    from sqlalchemy import select

    from webapp.models import Label

    with tenancy.tenant_session(tenant_id) as session:
        label_id = session.scalars(select(Label.id).order_by(Label.id)).first()
        assert label_id is not None
        return label_id
