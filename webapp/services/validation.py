"""Checks on what people type, each failing with a message in their language."""

from __future__ import annotations

import re

from webapp.errors import MAX_ID, UserError
from webapp.i18n import _
from webapp.passwords import MAX_LENGTH, MIN_LENGTH

_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_SLUGS = {"platform", "admin", "api", "www", "kiosk", "static", "login"}


def clean_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not email:
        raise UserError(_("Enter an e-mail address."), "email_missing")
    if len(email) > 254 or not _EMAIL.match(email):
        raise UserError(_("This e-mail address does not look right. Check it and try again."), "email_invalid")
    return email


def clean_name(raw: str, *, required: bool, max_length: int = 120) -> str:
    name = " ".join((raw or "").split())
    if required and not name:
        raise UserError(_("Enter a name."), "name_missing")
    if len(name) > max_length:
        raise UserError(
            _("This name is too long: %(max)d characters at most.", max=max_length), "name_too_long"
        )
    return name


def clean_slug(raw: str) -> str:
    slug = (raw or "").strip().lower()
    if not _SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise UserError(
            _("The short name may use lower-case letters, digits and dashes (2 to 63), "
              "and cannot be a reserved word."),
            "slug_invalid",
        )
    return slug


def clean_password(password: str, email: str) -> str:
    if len(password) < MIN_LENGTH:
        raise UserError(
            _("Choose a password of at least %(min)d characters.", min=MIN_LENGTH), "password_short"
        )
    if len(password) > MAX_LENGTH:
        raise UserError(_("This password is too long: %(max)d characters at most.", max=MAX_LENGTH),
                        "password_long")
    if password.strip().lower() == email.lower():
        raise UserError(_("Your password cannot be your e-mail address."), "password_is_email")
    return password


def clean_int(raw: str, *, minimum: int, maximum: int, message: str) -> int:
    try:
        value = int((raw or "").strip())
    except ValueError:
        raise UserError(message, "number_invalid") from None
    if not minimum <= value <= maximum:
        raise UserError(message, "number_invalid")
    return value


def parse_id(raw: str | None) -> int:
    """The id of a row, chosen in a form: ValueError unless it is a whole number from 1 to :data:`MAX_ID` (a larger
    one names no row, and the databases refuse to even compare it)."""
    value = (raw or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10 or not 1 <= int(value) <= MAX_ID:
        raise ValueError(f"not an id: {value[:30]!r}")
    return int(value)
