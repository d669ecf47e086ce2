"""THE tenant module: which tenant a Session may see, enforced in one place.

Wall 1 (every engine): a Session is bound to one tenant when it is created
(``session.info["tenant_id"]``). An ORM listener adds ``tenant_id = <bound>`` to every
SELECT, UPDATE and DELETE that touches a :class:`TenantScoped` model, and stamps
``tenant_id`` on new rows. A Session with no tenant that touches tenant data raises
:class:`TenantNotBound` (it fails closed).

Wall 2 (PostgreSQL): row-level security policies (created in the migrations) compare
``tenant_id`` with the company the transaction was opened for: the transaction-local
settings ``app.tenant_id`` and ``app.tenant_sig``, set here when the Session begins a
transaction. The signature (:func:`tenant_signature`) is made with a key the runtime role
cannot read, so no SQL it runs can name another company (migrations/rls.py). A query that
escaped wall 1 sees no rows.

The only opt-out is ``all_tenants=True``. It is opened by :func:`all_tenants_session`
(operator commands, login lookup, the queue's claim) and by :func:`request_session` for
platform admins in the admin views; reviewers grep for it. On PostgreSQL such a Session
connects as its own role, ``ecoute_ops`` (``ECOUTE_DATABASE_OPS_URL``, BYPASSRLS): the
runtime role has no setting that opens every tenant.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import ForeignKey, bindparam, select, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.session import SessionTransaction

from webapp.db import get_database, utcnow

if TYPE_CHECKING:
    from webapp.models.api_tokens import ApiToken


class TenantNotBound(RuntimeError):
    """Tenant data was touched in a Session that is bound to no tenant."""


class TenantMismatch(RuntimeError):
    """A row of one tenant was written in a Session bound to another."""


class TenantScoped:
    """Mixin for every tenant-owned model: an indexed, non-null ``tenant_id``."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False)


def _opted_out(state: ORMExecuteState) -> bool:
    return bool(state.session.info.get("all_tenants") or state.execution_options.get("all_tenants"))


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


def _confine_to_tenant(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # inherits the criteria of the statement that loaded the parent
    if not (state.is_select or state.is_update or state.is_delete) or _opted_out(state):
        return
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None:
        if _touches_tenant_data(state):
            raise TenantNotBound("tenant data queried in a Session bound to no tenant")
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _stamp_tenant(session: Session, _flush_context: Any, _instances: Any) -> None:
    if session.info.get("all_tenants"):
        return
    tenant_id = session.info.get("tenant_id")
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantNotBound(f"cannot write {type(obj).__name__} in a Session bound to no tenant")
        if obj in session.new and obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise TenantMismatch(f"{type(obj).__name__} of tenant {obj.tenant_id} in tenant {tenant_id}")


def tenant_signature(key: bytes, tenant_id: int) -> str:
    """What ``app.tenant_sig`` must hold for row-level security to open ``tenant_id``'s rows.

    HMAC-SHA256 of ``tenant:<id>``, in hex; ``public.ecoute_current_tenant()`` (migration 0009)
    computes the same in SQL under the same key.
    """
    return hmac.new(key, f"tenant:{tenant_id}".encode(), hashlib.sha256).hexdigest()


def _set_rls_context(session: Session, _transaction: SessionTransaction, connection: Any) -> None:
    if connection.dialect.name != "postgresql" or session.info.get("all_tenants"):
        return  # all-tenants Sessions connect as ecoute_ops, which row-level security does not bind
    tenant_id = session.info.get("tenant_id")
    # Bound parameters: other sessions of the role see ``$1`` in pg_stat_activity, never a signature.
    # Set even when empty: a value some SQL left at session level on this pooled connection is overridden.
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true), set_config('app.tenant_sig', :s, true)"),
        {"t": "" if tenant_id is None else str(tenant_id), "s": session.info.get("tenant_sig", "")},
    )


def _install_listeners() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "do_orm_execute", _confine_to_tenant):
        event.listen(Session, "do_orm_execute", _confine_to_tenant)
        event.listen(Session, "before_flush", _stamp_tenant)
        event.listen(Session, "after_begin", _set_rls_context)


_install_listeners()


def open_session(tenant_id: int | None = None, *, all_tenants: bool = False) -> Session:
    """Open a Session of the current app bound to ``tenant_id`` (or to every tenant, as ecoute_ops)."""
    database = get_database(current_app)
    session = (database.ops_sessionmaker if all_tenants else database.sessionmaker)()
    session.info["tenant_id"] = tenant_id
    session.info["all_tenants"] = all_tenants
    if tenant_id is not None and not all_tenants and database.is_postgresql:
        session.info["tenant_sig"] = tenant_signature(database.rls_key(), tenant_id)
    return session


@contextmanager
def tenant_session(tenant_id: int | None, *, all_tenants: bool = False) -> Iterator[Session]:
    """A Session bound to one tenant for a job or a command: committed on success, else rolled back."""
    from webapp.db import commit, rollback

    session = open_session(tenant_id, all_tenants=all_tenants)
    try:
        yield session
    except BaseException:
        rollback(session)
        raise
    else:
        commit(session)
    finally:
        session.close()


def all_tenants_session() -> Any:
    """A Session that sees every tenant: for operator commands, the login lookup and the queue's claim only.

    On PostgreSQL it connects as ``ecoute_ops`` (``ECOUTE_DATABASE_OPS_URL``).
    """
    return tenant_session(None, all_tenants=True)


# --- the request's Session --------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is making the request, as far as tenancy is concerned."""

    tenant_id: int
    is_platform_admin: bool


def _current_principal() -> Principal | None:
    from flask_login import current_user

    if current_user.is_authenticated:
        return Principal(current_user.tenant_id, current_user.is_platform_admin)
    return None


def bind_request(tenant_id: int) -> None:
    """Bind this anonymous request to a tenant named by a signed token (invitation, reset).

    Must be called before the request's Session is first used.
    """
    if "ecoute_session" in g:
        raise RuntimeError("the request's Session is already open; bind it before first use")
    g.ecoute_bound_tenant = tenant_id


def request_session() -> Session:
    """The request's Session, opened on first use and bound to the principal's tenant.

    Platform admins get an all-tenants Session in the admin views only; everyone else's is
    confined to their own tenant; anonymous requests see no tenant data unless bound by
    :func:`bind_request`. :mod:`webapp.db` commits it after the view.
    """
    session: Session | None = g.get("ecoute_session")
    if session is not None:
        return session
    principal = _current_principal()
    if principal is not None:
        all_tenants = principal.is_platform_admin and request.blueprint == "admin"
        session = open_session(None if all_tenants else principal.tenant_id, all_tenants=all_tenants)
    else:
        session = open_session(g.get("ecoute_bound_tenant"))
    g.ecoute_session = session
    return session


def current_tenant_id() -> int | None:
    """The tenant the request is confined to (None when anonymous or all-tenants)."""
    if not has_request_context():
        return None
    tenant_id: int | None = request_session().info.get("tenant_id")
    return tenant_id


# --- principals --------------------------------------------------------------------------


def load_user(tenant_id: int, user_id: int) -> Any:
    """Load a logged-in user for flask-login, through a Session bound to their tenant.

    Returns None (which logs the person out) when the user is gone or not active, or when
    their tenant is suspended. The returned object is detached: read-only for the request.
    """
    from webapp.models import Tenant, User

    with tenant_session(tenant_id) as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        tenant = session.get(Tenant, tenant_id)
        if tenant is None or tenant.is_suspended:
            if tenant is not None and has_request_context():
                g.ecoute_logout_reason = "tenant_suspended"  # told on the login page (auth.py)
            return None
        session.expunge_all()
        return user


def find_login_candidates(email: str) -> list[Any]:
    """Every account with this e-mail, in any tenant, with its tenant loaded (login only).

    The one cross-tenant read a person can trigger: the e-mail alone says nothing about
    which company the person belongs to, so all accounts are tried against the password.
    """
    from sqlalchemy.orm import joinedload

    from webapp.models import User

    with all_tenants_session() as session:
        users = list(
            session.scalars(select(User).options(joinedload(User.tenant)).where(User.email == email)).unique()
        )
        session.expunge_all()
        return users



# --- API tokens ----------------------------------------------------------------------------

#: Every API token starts with this, then the tenant id: ``ect_<tenant id>_<secret>``.
API_TOKEN_PREFIX = "ect_"  # noqa: S105 - a marker, not a secret
#: ``last_used_at`` is shown to the minute; it is written at most this often.
LAST_USED_GRANULARITY = timedelta(minutes=1)
_API_TOKEN = re.compile(r"ect_([1-9][0-9]{0,11})_[A-Za-z0-9_-]{32,128}")


def api_token_tenant(raw: str) -> int | None:
    """The tenant an API token names, or None when it is not shaped like one of ours."""
    match = _API_TOKEN.fullmatch(raw or "")
    return int(match.group(1)) if match else None


def api_token_hash(raw: str) -> str:
    """What is stored of an API token: the SHA-256 of the whole token (tenant part included)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def authenticate_api_token(raw: str) -> ApiToken | None:
    """Resolve the API token of this request to its :class:`ApiToken`, binding the request to its tenant.

    The lookup by hash runs in a Session bound to the tenant the token names, so behind both
    walls, and in a transaction of its own that ends at once: no transaction (on SQLite, no
    write lock) stays open while an upload then streams in. Returns None — the same answer
    whatever the reason — for a malformed or unknown token, a revoked one, or one of a
    suspended tenant; the request then stays unbound. On success ``last_used_at`` is updated
    (to the minute), the request's Session is opened bound to the token's tenant, and the
    token is returned detached: read-only for the request, like :func:`load_user`'s users.
    Cookies play no part: an API request is its token.
    """
    from webapp.models import ApiToken, Tenant  # the models import this module

    tenant_id = api_token_tenant(raw)
    if tenant_id is None:
        return None
    g.ecoute_writes = True  # ``last_used_at`` may be written: on SQLite, the write lock up front (webapp.db)
    with tenant_session(tenant_id) as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == api_token_hash(raw)))
        tenant = session.get(Tenant, tenant_id) if token is not None else None
        if token is None or token.is_revoked or tenant is None or tenant.is_suspended:
            return None
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
            token.last_used_at = now  # not on every request: a system polling a status would write each time
        session.flush()
        session.expunge(token)
        g.tenant_slug = tenant.slug  # for the log lines, as create_app's hook does for people
    bind_request(tenant_id)
    # Opened here rather than by request_session(), which would follow a login cookie if one came along.
    g.ecoute_session = open_session(tenant_id)
    return token


# --- kiosk device tokens ------------------------------------------------------------------

#: Every kiosk device token starts with this, then the tenant id: ``ekt_<tenant id>_<secret>``.
KIOSK_TOKEN_PREFIX = "ekt_"  # noqa: S105 - a marker, not a secret
_KIOSK_TOKEN = re.compile(r"ekt_([1-9][0-9]{0,11})_[A-Za-z0-9_-]{32,128}")


def kiosk_token_tenant(raw: str) -> int | None:
    """The tenant a kiosk token names, or None when it is not shaped like one of ours."""
    match = _KIOSK_TOKEN.fullmatch(raw or "")
    return int(match.group(1)) if match else None


@functools.cache
def _kiosk_lookup(kiosk: Any, tenant: Any) -> Any:
    """The kiosk of a token hash with its tenant (built once; the guard adds the tenant's criteria)."""
    return select(kiosk, tenant).join(tenant, tenant.id == kiosk.tenant_id).where(
        kiosk.token_hash == bindparam("token_hash"))


def authenticate_kiosk(raw: str) -> Any:
    """Resolve a kiosk's device token to its :class:`Kiosk`, binding the request to its tenant.

    The lookup runs in the request's own Session, opened here bound to the tenant the token
    names (so behind both walls; a login cookie that came along plays no part): a kiosk polls
    every few seconds, and one connection and one transaction per request is what it can afford.
    Returns None — whatever the reason — for a malformed, unknown or revoked token or a suspended
    tenant; the Session is then closed and the request left unbound. On success the kiosk stays
    attached to the request's Session. What the kiosk may read within its tenant (its playlist,
    those clips' audio) is decided by webapp/services/kiosks.py.
    """
    from webapp.models import Kiosk, Tenant  # the models import this module

    tenant_id = kiosk_token_tenant(raw)
    if tenant_id is None:
        return None
    if "ecoute_session" in g:
        raise RuntimeError("the request's Session is already open; authenticate the kiosk before first use")
    session = open_session(tenant_id)
    # One statement for the kiosk and its tenant: a screen polls, and this runs on every request.
    found = session.execute(_kiosk_lookup(Kiosk, Tenant), {"token_hash": api_token_hash(raw)}).first()
    kiosk, tenant = found if found is not None else (None, None)
    if kiosk is None or kiosk.is_revoked or tenant is None or tenant.is_suspended:
        session.rollback()
        session.close()
        return None
    g.tenant_slug = tenant.slug
    g.ecoute_bound_tenant = tenant_id
    g.ecoute_session = session
    return kiosk
