"""Where ``next`` may send a person after logging in or choosing a language: only to this site.

Each payload is checked as the browser will read the ``Location`` header, after Werkzeug has
rewritten it (it drops tabs and newlines, as browsers do), not as it arrived.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask

from tests.conftest import PASSWORD, Client, TenantSet
from webapp.models import Role

#: Values of ``next`` (as decoded from the query string or form) that lead off the site, or to nothing.
OFF_SITE = [
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r\n/evil.example/x",
    "\t//evil.example/x",
    "/\r/evil.example/x",
    "/x\r\nSet-Cookie: stolen=1",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "//evil.example/x",
    "///evil.example/x",
    "////evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "/\\/evil.example/x",
    "\\/evil.example/x",
    "/%2F%2Fevil.example/x",
    "/%2f/evil.example/x",
    "/%5Cevil.example/x",
    "/%5C%5Cevil.example/x",
    "%2F%2Fevil.example/x",
    "/%09/evil.example/x",
    "/%0D%0A/evil.example/x",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "%6A%61vascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://evil.example/x",
    "http:evil.example",
    "https:/evil.example",
    "HTTPS://evil.example",
    " //evil.example/x",
    "evil.example/x",
]

#: Same-site paths that must still work (with a query string, accents, a fragment).
ON_SITE = {
    "/calls": "/calls",
    "/calls?page=2&q=d%C3%A9%C3%A7u": "/calls?page=2&q=d%C3%A9%C3%A7u",
    "/calls?q=déçu": "/calls?q=d%C3%A9%C3%A7u",
    "/room#player": "/room#player",
}


def _off_site(location: str) -> bool:
    """True when a browser would leave this site (or run script) following ``location``."""
    stripped = "".join(ch for ch in location if ch not in "\t\r\n").replace("\\", "/")
    parts = urlsplit(stripped.strip())
    return bool(parts.scheme or parts.netloc) or stripped.lstrip().startswith("//")


@pytest.mark.parametrize("payload", OFF_SITE)
def test_login_never_sends_off_site(app: Flask, tenants: dict[str, TenantSet], payload: str) -> None:
    client = Client(app.test_client())
    response = client.post("/login?" + urlencode({"next": payload}),
                           {"email": tenants["a"].users[Role.STAFF].email, "password": PASSWORD})
    assert response.status_code == 303, response.text
    assert not _off_site(response.headers["Location"])
    assert response.headers["Location"] == "/room"  # the person's home instead
    assert client.get("/room").status_code == 200  # and the login did happen


@pytest.mark.parametrize(("payload", "expected"), list(ON_SITE.items()))
def test_login_returns_to_a_same_site_path(app: Flask, tenants: dict[str, TenantSet], payload: str,
                                           expected: str) -> None:
    client = Client(app.test_client())
    response = client.post("/login?" + urlencode({"next": payload}),
                           {"email": tenants["a"].users[Role.QUALITY_MANAGER].email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == expected


@pytest.mark.parametrize("payload", OFF_SITE)
def test_locale_never_sends_off_site(client: Client, payload: str) -> None:
    response = client.post("/locale", {"locale": "en", "next": payload})
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/"


def test_locale_returns_to_a_same_site_path(login_as) -> None:  # type: ignore[no-untyped-def]
    staff = login_as("a", Role.STAFF)
    for payload, expected in ON_SITE.items():
        response = staff.post("/locale", {"locale": "en", "next": payload})
        assert response.status_code == 303
        assert response.headers["Location"] == expected
