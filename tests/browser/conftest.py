"""Browser fixtures: a live server on 127.0.0.1, Debian's Chromium, and pages that fail the
test on any console error, page error or Content-Security-Policy violation.

No browser is downloaded: Playwright drives ``/usr/bin/chromium`` (``bin/setup`` installs it).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import BaseWSGIServer, make_server

from webapp.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    # Pages may call play() without a click (a person's page drives <audio> from a test; the kiosk).
    "--autoplay-policy=no-user-gesture-required",
]
#: Playwright's auto-waiting gives up after this long (ms); the live server answers in far less.
TIMEOUT_MS = 5_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


# --- the live server -------------------------------------------------------------------


@pytest.fixture
def live_socket() -> Iterator[socket.socket]:
    """A listening socket on a free port of 127.0.0.1, handed to the server (no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    with sock:
        yield sock


@pytest.fixture
def settings(settings: Settings, live_socket: socket.socket) -> Settings:
    """The suite's settings, with links in mails pointing at the live server."""
    port = live_socket.getsockname()[1]
    return settings.with_overrides({"base_url": f"http://127.0.0.1:{port}"})


@dataclass(frozen=True)
class LiveServer:
    url: str  #: e.g. ``http://127.0.0.1:41234``, no trailing slash


@pytest.fixture
def live_server(app: Flask, settings: Settings, live_socket: socket.socket) -> Iterator[LiveServer]:
    """Serve ``app`` from a daemon thread; stopped (and its socket closed) after the test."""
    host, port = live_socket.getsockname()
    server: BaseWSGIServer = make_server(host, port, app, threaded=True, fd=live_socket.fileno())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    assert url == settings.base_url
    try:
        yield LiveServer(url)
    finally:
        server.shutdown()  # returns once serve_forever has left its loop (which closes the socket)
        thread.join(timeout=5)
        server.server_close()


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class ConsoleWatch:
    """What the pages of one test reported: console errors, uncaught exceptions, CSP violations."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Accept console errors matching ``pattern`` (a regex), e.g. the log line of an expected 422."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


OpenPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer, console: ConsoleWatch,
             tmp_path: Path) -> Iterator[OpenPage]:
    """``new_page()`` opens a page in a fresh context (its own cookies: one person per context),
    French locale, relative URLs resolved against the live server. Keyword arguments go to
    ``browser.new_context``, e.g. ``new_page(java_script_enabled=False)``.

    At teardown every context is closed, then the test fails if any page logged a console
    error (CSP violations are logged that way by Chromium) or threw an uncaught exception.
    """
    contexts: list[BrowserContext] = []

    def _open(**context_options: Any) -> Page:
        options: dict[str, Any] = {"locale": "fr-FR", "base_url": live_server.url,
                                   "viewport": {"width": 1280, "height": 900}}
        context = browser.new_context(**{**options, **context_options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        label = f"page {len(contexts)}"

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                source = msg.location.get("url") or page.url
                console.problems.append(f"{label} console error at {page.url} (from {source}): {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: console.problems.append(f"{label} uncaught error at {page.url}: {exc}"))
        return page

    yield _open
    try:
        for n, context in enumerate(contexts, start=1):
            for page in context.pages:
                # What each page showed last, kept in the test's tmp_path; a debugging aid only.
                with contextlib.suppress(PlaywrightError):
                    page.screenshot(path=tmp_path / f"last-page-{n}.png")
    finally:
        for context in contexts:
            context.close()
    problems = console.unexpected()
    if problems:
        pytest.fail("the browser reported problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page: OpenPage) -> Page:
    """One page in a fresh French context (see ``new_page``)."""
    return new_page()
