"""The kiosk's side of the customer room: its page and files, pairing, manifest, audio, heartbeat.

A paired kiosk proves itself with its device token, kept in an HttpOnly cookie scoped to
``/kiosk`` (``Authorization: Bearer`` works too, for scripts). A login cookie opens nothing
here, and the device token opens nothing outside (principals.authenticate_kiosk binds the request;
services/kiosks.py narrows it to the kiosk's own playlist).
"""

from __future__ import annotations

import functools
import hashlib
import io
from datetime import timedelta

import segno
from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from kiosk import FILES
from webapp import storage, tenancy
from webapp.auth import ANONYMOUS, KIOSK, KIOSK_COOKIE, access
from webapp.context import current_context
from webapp.errors import ApiError
from webapp.i18n import _
from webapp.principals import current_kiosk
from webapp.services import kiosks, look, throttle
from webapp.views.helpers import client_ip, settings
from webapp.views.media import audio_response

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder=str(FILES))

COOKIE = KIOSK_COOKIE
COOKIE_PATH = "/kiosk"
COOKIE_MAX_AGE = 10 * 365 * 24 * 3600  # a screen on a wall stays paired until revoked
ASSETS = {"player.js": "text/javascript", "kiosk.css": "text/css", "sw.js": "text/javascript"}


@functools.cache
def _asset(name: str) -> tuple[bytes, str]:
    """A front-end file and its version (read once per process: they change only with a deploy)."""
    data = (FILES / name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def _asset_version(name: str) -> str:
    return _asset(name)[1]


def _static(name: str) -> str:
    return url_for("kiosk.kiosk_asset", name=name, v=_asset_version(name))


@bp.get("")
@access(ANONYMOUS)
def kiosk_root() -> BaseResponse:
    return redirect(url_for("kiosk.kiosk_page"), code=308)  # the service worker's scope is /kiosk/


@bp.get("/")
@access(ANONYMOUS)
def kiosk_page() -> Response:
    lang = request.accept_languages.best_match(["fr", "en"]) or settings().default_locale
    resp = Response(render_template("index.html", lang=lang, static=_static))
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/<any(\"player.js\", \"kiosk.css\", \"sw.js\"):name>")
@access(ANONYMOUS)
def kiosk_asset(name: str) -> BaseResponse:
    data, version = _asset(name)
    resp = Response(data, mimetype=ASSETS[name])
    resp.set_etag(version)
    resp.headers["Cache-Control"] = "no-cache"  # revalidated by ETag; the service worker keeps a copy
    return resp.make_conditional(request)


# --- pairing ------------------------------------------------------------------------------


@bp.post("/pairings")
@access(ANONYMOUS)
def kiosk_pairing_start() -> tuple[Response, int]:
    new = kiosks.start_pairing(tenancy.request_session(), throttle.key("ip", client_ip()))
    return jsonify({"code": kiosks.show_code(new.code), "secret": new.secret, "expires_in": new.expires_in,
                    "qr": url_for("kiosk.kiosk_pairing_qr", code=new.code)}), 201


@bp.get("/pairings/<code>/qr.svg")
@access(ANONYMOUS)
def kiosk_pairing_qr(code: str) -> Response:
    """A QR code of the admin's pairing page with the code filled in, for a phone to scan."""
    code = kiosks.normalise_code(code)[: kiosks.CODE_LENGTH]
    base = settings().base_url or request.host_url.rstrip("/")
    target = f"{base}{url_for('kiosks.kiosk_list')}?code={code}"
    svg = io.BytesIO()  # a whole SVG document (XML declaration, namespace): it is loaded as an image
    segno.make(target, error="m").save(svg, kind="svg", scale=8, border=2, dark="#000", light="#fff")
    return Response(svg.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=600"})


@bp.post("/pairings/claim")
@access(ANONYMOUS)
def kiosk_pairing_claim() -> BaseResponse:
    """The screen asks with its secret whether an admin typed its code; once one has, it gets its token."""
    body = request.get_json(silent=True) or {}
    state = kiosks.pairing_state(str(body.get("secret", "")))
    if state.status == "expired":
        raise ApiError(410, "pairing_expired", _("This code has expired. The screen shows a new one."))
    if state.status == "pending":
        return jsonify({"status": "pending"}), 202  # type: ignore[return-value]
    tenancy.bind_request(state.tenant_id or 0)
    kiosk, token = kiosks.collect(tenancy.request_session(), state)
    resp = jsonify({"status": "paired", "kiosk": {"id": kiosk.id, "name": kiosk.name}})
    resp.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE, path=COOKIE_PATH, httponly=True, samesite="Strict",
                    secure=settings().secure_cookies)
    return resp


# --- a paired kiosk -----------------------------------------------------------------------


@bp.get("/manifest.json")
@access(KIOSK)
def kiosk_manifest() -> BaseResponse:
    kiosk = current_kiosk()
    body, version = kiosks.cached_manifest(tenancy.request_session(), kiosk)
    if kiosk.served_version != version:
        # What this screen may report plays of (issue #13, item 6). Its own short transaction: a
        # poll otherwise only reads, and most polls find the version already noted.
        current_context().writes = True  # on SQLite, that transaction takes the write lock up front (webapp/db.py)
        with tenancy.tenant_session(kiosk.tenant_id) as session:
            kiosks.record_served(session, kiosk.id, version, [clip["id"] for clip in body["clips"]],
                                 offline_window=timedelta(hours=settings().kiosk_offline_hours))
    # Most polls find nothing new: answer those without serialising the manifest.
    resp = Response(status=304) if request.if_none_match.contains(version) else jsonify(body)
    resp.set_etag(version)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/media/<int:clip_id>-<sha256>.webm")
@access(KIOSK)
def kiosk_media(clip_id: int, sha256: str) -> Response:
    clip = kiosks.media(tenancy.request_session(), current_kiosk(), clip_id, sha256)
    resp = audio_response(settings(), clip.audio_key, "audio/webm", clip.audio_size)
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"  # the name holds the content hash
    return resp


def _qr(target: str) -> Response:
    # Kept by the screen for offline use (sw.js); the address it encodes never changes for a screen.
    return Response(kiosks.qr_svg(target), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


def _base() -> str:
    return settings().base_url or request.host_url.rstrip("/")


@bp.get("/qr/react-<int:clip_id>.svg")
@access(KIOSK)
def kiosk_react_qr(clip_id: int) -> Response:
    """The QR code beside a clip: a phone opens the reaction page for it, beside this screen (issue #16)."""
    kiosk = current_kiosk()
    clip = kiosks.playable_clip(tenancy.request_session(), kiosk, clip_id)
    return _qr(kiosks.react_target(_base(), clip.id, kiosk.id))


@bp.get("/qr/check-in.svg")
@access(KIOSK)
def kiosk_check_in_qr() -> Response:
    """The room's check-in QR code: a phone checks its owner in beside this screen."""
    return _qr(kiosks.check_in_target(_base(), current_kiosk().id))


@bp.get("/look/<name>")
@access(KIOSK)
def kiosk_logo(name: str) -> Response:
    """The company's logo (issue #16, item 8): its name holds its SHA-256, so it never changes."""
    session = tenancy.request_session()
    key, content_type = look.logo_object(look.tenant_of_kiosk(session, current_kiosk()), name)
    store = storage.get_storage(settings())
    resp = Response(b"".join(store.read_range(key)), mimetype=content_type)
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return resp


@bp.post("/heartbeat")
@access(KIOSK)
def kiosk_heartbeat() -> Response:
    """The screen is alive; the plays it reports are journalled or dropped, and it is told how many of each."""
    report = request.get_json(silent=True)
    config = settings()
    result = kiosks.heartbeat(tenancy.request_session(), current_kiosk(), report if isinstance(report, dict) else {},
                              offline_window=timedelta(hours=config.kiosk_offline_hours),
                              max_per_minute=config.kiosk_max_plays_per_minute)
    return jsonify({"accepted": result.accepted, "dropped": result.dropped})
