"""The one module that runs WeasyPrint: HTML we rendered ourselves in, a PDF out (review packs, issue #15).

WeasyPrint fetches whatever a page names (stylesheets, images, fonts) through its URL fetcher,
by default over HTTP and from any file. A pack holds customers' words: a fetch of an address they
wrote, or of a file on the server, must never happen. :class:`StaticOnly` answers our own static
files (``webapp/static``) and refuses everything else, ``http``, ``data`` and other files included;
QR codes are inline SVG, so nothing else is needed. Called by the worker only, never in a request
(STYLE §11): a PDF takes a second or more to lay out.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

#: What the PDF's HTML may name: our static files, relative to this folder.
STATIC_DIR = Path(__file__).resolve().parent / "static"


class Refused(ValueError):
    """WeasyPrint asked for something that is not one of our static files (it draws without it)."""


class StaticOnly(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
    """A URL fetcher that serves files under ``root`` and refuses every other address."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:  # Any: WeasyPrint's headers
        parts = urlsplit(url)
        path = Path(unquote(parts.path)).resolve() if parts.scheme == "file" and not parts.netloc else None
        if path is None or not path.is_relative_to(self.root) or not path.is_file():
            log.warning("the PDF asked for an address outside our static files; refused")
            raise Refused(f"refused: {parts.scheme or 'relative'} address")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), headers={"Content-Type": kind}, status=200)


def render(html: str) -> bytes:
    """The PDF of ``html`` (a whole document), relative addresses resolved against our static folder."""
    return bytes(HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=StaticOnly()).write_pdf())
