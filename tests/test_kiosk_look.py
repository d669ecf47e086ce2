"""The company's look on the room's screens (issue #16, item 8): a logo (PNG or JPEG, size-limited, checked
by its bytes) and an accent colour with a text colour that passes WCAG AA, set on the company settings
page, carried by the manifest and served to the company's own screens only."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import tenancy
from webapp.errors import UserError
from webapp.i18n import force_locale
from webapp.models import AuditEvent, Role, Tenant
from webapp.services import look


def png(width: int = 2, height: int = 1) -> bytes:
    """A real, tiny PNG (white pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("accent", ["#000000", "#ffffff", "#777777", "#1d4ed8", "#ffd54f", "#c62828", "#7f7f7f"])
def test_the_text_on_the_accent_passes_wcag_aa(accent: str) -> None:
    assert look.contrast(accent, look.text_on(accent)) >= 4.5


def test_accent_colours_are_checked(app: Flask) -> None:
    assert look.clean_accent(" #1D4ED8 ") == "#1d4ed8" and look.clean_accent("1d4ed8") == "#1d4ed8"
    assert look.clean_accent("") == ""
    with app.test_request_context(), force_locale("en"):
        for wrong in ("#12345", "blue", "#12345g", "#1234567"):
            with pytest.raises(UserError, match="six hexadecimal digits"):
                look.clean_accent(wrong)


def _kiosk_client(app: Flask, tenant_id: int) -> Client:
    with app.app_context():
        ref = factories.make_kiosk(tenant_id)
    client = Client(app.test_client())
    client.raw.set_cookie("ecoute_kiosk", ref.token, path="/kiosk")
    return client


def test_the_admin_sets_the_look_and_only_the_companys_screens_get_it(
        app: Flask, tenants: dict[str, TenantSet], login_as: object) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")  # type: ignore[operator]
    screen, theirs = _kiosk_client(app, tenants["a"].id), _kiosk_client(app, tenants["b"].id)
    assert 'id="look-form"' in admin.get("/settings/company").text

    # A file that is not an image, or too heavy, is refused and nothing changes.
    token = admin.csrf_token()
    refused = admin.post_multipart("/settings/kiosks/look", {"csrf_token": token, "accent_color": "#1d4ed8",
                                                             "logo": (io.BytesIO(b"<svg onload=1>"), "logo.png")})
    assert refused.status_code == 303
    assert "must be a PNG or JPEG image" in admin.get("/settings/company").text
    heavy = admin.post_multipart("/settings/kiosks/look", {"csrf_token": token, "logo": (
        io.BytesIO(png() + b"\0" * 600_000), "l.png")})
    assert heavy.status_code == 303 and "too heavy" in admin.get("/settings/company").text
    with app.app_context(), tenancy.all_tenants_session() as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None and (tenant.accent_color, tenant.logo_key) == ("", "")

    saved = admin.post_multipart("/settings/kiosks/look", {"csrf_token": token, "accent_color": "#FFD54F",
                                                           "logo": (io.BytesIO(png()), "logo.png")})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/settings/company#look-settings")
    manifest = screen.get("/kiosk/manifest.json").json
    assert manifest is not None
    found = manifest["look"]
    assert found["accent"] == "#ffd54f" and found["accent_text"] == "#000000"
    assert found["logo"].startswith("/kiosk/look/logo-") and found["logo"].endswith(".png")
    logo = screen.get(found["logo"])
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == png()
    assert theirs.get(found["logo"]).status_code == 404  # another company's screen
    assert (theirs.get("/kiosk/manifest.json").json or {})["look"] == {"accent": "", "accent_text": "", "logo": ""}
    assert Client(app.test_client()).get(found["logo"]).status_code == 401  # no screen at all
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.look_changed")).all()
        assert len(events) == 1 and events[0].details["accent_color"] == "#ffd54f"

    # Removed: the manifest says so and the old address answers 404.
    admin.post_multipart("/settings/kiosks/look", {"csrf_token": token, "accent_color": "#ffd54f", "remove_logo": "1"})
    assert (screen.get("/kiosk/manifest.json").json or {})["look"]["logo"] in ("", found["logo"])  # cached 10 s
    with app.app_context(), tenancy.all_tenants_session() as session:
        tenant = session.get(Tenant, tenants["a"].id)
        assert tenant is not None and tenant.logo_key == ""
    assert screen.get(found["logo"]).status_code == 404
