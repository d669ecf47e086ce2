"""Who is asking, resolved to a tenant: a logged-in person, an API token or a kiosk's device token.

Each resolver looks its principal up behind both walls of :mod:`webapp.tenancy` (in a Session
bound to the tenant the credential names) and, for a token, hands the result to
:func:`webapp.tenancy.authenticate`, which sets the request's context once. This module sits
above the models (it loads users, tokens and kiosks); tenancy, which the models build on, sits
below them.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from flask import has_request_context
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from webapp import tenancy
from webapp.context import Principal, PrincipalKind, current_context
from webapp.db import utcnow
from webapp.models import ApiToken, Kiosk, Tenant, User

#: ``last_used_at`` is shown to the minute; it is written at most this often.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def load_user(tenant_id: int, user_id: int) -> User | None:
    """Load a logged-in user for flask-login, through a Session bound to their tenant.

    Returns None (which logs the person out) when the user is gone or not active, or when
    their tenant is suspended. The returned object is detached: read-only for the request.
    """
    with tenancy.tenant_session(tenant_id) as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        tenant = session.get(Tenant, tenant_id)
        if tenant is None or tenant.is_suspended:
            if tenant is not None and has_request_context():
                current_context().logout_reason = "tenant_suspended"  # told on the login page (auth.py)
            return None
        session.expunge_all()
        return user


def find_login_candidates(email: str) -> list[User]:
    """Every account with this e-mail, in any tenant, with its tenant loaded (login only).

    The one cross-tenant read a person can trigger: the e-mail alone says nothing about
    which company the person belongs to, so all accounts are tried against the password.
    """
    with tenancy.all_tenants_session() as session:
        users = list(
            session.scalars(select(User).options(joinedload(User.tenant)).where(User.email == email)).unique()
        )
        session.expunge_all()
        return users


def authenticate_api_token(raw: str) -> ApiToken | None:
    """Resolve the API token of this request to its :class:`ApiToken`, binding the request to its tenant.

    The lookup by hash runs in a Session bound to the tenant the token names, so behind both
    walls, and in a transaction of its own that ends at once: no transaction (on SQLite, no
    write lock) stays open while an upload then streams in. Returns None — the same answer
    whatever the reason — for a malformed or unknown token, a revoked one, or one of a
    suspended tenant; the request then stays unbound. On success ``last_used_at`` is updated
    (to the minute), the request's principal is the token and its Session is opened bound to
    the token's tenant, and the token is returned detached: read-only for the request, like
    :func:`load_user`'s users. Cookies play no part: an API request is its token.
    """
    tenant_id = tenancy.api_token_tenant(raw)
    if tenant_id is None:
        return None
    with tenancy.tenant_session(tenant_id) as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == tenancy.api_token_hash(raw)))
        tenant = session.get(Tenant, tenant_id) if token is not None else None
        if token is None or token.is_revoked or tenant is None or tenant.is_suspended:
            return None
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
            token.last_used_at = now  # not on every request: a system polling a status would write each time
        session.flush()
        session.expunge(token)
        slug = tenant.slug
    tenancy.authenticate(Principal(PrincipalKind.API_TOKEN, tenant_id, token.id, slug), subject=token)
    return token


@functools.cache
def _kiosk_lookup() -> Select[Kiosk, Tenant]:
    """The kiosk of a token hash with its tenant (built once; the guard adds the tenant's criteria)."""
    return select(Kiosk, Tenant).join(Tenant, Tenant.id == Kiosk.tenant_id).where(
        Kiosk.token_hash == bindparam("token_hash"))


def authenticate_kiosk(raw: str) -> Kiosk | None:
    """Resolve a kiosk's device token to its :class:`Kiosk`, binding the request to its tenant.

    The lookup runs in the request's own Session, opened here bound to the tenant the token
    names (so behind both walls; a login cookie that came along plays no part): a kiosk polls
    every few seconds, and one connection and one transaction per request is what it can afford.
    Returns None — whatever the reason — for a malformed, unknown or revoked token or a suspended
    tenant; the Session is then closed and the request left unbound. On success the kiosk stays
    attached to the request's Session. What the kiosk may read within its tenant (its playlist,
    those clips' audio) is decided by webapp/services/kiosks.py.
    """
    tenant_id = tenancy.kiosk_token_tenant(raw)
    if tenant_id is None:
        return None
    context = current_context()
    if context.session is not None or context.principal is not None:
        raise RuntimeError("the request's Session is already open; authenticate the kiosk before first use")
    session = tenancy.open_session(tenant_id)
    # One statement for the kiosk and its tenant: a screen polls, and this runs on every request.
    found = session.execute(_kiosk_lookup(), {"token_hash": tenancy.api_token_hash(raw)}).first()
    kiosk, tenant = found if found is not None else (None, None)
    if kiosk is None or kiosk.is_revoked or tenant is None or tenant.is_suspended:
        session.rollback()
        session.close()
        return None
    tenancy.authenticate(Principal(PrincipalKind.KIOSK, tenant_id, kiosk.id, tenant.slug), session, subject=kiosk)
    return kiosk


def current_api_token() -> ApiToken:
    """The API token that authenticated this request (detached: read-only)."""
    subject = current_context().subject
    if not isinstance(subject, ApiToken):
        raise RuntimeError("this request was not authenticated by an API token")
    return subject


def current_kiosk() -> Kiosk:
    """The kiosk that authenticated this request (attached to the request's Session)."""
    subject = current_context().subject
    if not isinstance(subject, Kiosk):
        raise RuntimeError("this request was not authenticated by a kiosk")
    return subject
