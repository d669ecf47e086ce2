"""API tokens: the tenant admin creates and revokes the tokens a company's systems push with.

A token is ``ect_<tenant id>_<secret>`` (see :mod:`webapp.tenancy`, which resolves it on each
API request). It is shown once, when created; only its SHA-256 and a short prefix are kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import tenancy
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import ApiToken, TokenScope, User
from webapp.services import audit

#: Characters of the secret kept in the prefix, after ``ect_<tenant id>_``: enough to tell tokens apart.
PREFIX_SECRET_CHARS = 6
PREFIX_MAX = 16  # ApiToken.prefix's length


@dataclass(frozen=True)
class NewToken:
    """A token just created: the row, and the token itself, to be shown once and then forgotten."""

    token: ApiToken
    raw: str


def list_tokens(session: Session) -> list[ApiToken]:
    """The tenant's tokens, newest first, revoked ones included."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def get_token(session: Session, token_id: int) -> ApiToken:
    """One token of the tenant; :class:`NotFound` when missing or another tenant's."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound()
    return token


def create_token(session: Session, actor: User, *, name: str, scope: str) -> NewToken:
    """Create a token for the actor's tenant and record it in the audit log.

    Raises :class:`UserError` when the name is empty or too long, or the scope unknown.
    """
    name = " ".join((name or "").split())
    if not name:
        raise UserError(_("Give the token a name, for instance the system that will use it."), "name_missing")
    if len(name) > 120:
        raise UserError(_("The name is too long: %(max)d characters at most.", max=120), "name_too_long")
    try:
        token_scope = TokenScope(scope)
    except ValueError:
        raise UserError(_("Choose what the token may do: send items, or only read them."), "scope_invalid") from None
    head = f"{tenancy.API_TOKEN_PREFIX}{actor.tenant_id}_"
    raw = head + secrets.token_urlsafe(32)
    token = ApiToken(tenant_id=actor.tenant_id, name=name, scope=token_scope,
                     token_hash=tenancy.api_token_hash(raw),
                     prefix=raw[:min(PREFIX_MAX, len(head) + PREFIX_SECRET_CHARS)], created_by_id=actor.id)
    session.add(token)
    session.flush()
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="api_token.created",
                 target=f"api_token:{token.id}", name=name, scope=str(token_scope))
    return NewToken(token, raw)


def revoke_token(session: Session, actor: User, token: ApiToken) -> None:
    """Revoke a token for good (it answers 401 from now on); revoking it again changes nothing."""
    if token.is_revoked:
        return
    token.revoked_at = utcnow()
    audit.record(session, tenant_id=token.tenant_id, actor=actor, action="api_token.revoked",
                 target=f"api_token:{token.id}", name=token.name)
