"""What each view lets in, declared once per view and kept in one registry keyed by endpoint.

A view declares its access with :func:`webapp.auth.access` (which also authenticates the
request); the declaration is recorded here. After the blueprints are registered,
:func:`install` turns the declarations into the app's table, ``endpoint -> Access``. That one
table is read by the request class (the body limit, before the body is parsed), by
:mod:`webapp.db` (whether a read-only request's transactions may write), by
:mod:`webapp.auth` (an endpoint with no entry is refused: it fails closed) and by the role-policy
tests. This module sits below the models: roles and scopes are held as their string values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_request_context, request

from webapp.config import Settings
from webapp.context import PrincipalKind


@dataclass(frozen=True)
class Access:
    """Who may reach a view and what the request may carry."""

    #: The kind of caller the view serves; ANONYMOUS views need no credentials (a person may be logged in).
    kind: PrincipalKind
    #: PERSON: the roles let in (``webapp.models.Role`` values); empty for other kinds.
    roles: frozenset[str] = frozenset()
    #: API_TOKEN: the token scopes let in (``webapp.models.TokenScope`` values).
    scopes: tuple[str, ...] = ()
    #: The largest body the view accepts, from the settings (uploads); None: the app's form limit.
    max_body: Callable[[Settings], int] | None = None
    #: A GET of this view may write (an API token's ``last_used_at``): on SQLite its transactions
    #: take the write lock up front (webapp.db).
    writes_on_read: bool = False


#: Declarations by view function (the function Flask registers): endpoints are known only once
#: blueprints are registered, so :func:`install` maps them per app.
_DECLARED: dict[Callable[..., Any], Access] = {}
_KEY = "ecoute.access"


def declare(view: Callable[..., Any], access: Access) -> None:
    """Record ``view``'s access (once: a second declaration is a mistake)."""
    if view in _DECLARED:
        raise RuntimeError(f"{view.__qualname__} declares its access twice")
    _DECLARED[view] = access


def install(app: Flask, **extra: Access) -> None:
    """Build ``app``'s table from its registered views' declarations (``extra``: endpoints Flask adds itself)."""
    table = {endpoint: _DECLARED[view] for endpoint, view in app.view_functions.items() if view in _DECLARED}
    table.update(extra)
    app.extensions[_KEY] = table


def table(app: Flask) -> Mapping[str, Access]:
    """Every endpoint of ``app`` that declared its access, with its declaration."""
    declared: Mapping[str, Access] = app.extensions.get(_KEY, {})
    return declared


def of_endpoint(endpoint: str | None) -> Access | None:
    """The declared access of ``endpoint`` in the current app (None: no such endpoint, or undeclared)."""
    return table(current_app).get(endpoint) if endpoint is not None else None


def of_request() -> Access | None:
    """The declared access of the current request's endpoint (None outside a request, unrouted or undeclared)."""
    if not has_request_context() or request.url_rule is None:
        return None
    return of_endpoint(request.url_rule.endpoint)
