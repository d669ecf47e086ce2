"""The request context: who is asking, in which tenant, with which Session, in which language, under which id.

One typed object per request (:func:`current_context`), kept under a single key of ``flask.g``:
nothing else in the app keeps request state on ``g``. :mod:`webapp.tenancy` fills it — the
principal once, when it is known, and the Session when it is first used — and :mod:`webapp.db`
commits that Session after the view. This module sits below both, and below the models: it
imports no part of the app.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass, field

from flask import g, has_request_context, request
from flask_babel import get_locale
from sqlalchemy.orm import Session


class PrincipalKind(enum.StrEnum):
    """What kind of caller a view serves (webapp.access) and what kind is asking (:class:`Principal`)."""

    ANONYMOUS = "anonymous"  #: no credentials needed (a view), or none given (a caller)
    PERSON = "person"  #: a person logged in with the session cookie
    #: an integrator's system, with ``Authorization: Bearer ect_...``
    API_TOKEN = "api_token"  # noqa: S105 - a kind of caller, not a secret
    KIOSK = "kiosk"  #: a paired screen, with its device token


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person, an API token or a kiosk (by id), and the tenant they belong to."""

    kind: PrincipalKind
    #: The tenant the principal belongs to (None when anonymous, unless a signed link named one).
    tenant_id: int | None = None
    #: The user's, the token's or the kiosk's id.
    id: int | None = None
    #: Shown on the log lines (``tenant=<slug>``).
    tenant_slug: str | None = None
    is_platform_admin: bool = False


ANONYMOUS = Principal(PrincipalKind.ANONYMOUS)

#: What a proxy's ``X-Request-Id`` may be to be logged as sent: anything else could forge or split log lines.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(incoming: str) -> str:
    """The id a request is logged under: the proxy's ``X-Request-Id`` if it is a plain token, else a new one.

    A header is logged as sent: a value with spaces, quotes or control characters could forge
    or split log lines, so only ``[A-Za-z0-9._-]{1,64}`` is kept.
    """
    return incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)


@dataclass(eq=False)
class RequestContext:
    """The state of one request. The principal is set once (:meth:`set_principal`); the rest is read by all."""

    #: The id of this request's log lines, echoed as ``X-Request-Id``.
    request_id: str
    #: Who is asking; None until resolved (see :func:`webapp.tenancy.principal`).
    principal: Principal | None = None
    #: The request's Session, opened by :func:`webapp.tenancy.request_session` on first use.
    session: Session | None = None
    #: What authenticated the request beyond its ids: the detached ApiToken, or the Kiosk attached to
    #: :attr:`session` (typed by :mod:`webapp.principals`, which alone reads it).
    subject: object | None = None
    #: Roll back instead of committing (an error handler or a form error said so).
    rollback: bool = False
    #: A transaction of this request may write: on SQLite it takes the write lock up front (webapp.db).
    writes: bool = False
    #: Why a person's session ended, told on the login page (``"tenant_suspended"``).
    logout_reason: str | None = None
    #: The ``WWW-Authenticate`` challenge of an API refusal.
    challenge: str | None = None
    #: The nonce this response's CSP accepts on ``<style>`` elements (webapp.security), made on first use.
    style_nonce: str | None = field(default=None, repr=False)

    def set_principal(self, principal: Principal) -> None:
        """Say who is asking, once: before the Session is opened, and never twice."""
        if self.principal is not None or self.session is not None:
            raise RuntimeError("the request's principal is already set; authenticate before first use")
        self.principal = principal

    @property
    def tenant_id(self) -> int | None:
        """The tenant the request's Session is confined to (None: not opened, anonymous or all-tenants)."""
        if self.session is None:
            return None
        tenant_id: int | None = self.session.info.get("tenant_id")
        return tenant_id

    @property
    def locale(self) -> str:
        """The request's language, as webapp.i18n chose it (Babel decides once per request)."""
        return str(get_locale() or "")


_KEY = "ecoute_context"


def current_context() -> RequestContext:
    """The context of the current request, made on first use (RuntimeError outside a request)."""
    if not has_request_context():
        raise RuntimeError("no request: the request context exists only while a request is handled")
    context: RequestContext | None = g.get(_KEY)
    if context is None:
        context = RequestContext(request_id=request_id(request.headers.get("X-Request-Id", "")))
        setattr(g, _KEY, context)
    return context


def peek_context() -> RequestContext | None:
    """The current request's context if one was made (None outside a request, or before first use)."""
    if not has_request_context():
        return None
    context: RequestContext | None = g.get(_KEY)
    return context


def end_context() -> RequestContext | None:
    """Take the context off the request (after the response: webapp.db closes its Session)."""
    if not has_request_context():
        return None
    context: RequestContext | None = g.pop(_KEY, None)
    return context
