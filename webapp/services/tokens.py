"""Single-use, expiring links for invitations and password resets.

A link carries ``<tenant id>.<secret>``: the tenant lets the request bind its Session
before reading (tenancy), the secret is stored only as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import User, UserToken
from webapp.models.security import TokenPurpose


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, user: User, purpose: TokenPurpose, ttl: timedelta, secret: str | None = None) -> str:
    """Create a link token for ``user``, cancelling their earlier unused ones of that purpose.

    ``secret`` is the link's secret when the caller derived it (webapp.mail.new_link_secret: the
    worker that mails the link computes it again); a random one otherwise.
    """
    now = utcnow()
    session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == purpose, UserToken.used_at.is_(None))
        .values(used_at=now)
    )
    secret = secret or secrets.token_urlsafe(32)
    session.add(UserToken(tenant_id=user.tenant_id, user_id=user.id, purpose=purpose,
                          token_hash=_hash(secret), expires_at=now + ttl))
    return f"{user.tenant_id}.{secret}"


def tenant_of(raw: str) -> int:
    """The tenant a link token belongs to; raises :class:`UserError` if it is malformed."""
    head, _sep, secret = (raw or "").partition(".")
    if not head.isdigit() or len(secret) < 20 or len(head) > 12:
        raise UserError(_("This link is not valid. Check that you copied it whole."), "token_invalid")
    return int(head)


def consume(session: Session, raw: str, purpose: TokenPurpose, *, peek: bool = False) -> UserToken:
    """Find the unused, unexpired token behind a link and mark it used (unless ``peek``).

    Raises :class:`UserError` with a message saying why the link cannot be used.
    """
    tenant_of(raw)
    secret = raw.partition(".")[2]
    token = session.scalars(
        select(UserToken).where(UserToken.token_hash == _hash(secret), UserToken.purpose == purpose)
    ).one_or_none()
    if token is None:
        raise UserError(_("This link is not valid. Check that you copied it whole."), "token_invalid")
    if token.used_at is not None:
        raise UserError(_("This link has already been used. Ask for a new one if you need it."), "token_used")
    if token.expires_at < utcnow():
        raise UserError(_("This link has expired. Ask for a new one."), "token_expired")
    if not peek:
        token.used_at = utcnow()
    return token
