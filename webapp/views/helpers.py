"""What every view needs: htmx-aware rendering, settings, the current user, form errors."""

from __future__ import annotations

from typing import Any

from flask import current_app, make_response, redirect, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.config import Settings
from webapp.db import mark_for_rollback
from webapp.errors import UserError
from webapp.models import User
from webapp.services import tags


def settings() -> Settings:
    s: Settings = current_app.config["ECOUTE"]
    return s


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render(template: str, *, partial: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the full page, or only ``partial`` for an htmx request (one URL, two renderings)."""
    chosen = partial if partial is not None and is_htmx() else template
    resp = make_response(render_template(chosen, **context), status)
    resp.vary.add("HX-Request")
    return resp


def form_error(template: str, err: UserError, *, partial: str | None = None, **context: Any) -> Response:
    """Re-render a form with the error and what was typed; status 422; nothing is saved."""
    mark_for_rollback()
    return render(template, partial=partial, status=err.status, error=str(err.message), form=request.form, **context)


def me() -> User:
    """The logged-in person, loaded through the request's tenant-bound Session (writable)."""
    user = tenancy.request_session().get(User, current_user.id)
    if user is None:  # deleted between the loader and now
        raise UserError("gone")
    return user


def actor() -> User:
    """The logged-in person as loaded at the start of the request (read-only)."""
    user: User = current_user._get_current_object()
    return user


def client_ip() -> str:
    return request.remote_addr or "unknown"


MiB = 1024 * 1024


def upload_limit(s: Settings) -> int:
    """The largest recording plus room for the form's other fields."""
    return (s.max_upload_mb + 1) * MiB


def correct_tags(session: Any, target: Any, *, tag_url: str, page_url: str) -> Response:
    """Apply the tag correction the form posted (``sentiment=...``, or ``kind``, ``key``, ``present``),
    then answer with the tags (htmx) or back to the page (a plain form)."""
    form = request.form
    if "sentiment" in form:
        tags.set_sentiment(session, actor(), target, form.get("sentiment", ""))
    else:
        tags.set_label(session, actor(), target, form.get("kind", ""), form.get("key", ""),
                       form.get("present", "1") == "1")
    if is_htmx():
        return render("partials/tags/_tags.html", tags=tags.tags_of(session, target), tag_url=tag_url,
                      written=target.complaint_id is not None)
    return redirect(page_url, code=303)
