"""Login throttling: failures counted per key (an account from one address, an address) over a
sliding window, and growing delays once a key has had too many.

A key over its allowance is refused for a delay that doubles with each further failure (the
first delay, then twice it, four times...; at most the window), counted from its last failure:
a person who mistyped is slowed down, never locked out, and a guesser gets only a few tries an hour.

Failures are written in their own short transaction, so they stay recorded even though
the request that saw them answers with an error and rolls back.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

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


def _recent(keys: list[str], settings: Settings) -> dict[str, tuple[int, datetime]]:
    """Failures within the window and the time of the last one, per key that has any."""
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    with tenancy.tenant_session(None) as session:
        rows = session.execute(
            select(LoginFailure.key, func.count(), func.max(LoginFailure.at))
            .where(LoginFailure.key.in_(keys), LoginFailure.at >= since)
            .group_by(LoginFailure.key)
        ).all()
    return {k: (int(n), last) for k, n, last in rows}


def delay_for(failures: int, allowed: int, settings: Settings) -> float:
    """Seconds a key is refused after its last failure: none within its allowance, then doubling."""
    if failures < allowed:
        return 0.0
    window = settings.login_window_minutes * 60.0
    return min(settings.login_delay_s * 2.0 ** min(failures - allowed, 32), window)


def wait_seconds(allowances: dict[str, int], settings: Settings) -> int:
    """Whole seconds before every key may try again (0: now); ``allowances`` maps key to failures allowed."""
    now = utcnow()
    wait = 0.0
    for k, (failures, last) in _recent(list(allowances), settings).items():
        until = last + timedelta(seconds=delay_for(failures, allowances[k], settings))
        wait = max(wait, (until - now).total_seconds())
    return math.ceil(wait) if wait > 0 else 0


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
