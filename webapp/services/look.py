"""The company's look on the customer room's screens (issue #16, item 8): its logo and accent colour.

Set by the company admin on the company settings page. The logo is a PNG or JPEG of at most
:data:`MAX_LOGO_BYTES`, checked by Pillow when it is installed, else by its first bytes; it is stored
through webapp/storage.py under a name holding its SHA-256, so a kiosk can keep it for offline use
under an address that never changes. The accent colour is ``#rrggbb``; the text put on it is black
or white, whichever contrasts more, which always passes WCAG AA (4.5:1) for normal text.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from webapp import storage
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Kiosk, Tenant, User
from webapp.services import audit

MAX_LOGO_BYTES = 512 * 1024
#: Width or height beyond which a logo is refused (pixels; only checked when Pillow is installed).
MAX_LOGO_SIDE = 4000
_ACCENT = re.compile(r"^#[0-9a-f]{6}$")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg"}
_LOGO_NAME = re.compile(r"^logo-[0-9a-f]{64}\.(png|jpg)$")


def clean_accent(typed: str) -> str:
    """The accent colour as stored (``#rrggbb`` in lower case, or "" for the default). UserError otherwise."""
    value = typed.strip().lower()
    if value and not value.startswith("#"):
        value = "#" + value
    if value and not _ACCENT.fullmatch(value):
        raise UserError(_("Write the accent colour as # and six hexadecimal digits, e.g. #1d4ed8."), "accent_color")
    return value


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(accent: str) -> str:
    """Black or white, whichever reads better on ``accent`` (at least 4.5:1 for any colour)."""
    return "#000000" if contrast(accent, "#000000") >= contrast(accent, "#ffffff") else "#ffffff"


def _kind(data: bytes) -> str:
    """"png" or "jpg" for an image the kiosk can show; UserError for anything else."""
    refused = UserError(_("The logo must be a PNG or JPEG image. Export it in one of these formats and send "
                          "it again."), "logo")
    try:
        from PIL import Image  # type: ignore[import-not-found,unused-ignore]  # optional: first bytes otherwise
    except ImportError:
        if data.startswith(_PNG):
            return "png"
        if data.startswith(_JPEG):
            return "jpg"
        raise refused from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind, size = str(image.format), tuple(image.size)
    except Exception:  # noqa: BLE001  # Pillow raises many kinds for a damaged or foreign file
        raise refused from None
    if kind not in ("PNG", "JPEG"):
        raise refused
    if max(size) > MAX_LOGO_SIDE:
        raise UserError(_("The logo is too large: %(max)d pixels a side at most.", max=MAX_LOGO_SIDE), "logo")
    return "png" if kind == "PNG" else "jpg"


@dataclass(frozen=True)
class LookChange:
    accent_changed: bool
    logo_changed: bool

    @property
    def changed(self) -> bool:
        return self.accent_changed or self.logo_changed


def update_look(session: Session, store: storage.Storage, tenant: Tenant, actor: User, *, accent: str,
                logo: bytes | None, remove_logo: bool = False) -> LookChange:
    """Set the accent colour and, when ``logo`` holds an image, the logo (``remove_logo``: none).

    Raises UserError for a colour or an image that cannot be used (nothing is changed then). The
    previous logo's object is deleted once replaced. Journalled as ``tenant.look_changed``.
    """
    colour = clean_accent(accent)
    new_key = None
    if logo:
        if len(logo) > MAX_LOGO_BYTES:
            raise UserError(_("The logo is too heavy: %(max)d KB at most.", max=MAX_LOGO_BYTES // 1024), "logo")
        kind = _kind(logo)
        name = f"logo-{hashlib.sha256(logo).hexdigest()}.{kind}"
        new_key = storage.key_for(tenant.id, "look", name)
        store.write(new_key, io.BytesIO(logo), content_type=CONTENT_TYPES[kind], max_bytes=MAX_LOGO_BYTES)
    elif remove_logo and tenant.logo_key:
        new_key = ""
    old_key = tenant.logo_key
    logo_changed = new_key is not None and new_key != old_key
    accent_changed = colour != tenant.accent_color
    if not (logo_changed or accent_changed):
        return LookChange(False, False)
    tenant.accent_color = colour
    if logo_changed and new_key is not None:
        tenant.logo_key = new_key
        if old_key:
            store.delete(old_key)
    audit.record(session, tenant_id=tenant.id, actor=actor, action="tenant.look_changed", target=f"tenant:{tenant.id}",
                 accent_color=colour, logo=bool(tenant.logo_key))
    return LookChange(accent_changed, logo_changed)


def tenant_of(session: Session, actor: User) -> Tenant:
    """The actor's company, loaded through ``session`` (to be changed)."""
    tenant = session.get(Tenant, actor.tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


def tenant_of_kiosk(session: Session, kiosk: Kiosk) -> Tenant:
    """The kiosk's company."""
    tenant = session.get(Tenant, kiosk.tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


def logo_name(tenant: Tenant) -> str:
    """The logo's file name (``logo-<sha256>.png``), "" when there is none."""
    return tenant.logo_key.rsplit("/", 1)[-1] if tenant.logo_key else ""


def kiosk_look(tenant: Tenant | None) -> dict[str, Any]:
    """What the kiosk's manifest says of the look: accent and its text colour, the logo's address."""
    accent = tenant.accent_color if tenant is not None and _ACCENT.fullmatch(tenant.accent_color or "") else ""
    name = logo_name(tenant) if tenant is not None else ""
    return {"accent": accent, "accent_text": text_on(accent) if accent else "",
            "logo": f"/kiosk/look/{name}" if name else ""}


def logo_object(tenant: Tenant, name: str) -> tuple[str, str]:
    """The storage key and content type of the tenant's current logo named ``name``; NotFound otherwise."""
    if not name or name != logo_name(tenant) or not _LOGO_NAME.fullmatch(name):
        raise NotFound()
    return tenant.logo_key, CONTENT_TYPES[name.rsplit(".", 1)[1]]
