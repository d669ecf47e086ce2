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

import hashlib
import hmac
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, event, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.session import SessionTransaction

from webapp import access
from webapp.context import ANONYMOUS, Principal, PrincipalKind, current_context
from webapp.db import commit, get_database, rollback


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


def all_tenants_session() -> AbstractContextManager[Session]:
    """A Session that sees every tenant: for operator commands, the login lookup and the queue's claim only.

    On PostgreSQL it connects as ``ecoute_ops`` (``ECOUTE_DATABASE_OPS_URL``).
    """
    return tenant_session(None, all_tenants=True)


# --- the request: who is asking, and its Session ------------------------------------------


def _person() -> Principal | None:
    if not current_user.is_authenticated:
        return None
    return Principal(PrincipalKind.PERSON, current_user.tenant_id, current_user.id,
                     current_user.tenant.slug, current_user.is_platform_admin)


def principal() -> Principal:
    """Who is asking, as far as tenancy is concerned; set once in the request's context.

    A person (the login cookie) on every view but the API's and the kiosk's, where a login opens
    nothing and only :func:`authenticate` names the principal; until then, and when nobody logged
    in, it is anonymous (not yet fixed: :func:`bind_request` or :func:`authenticate` may still say).
    """
    context = current_context()
    if context.principal is not None:
        return context.principal
    declared = access.of_request()
    person = None if declared is not None and declared.kind in _TOKEN_KINDS else _person()
    if person is not None:
        context.set_principal(person)
        return person
    return ANONYMOUS


_TOKEN_KINDS = frozenset({PrincipalKind.API_TOKEN, PrincipalKind.KIOSK})


def authenticate(who: Principal, session: Session | None = None, subject: object = None) -> None:
    """Fix the request's principal once its credentials are checked (webapp.principals), with the Session
    it already opened (a kiosk's lookup runs in it) or else a new one bound to its tenant.

    Opened here rather than by :func:`request_session`, which would follow a login cookie if one came along.
    """
    context = current_context()
    context.set_principal(who)
    context.subject = subject
    context.session = session if session is not None else open_session(who.tenant_id)


def bind_request(tenant_id: int) -> None:
    """Bind this anonymous request to a tenant named by a signed token (invitation, reset).

    Must be called before the request's Session is first used. A logged-in person's request stays theirs.
    """
    context = current_context()
    if context.session is not None:
        raise RuntimeError("the request's Session is already open; bind it before first use")
    if principal().kind is PrincipalKind.ANONYMOUS:
        context.set_principal(Principal(PrincipalKind.ANONYMOUS, tenant_id))


def request_session() -> Session:
    """The request's Session, opened on first use and bound to the principal's tenant.

    Platform admins get an all-tenants Session in the admin views only; everyone else's is
    confined to their own tenant; anonymous requests see no tenant data unless bound by
    :func:`bind_request`. :mod:`webapp.db` commits it after the view.
    """
    context = current_context()
    if context.session is not None:
        return context.session
    who = principal()
    if context.principal is None:
        context.set_principal(who)  # anonymous, from now on
    all_tenants = who.is_platform_admin and request.blueprint == "admin"
    context.session = open_session(None if all_tenants else who.tenant_id, all_tenants=all_tenants)
    return context.session


def current_tenant_id() -> int | None:
    """The tenant the request is confined to (None when anonymous or all-tenants)."""
    if not has_request_context():
        return None
    tenant_id: int | None = request_session().info.get("tenant_id")
    return tenant_id


# --- API tokens ----------------------------------------------------------------------------

#: Every API token starts with this, then the tenant id: ``ect_<tenant id>_<secret>``.
API_TOKEN_PREFIX = "ect_"  # noqa: S105 - a marker, not a secret
_API_TOKEN = re.compile(r"ect_([1-9][0-9]{0,11})_[A-Za-z0-9_-]{32,128}")


def api_token_tenant(raw: str) -> int | None:
    """The tenant an API token names, or None when it is not shaped like one of ours."""
    match = _API_TOKEN.fullmatch(raw or "")
    return int(match.group(1)) if match else None


def api_token_hash(raw: str) -> str:
    """What is stored of an API token: the SHA-256 of the whole token (tenant part included)."""
    return hashlib.sha256(raw.encode()).hexdigest()


# --- kiosk device tokens ------------------------------------------------------------------

#: Every kiosk device token starts with this, then the tenant id: ``ekt_<tenant id>_<secret>``.
KIOSK_TOKEN_PREFIX = "ekt_"  # noqa: S105 - a marker, not a secret
_KIOSK_TOKEN = re.compile(r"ekt_([1-9][0-9]{0,11})_[A-Za-z0-9_-]{32,128}")


def kiosk_token_tenant(raw: str) -> int | None:
    """The tenant a kiosk token names, or None when it is not shaped like one of ours."""
    match = _KIOSK_TOKEN.fullmatch(raw or "")
    return int(match.group(1)) if match else None
