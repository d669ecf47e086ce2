"""Tenant admin: the customer room's screens — pair one by its code, give it a playlist, watch it, revoke it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from webapp import exports, storage, tenancy
from webapp.auth import PERSON, access
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Role
from webapp.services import kiosks, look, playlists, proof_of_play
from webapp.views.helpers import actor, form_error, is_htmx, render, settings

bp = Blueprint("kiosks", __name__, url_prefix="/settings/kiosks")


def _context() -> dict[str, Any]:
    session = tenancy.request_session()
    return {"kiosks": kiosks.list_kiosks(session), "playlists": [p for p, _n in playlists.list_playlists(session)],
            "days": [(day, kiosks.DAY_NAMES[day]) for day in kiosks.DAYS], "schedule_text": kiosks.schedule_text,
            "timezone": actor().tenant.timezone}


@bp.get("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_list() -> Response:
    """The kiosks and the pairing form (``?code=`` fills it in: the screen's QR code points here)."""
    if is_htmx() and request.headers.get("HX-Target") == "kiosk-rows":
        return render("partials/kiosks/_rows.html", **_context())
    form = {"code": kiosks.show_code(kiosks.normalise_code(request.args.get("code", ""))[:8])
            if request.args.get("code") else ""}
    return render("pages/kiosks/list.html", form=form, **_context())


@bp.post("")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_pair() -> Response:
    try:
        kiosk = kiosks.pair(tenancy.request_session(), actor(), code=request.form.get("code", ""),
                            name=request.form.get("name", ""), playlist_id=request.form.get("playlist_id"))
    except UserError as err:
        return form_error("pages/kiosks/list.html", err, **_context())
    if kiosk.playlist_id is None:
        flash(_("The screen “%(name)s” is paired, without a playlist: it plays nothing until you choose a playlist "
                "for it below.", name=kiosk.name), "info")
    else:
        flash(_("The screen “%(name)s” is paired: it starts playing within a few seconds.", name=kiosk.name),
              "success")
    return redirect(url_for("kiosks.kiosk_list"), code=303)


@bp.post("/<int:kiosk_id>")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_update(kiosk_id: int) -> Response:
    session = tenancy.request_session()
    kiosk = kiosks.get_kiosk(session, kiosk_id)
    try:
        kiosks.update_kiosk(session, actor(), kiosk, name=request.form.get("name", ""),
                            playlist_id=request.form.get("playlist_id"))
    except UserError as err:
        return form_error("pages/kiosks/list.html", err, **_context())
    flash(_("Saved. The screen picks the change up within a minute."), "success")
    return redirect(url_for("kiosks.kiosk_list"), code=303)


@bp.post("/<int:kiosk_id>/schedule")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_schedule(kiosk_id: int) -> Response:
    """The screen's weekly opening hours, one field per day (company time zone)."""
    session = tenancy.request_session()
    kiosk = kiosks.get_kiosk(session, kiosk_id)
    try:
        kiosks.set_schedule(session, actor(), kiosk, {day: request.form.get(day, "") for day in kiosks.DAYS})
    except UserError as err:
        return form_error("pages/kiosks/list.html", err, **_context())
    flash(_("Opening hours of “%(name)s” saved. The screen applies them within a minute, offline too.",
            name=kiosk.name), "success")
    return redirect(url_for("kiosks.kiosk_list", _anchor=f"schedule-{kiosk.id}"), code=303)


@bp.post("/<int:kiosk_id>/revoke")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_revoke(kiosk_id: int) -> Response:
    session = tenancy.request_session()
    kiosk = kiosks.get_kiosk(session, kiosk_id)
    kiosks.revoke(session, actor(), kiosk)
    flash(_("The screen “%(name)s” is unpaired: it stops playing and shows a new pairing code.", name=kiosk.name),
          "success")
    return redirect(url_for("kiosks.kiosk_list"), code=303)


# --- proof of play (issue #16, item 8) ----------------------------------------------------------


def _period() -> proof_of_play.DateRange:
    return proof_of_play.date_range(request.args, actor().tenant)


def _download(export: exports.Download) -> Response:
    return Response(export.body, mimetype=export.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


@bp.get("/plays")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_plays() -> Response:
    """Proof of play: plays per clip, per screen and per day over a date range."""
    return render("pages/kiosks/plays.html", report=proof_of_play.report(tenancy.request_session(), _period()))


@bp.get('/plays.<any("csv", "xlsx"):fmt>')
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_plays_export(fmt: str) -> Response:
    return _download(proof_of_play.export(tenancy.request_session(), actor(), _period(), fmt=fmt))


# --- the company's look on the screens (issue #16, item 8; the form is on the company settings page) ---


@bp.post("/look")
@access(PERSON, roles=[Role.TENANT_ADMIN])
def kiosk_look() -> Response:
    """The logo and accent colour the room's screens show; a refusal is told on the settings page."""
    upload = request.files.get("logo")
    data = upload.stream.read(look.MAX_LOGO_BYTES + 1) if upload is not None and upload.filename else None
    session = tenancy.request_session()
    try:
        change = look.update_look(session, storage.get_storage(settings()), look.tenant_of(session, actor()), actor(),
                                  accent=request.form.get("accent_color", ""), logo=data,
                                  remove_logo=request.form.get("remove_logo") == "1")
    except UserError as err:
        flash(str(err.message), "error")
    else:
        flash(_("Saved. The screens show it within a minute.") if change.changed else _("Nothing to change."),
              "success")
    return redirect(url_for("company.company_settings", _anchor="look-settings"), code=303)
