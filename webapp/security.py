"""Security headers, cookie settings, and the request class that applies each view's body limit."""

from __future__ import annotations

import secrets
from typing import IO

from flask import Flask, Request, Response, current_app, request
from flask_login import current_user

from webapp import access
from webapp.context import current_context, peek_context

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class EcouteRequest(Request):
    """The request class: per-route body limits, and upload spool files closed reliably."""

    @property
    def max_content_length(self) -> int | None:
        """The ``max_body`` the view declared (:func:`webapp.auth.access`), else the app's.

        Decided from the URL rule, before anything reads the body: the CSRF check reads the form
        before the view runs, so a limit set inside the view would come too late.
        """
        if self._max_content_length is not None:
            return self._max_content_length
        declared = access.of_endpoint(self.url_rule.endpoint) if self.url_rule else None
        if declared is not None and declared.max_body is not None:
            return declared.max_body(current_app.config["ECOUTE"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    # Werkzeug drops the spool files of a body cut off by a 413 without closing them.

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        stream = super()._get_file_stream(total_content_length, content_type, filename, content_length)
        self.__dict__.setdefault("_ecoute_spools", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.pop("_ecoute_spools", []):
            stream.close()


def style_nonce() -> str:
    """A nonce this response's CSP accepts on ``<style>`` elements (not on style attributes), made on first use.

    For a library that styles its own shadow DOM with a ``<style>`` element (wavesurfer.js on the
    call page, given the nonce as its ``cspNonce`` option); pages that never ask keep the plain CSP.
    """
    context = current_context()
    if context.style_nonce is None:
        context.style_nonce = secrets.token_urlsafe(18)
    return context.style_nonce


def _policy() -> str:
    context = peek_context()
    nonce = context.style_nonce if context is not None else None
    return CSP if nonce is None else CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["style_nonce"] = style_nonce
    secure = app.config["ECOUTE"].secure_cookies
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="ecoute_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
    )

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", _policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if "Cache-Control" not in response.headers and _is_signed_in_page():
            # What a signed-in person sees (customers' words, names) stays out of the browser's disk cache
            # and its back button after logout. Responses that chose their own caching keep it: static
            # files, the kiosk's media at content-hashed addresses, a call's waveform peaks.
            response.headers["Cache-Control"] = "no-store"
        return response


def _is_signed_in_page() -> bool:
    if request.path.startswith(("/static/", "/kiosk")):
        return False
    return bool(current_user.is_authenticated)
