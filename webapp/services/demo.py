"""The demo tenant, "Maison Démo", for a new user to log into."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import Role, Tenant
from webapp.services import accounts, taxonomy, tenants

DEMO_SLUG = "maison-demo"
DEMO_PEOPLE = (
    (Role.PLATFORM_ADMIN, "admin@ecoute.local", "Équipe Écoute"),
    (Role.TENANT_ADMIN, "direction@maison-demo.fr", "Claire Martin"),
    (Role.QUALITY_MANAGER, "qualite@maison-demo.fr", "Karim Benali"),
    (Role.STAFF, "accueil@maison-demo.fr", "Julie Moreau"),
)


def _password() -> str:
    # Readable and long enough: four groups of four characters.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def refresh_demo(session: Session) -> list[tuple[Role, str, str]]:
    """Create or refresh the demo tenant and its four logins; new passwords each time.

    Needs an all-tenants Session. Returns (role, e-mail, password) for each login.
    """
    platform = accounts.platform_tenant(session)
    tenant = session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
    if tenant is None:
        tenant = Tenant(slug=DEMO_SLUG, name="Maison Démo", default_locale="fr", retention_days=180)
        session.add(tenant)
        session.flush()
        taxonomy.seed_defaults(session, tenant.id)
    tenant.suspended_at = None
    logins = []
    for role, email, name in DEMO_PEOPLE:
        password = _password()
        home = platform if role == Role.PLATFORM_ADMIN else tenant
        tenants.upsert_active_user(session, home, email=email, role=role, password=password, name=name)
        logins.append((role, email, password))
    return logins


def demo_tenant_id(session: Session) -> int:
    """The demo company's id (after :func:`refresh_demo`)."""
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
    assert tenant_id is not None, "refresh_demo first"
    return tenant_id
