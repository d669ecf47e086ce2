"""Tenant admin: the API tokens the company's systems (telephony, CRM) push calls and complaints with."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Role, TokenScope
from webapp.services import api_tokens
from webapp.views.helpers import actor, form_error, is_htmx, render

bp = Blueprint("tokens", __name__, url_prefix="/settings/api-tokens")


def _list_context() -> dict[str, Any]:
    return {"tokens": api_tokens.list_tokens(tenancy.request_session()), "scopes": list(TokenScope)}


@bp.get("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def token_list() -> Response:
    return render("pages/tokens/list.html", form={}, **_list_context())


@bp.post("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def token_create() -> Response:
    """Create a token and show it, once, in this response.

    No redirect here, unlike other forms: the token must not travel through the session
    cookie or a URL, and it is never stored, so the page that shows it is this answer.
    """
    try:
        new = api_tokens.create_token(tenancy.request_session(), actor(), name=request.form.get("name", ""),
                                      scope=request.form.get("scope", ""))
    except UserError as err:
        return form_error("pages/tokens/list.html", err, **_list_context())
    resp = render("pages/tokens/list.html", form={}, new_token=new.raw, new_token_name=new.token.name,
                  **_list_context())
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/<int:token_id>/revoke")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def token_revoke(token_id: int) -> Response:
    session = tenancy.request_session()
    token = api_tokens.get_token(session, token_id)
    api_tokens.revoke_token(session, actor(), token)
    done = _("Token “%(name)s” revoked: it no longer opens the API.", name=token.name)
    if is_htmx():
        return render("partials/tokens/_row.html", token=token, message=done)
    flash(done, "success")
    return redirect(url_for("tokens.token_list"), code=303)
