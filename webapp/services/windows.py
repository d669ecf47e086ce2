"""What the periodic schedules (webapp/services/periodic.py) share: the windows their idempotency keys
name, and the companies they visit. Apart from the registry, which imports every schedule's service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from webapp import tenancy
from webapp.models.tenants import Tenant


def day_window(now: datetime) -> str:
    """The day of ``now`` (in ``now``'s time zone) as a window key: ``2026-12-03``."""
    return now.date().isoformat()


def week_window(now: datetime) -> str:
    """The ISO week of ``now`` (in ``now``'s time zone) as a window key: ``2026-W49``."""
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def company_ids() -> list[int]:
    """Every company (the platform's own excepted), suspended ones included, for a schedule to visit."""
    with tenancy.tenant_session(None) as session:  # the tenants table is not tenant data
        return list(session.scalars(select(Tenant.id).where(Tenant.is_platform.is_(False)).order_by(Tenant.id)))
