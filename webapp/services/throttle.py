"""Login throttling: failures counted per account and per client IP over a sliding window.

Failures are written in their own short transaction, so they stay recorded even though
the request that saw them answers with an error and rolls back.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, select

from webapp import tenancy
from webapp.config import Settings
from webapp.db import utcnow
from webapp.models import LoginFailure


def key(kind: str, value: str) -> str:
    """A stable, non-reversible key such as ``account:<hash>`` for an e-mail or an IP."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def count_recent(keys: list[str], settings: Settings) -> dict[str, int]:
    """Failures per key within the window."""
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    with tenancy.tenant_session(None) as session:
        rows = session.execute(
            select(LoginFailure.key, func.count())
            .where(LoginFailure.key.in_(keys), LoginFailure.at >= since)
            .group_by(LoginFailure.key)
        ).all()
    counts = {k: 0 for k in keys}
    counts.update({k: int(n) for k, n in rows})
    return counts


def record_failure(keys: list[str]) -> None:
    """Remember one failure for each key, committed at once."""
    with tenancy.tenant_session(None) as session:
        session.add_all(LoginFailure(key=k) for k in keys)


def clear(keys: list[str]) -> None:
    """Forget the failures of these keys (after a successful login)."""
    with tenancy.tenant_session(None) as session:
        session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))


def purge_older_than(settings: Settings) -> None:
    """Drop failures that no longer count."""
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    with tenancy.tenant_session(None) as session:
        session.execute(delete(LoginFailure).where(LoginFailure.at < since))
