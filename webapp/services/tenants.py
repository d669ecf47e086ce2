"""Tenants: onboarding companies, suspending them, and the platform's own tenant."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.config import LOCALES, Settings
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Role, StereoLayout, Tenant, User, UserStatus
from webapp.passwords import hash_password
from webapp.services import accounts, audit, taxonomy
from webapp.services.validation import clean_email, clean_int, clean_name, clean_password, clean_slug


def list_tenants(session: Session) -> list[tuple[Tenant, int]]:
    """Every company (not the platform's own tenant) with its number of people, newest first."""
    counts = people_counts(session)
    tenants = session.scalars(
        select(Tenant).where(Tenant.is_platform.is_(False)).order_by(Tenant.created_at.desc(), Tenant.id.desc())
    )
    return [(t, int(counts.get(t.id, 0))) for t in tenants]


def people_counts(session: Session) -> dict[int, int]:
    """Number of people per tenant id (needs the platform admin's all-tenants Session)."""
    rows = session.execute(select(User.tenant_id, func.count()).group_by(User.tenant_id))
    return {tenant_id: int(n) for tenant_id, n in rows}


def get_tenant(session: Session, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.is_platform:
        raise NotFound()
    return tenant


def find_by_slug(session: Session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower()))
    if tenant is None:
        raise NotFound()
    return tenant


def create_tenant(session: Session, settings: Settings, *, name: str, slug: str, default_locale: str,
                  retention_days: str | int, admin_email: str, actor: User | None = None) -> Tenant:
    """Onboard a company and invite its first admin (the mail leaves after commit).

    Needs an all-tenants Session: the new admin belongs to the new tenant, not the actor's.
    """
    name = clean_name(name, required=True)
    slug = clean_slug(slug)
    if default_locale not in LOCALES:
        raise UserError(_("Choose French or English."), "locale_invalid")
    retention = clean_int(str(retention_days), minimum=1, maximum=3650,
                          message=_("Keep recordings between 1 and 3650 days."))
    admin_email = clean_email(admin_email)
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise UserError(_("Another company already uses the short name “%(slug)s”.", slug=slug), "slug_taken")
    tenant = Tenant(name=name, slug=slug, default_locale=default_locale, retention_days=retention)
    session.add(tenant)
    session.flush()
    taxonomy.seed_defaults(session, tenant.id)
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.created", target=f"tenant:{tenant.id}")
    accounts.create_invited_user(session, settings, tenant, email=admin_email, role=Role.TENANT_ADMIN, inviter=actor)
    return tenant


def set_suspended(session: Session, tenant: Tenant, suspended: bool, actor: User | None = None) -> None:
    """Suspend (its people are logged out and cannot log in) or reactivate a company."""
    if tenant.is_platform:
        raise NotFound()
    if suspended == tenant.is_suspended:
        return
    tenant.suspended_at = utcnow() if suspended else None
    if suspended:
        accounts.end_company_sessions(session, tenant.id)  # reactivation must not revive them
    audit.record(session, tenant_id=tenant.id, actor=actor,
                 action="tenant.suspended" if suspended else "tenant.reactivated", target=f"tenant:{tenant.id}")


def upsert_active_user(session: Session, tenant: Tenant, *, email: str, role: Role, password: str,
                       name: str = "", one_time: bool = False) -> User:
    """Create or refresh an active account with a known password (operator commands, demo).

    ``one_time``: the password was printed for an operator to hand over, so the person must
    choose their own at first login. A refreshed account's earlier sessions end.
    Needs an all-tenants Session or one bound to ``tenant``.
    """
    email = clean_email(email)
    clean_password(password, email)
    user = next((u for u in session.scalars(select(User).where(User.email == email)) if u.tenant_id == tenant.id),
                None)
    if user is None:
        user = User(tenant_id=tenant.id, email=email, role=role)
        session.add(user)
    else:
        user.session_version += 1  # a new password ends the sessions opened with the old one
    user.must_change_password = one_time
    user.role = role
    user.name = clean_name(name, required=False) or user.name
    user.status = UserStatus.ACTIVE
    user.password_hash = hash_password(password)
    session.flush()
    return user


def update_company_settings(session: Session, tenant: Tenant, actor: User, *, default_locale: str,
                            stereo_layout: str) -> bool:
    """Change what a tenant admin may change of their company; False when nothing changed.

    The stereo layout applies to calls processed from now on (a call already transcribed keeps
    its speakers until it is processed again).
    """
    if default_locale not in LOCALES:
        raise UserError(_("Choose a language from the list."))
    if stereo_layout not in {layout.value for layout in StereoLayout}:
        raise UserError(_("Choose how your stereo recordings are made from the list."))
    changes = {name: [old, new] for name, old, new in (
        ("default_locale", tenant.default_locale, default_locale),
        ("stereo_layout", tenant.stereo_layout, stereo_layout)) if old != new}
    if not changes:
        return False
    tenant.default_locale, tenant.stereo_layout = default_locale, stereo_layout
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.settings_changed",
                 target=f"tenant:{tenant.id}", **changes)
    return True
