"""The customer room's screen (kiosk/), in Debian's Chromium, against the live server.

A screen opens /kiosk/ and shows a pairing code; the company's admin types it on the screens
page; the screen then plays the playlist by itself, satisfied and unhappy voices in turn, with
captions that follow the voice. It goes on without a network (service worker and Cache API),
also after a reload, and drops a retired clip at its first sync back online. An unpaired screen
goes back to showing a code.

The tests only watch the page (body[data-screen], #player's data attributes, #caption, the
current <audio>, window.ecouteKiosk): they never call play(), so the playing is the page's own.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from tests import factories
from tests.browser.conftest import ConsoleWatch, LiveServer, OpenPage
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.speech import speak
from webapp import tenancy
from webapp.models import Call, Role, Transcript, User
from webapp.services import clips as clip_service
from webapp.services import kiosks as kiosk_service

#: Records, from the page's first script on, every clip and sentiment #player shows and every
#: caption line #caption shows (a MutationObserver: it reads, it never drives the page).
WATCH_SCRIPT = """
window.__seen = {clips: [], captions: []};
document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player"), caption = document.getElementById("caption");
  if (!player || !caption) return;
  new MutationObserver(() => {
    const id = player.dataset.clipId;
    const last = window.__seen.clips[window.__seen.clips.length - 1];
    if (id && (!last || last.id !== id)) window.__seen.clips.push({id: id, sentiment: player.dataset.sentiment});
  }).observe(player, {attributes: true, attributeFilter: ["data-clip-id", "data-sentiment"]});
  new MutationObserver(() => {
    const text = caption.textContent;
    const seen = window.__seen.captions;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }).observe(caption, {childList: true, characterData: true, subtree: true});
});
"""

CURRENT_AUDIO = "document.querySelector('#player audio[data-role=current]')"


# --- a live server that can be stopped and started again on the same port ----------------


@dataclass
class Switchable:
    """The live server, with an off switch: off, its port refuses connections."""

    app: Flask
    host: str
    port: int
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        # make_server duplicates the descriptor; ours is closed at once, so stop() frees the port.
        with sock:
            self._server = make_server(self.host, self.port, self.app, threaded=True, fd=sock.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="live-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server.server_close()
        self._server = self._thread = None


@pytest.fixture
def switchable(app: Flask, live_socket: socket.socket) -> Iterator[Switchable]:
    host, port = live_socket.getsockname()
    live_socket.close()  # the port is ours again: Switchable listens on it itself
    server = Switchable(app, host, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server(switchable: Switchable) -> LiveServer:
    """The conftest's live server, replaced in this module by one that can be switched off."""
    return LiveServer(switchable.url)


# --- the room's clips --------------------------------------------------------------------


@dataclass
class Room:
    tenant_id: int
    playlist_id: int
    playlist_name: str
    clips: dict[int, str] = field(default_factory=dict)  #: clip id -> sentiment, in playlist order


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest says: poll and beat every 2 s (not 30), so that changes reach the screen quickly."""
    monkeypatch.setattr(kiosk_service, "POLL_SECONDS", 2)
    monkeypatch.setattr(kiosk_service, "HEARTBEAT_SECONDS", 2)


#: Two customers, one call each (neural French speech, transcribed by the real Whisper): each call
#: gives two clips of two sentences, so each clip has at least two caption lines.
SAID = {
    "satisfied": "Bonjour, je voulais vous remercier. Le colis est arrivé ce matin. "
                 "Le livreur était très aimable. Tout fonctionne parfaitement.",
    "unhappy": "Bonjour, ma commande n'est toujours pas arrivée. J'ai déjà appelé trois fois. "
               "Personne ne me rappelle. C'est vraiment inadmissible.",
}


def second_sentence_end(tenant_id: int, call_id: int) -> tuple[float, float]:
    """Where the call's second sentence ends (half-way to the next word), and the call's length."""
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        transcript = session.scalars(select(Transcript).where(Transcript.call_id == call_id)).one()
        assert call is not None
        words = [w for segment in transcript.segments for w in segment["words"]]
        ends = [i for i, w in enumerate(words[:-1]) if re.search(r"[.!?]$", w["word"].strip())]
        assert len(ends) >= 2, [w["word"] for w in words]
        k = ends[1]
        return (words[k]["end"] + words[k + 1]["start"]) / 2, call.duration_seconds


@pytest.fixture
def room(app: Flask, tenants: dict[str, TenantSet], tmp_path: Path) -> Room:
    """Four rendered, approved clips (satisfied, satisfied, unhappy, unhappy: the playlist's order)
    in an alternating playlist, cut from two calls of real speech at their middle."""
    tenant_id = tenants["a"].id
    made: dict[int, str] = {}
    with app.app_context():
        for sentiment, text in SAID.items():
            call_id = factories.make_processed_call(tenant_id, speak(tmp_path / f"{sentiment}.wav", text, "fr"),
                                                    product="Box Fibre", language="fr")
            split, duration = second_sentence_end(tenant_id, call_id)
            halves = ((0.0, split), (split, duration))
            for n, (start, end) in enumerate(halves, start=1):
                clip_id = factories.make_clip(tenant_id, call_id, start=start, end=end, sentiment=sentiment,
                                              title=f"{sentiment} {n}", render=True, approve=True)
                made[clip_id] = sentiment
        name = "Voix de la semaine"
        playlist_id = factories.make_playlist(tenant_id, list(made), name=name)
    return Room(tenant_id, playlist_id, name, made)


# --- helpers -----------------------------------------------------------------------------


def cached_urls(page: Page, part: str) -> list[str]:
    """The URLs containing ``part`` in any of the page's caches (read by the test itself)."""
    urls: list[str] = page.evaluate("""async (part) => {
        const urls = [];
        for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
        }
        return urls.filter(url => url.includes(part));
    }""", part)
    return urls


def observed(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("() => JSON.parse(JSON.stringify(window.ecouteKiosk))")
    return state


def plays(page: Page) -> list[int]:
    return [p["clip_id"] for p in observed(page)["plays"]]


def wait_for_plays(page: Page, count: int, timeout_s: float = 60) -> list[int]:
    """Wait until the page has started ``count`` clips (window.ecouteKiosk.plays)."""
    page.wait_for_function(f"() => window.ecouteKiosk && window.ecouteKiosk.plays.length >= {count}",
                           timeout=timeout_s * 1000)
    return plays(page)


def audio_time(page: Page) -> float:
    value: float = page.evaluate(f"() => {CURRENT_AUDIO}.currentTime")
    return value


def assert_audio_advances(page: Page) -> None:
    """The current <audio> plays: not paused, and its time moves on (across a clip change too)."""
    before = (page.get_attribute("#player", "data-clip-id"), audio_time(page))
    page.wait_for_timeout(700)
    after = (page.get_attribute("#player", "data-clip-id"), audio_time(page))
    assert after != before, (before, after)
    assert page.evaluate(f"() => !{CURRENT_AUDIO}.paused")


def line_at(lines: list[dict[str, Any]], t: float) -> str:
    """The caption the screen should show at ``t``: the last line started by then ("" before the first)."""
    said = [line["text"] for line in lines if line["start"] <= t]
    return str(said[-1]) if said else ""


def assert_captions_follow_the_voice(page: Page, captions: dict[int, list[dict[str, Any]]], samples: int) -> None:
    """At several moments, #caption is the line being said at the current <audio>'s time (give or
    take a frame's lag)."""
    for _ in range(samples):
        now = page.evaluate(f"""() => ({{id: Number(document.getElementById('player').dataset.clipId),
                                         t: {CURRENT_AUDIO}.currentTime, ended: {CURRENT_AUDIO}.ended,
                                         caption: document.getElementById('caption').textContent}})""")
        lines, t = captions[now["id"]], now["t"]
        expected = {line_at(lines, t - 0.3), line_at(lines, t), line_at(lines, t + 0.05)}
        if t < 0.3 or now["ended"]:
            expected.add("")  # cleared at a clip's end, until the next one's first line
        assert now["caption"] in expected, (now, lines)
        page.wait_for_timeout(350)


def pair_screen(admin: Page, app: Flask, code: str, room_name: str, playlist: str) -> None:
    fr = translator(app, "fr")
    admin.goto("/settings/kiosks")
    admin.get_by_label(fr("Code shown on the screen"), exact=True).fill(code)
    admin.get_by_label(fr("Room"), exact=True).fill(room_name)
    admin.get_by_label(fr("Playlist"), exact=True).select_option(label=playlist)
    admin.get_by_role("button", name=fr("Pair the screen"), exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text(room_name)


def open_kiosk(new_page: OpenPage) -> Page:
    kiosk = new_page(viewport={"width": 1920, "height": 1080})
    kiosk.add_init_script(WATCH_SCRIPT)
    kiosk.goto("/kiosk/")
    return kiosk


def paired_kiosk(new_page: OpenPage, app: Flask, tenants: dict[str, TenantSet], room: Room) -> Page:
    """A screen paired through the UI by tenant A's admin, playing ``room``'s playlist."""
    kiosk = open_kiosk(new_page)
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "pairing")
    code = kiosk.locator("#pairing-code")
    expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    admin = new_page()
    log_in(admin, translator(app, "fr"), tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    pair_screen(admin, app, code.inner_text(), "Salle client Lyon", room.playlist_name)
    admin.close()
    return kiosk


# --- the tests ---------------------------------------------------------------------------


def test_a_paired_screen_plays_the_playlist_by_itself_with_captions(
        app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage) -> None:
    kiosk = paired_kiosk(new_page, app, tenants, room)
    body = kiosk.locator("body")
    # The screen asks every 2 s whether its code was typed; then it plays with no gesture.
    expect(body).to_have_attribute("data-screen", "player", timeout=10_000)
    wait_for_plays(kiosk, 1, timeout_s=15)
    assert_audio_advances(kiosk)
    expect(kiosk.locator("#clip-title")).not_to_be_empty()

    with app.app_context(), tenancy.tenant_session(room.tenant_id) as session:
        (status,) = kiosk_service.list_kiosks(session)
        manifest, _version = kiosk_service.manifest(session, status.kiosk)
    captions = {clip["id"]: clip["captions"] for clip in manifest["clips"]}
    assert all(len(lines) >= 2 for lines in captions.values()), captions
    assert_captions_follow_the_voice(kiosk, captions, samples=12)

    started = wait_for_plays(kiosk, 4)
    assert sorted(started[:4]) == sorted(room.clips), (started, room.clips)
    seen = kiosk.evaluate("() => window.__seen")
    # The playlist holds satisfied, satisfied, unhappy, unhappy: the room hears them in turn.
    sentiments = [clip["sentiment"] for clip in seen["clips"][:4]]
    assert sentiments == ["satisfied", "unhappy", "satisfied", "unhappy"], seen["clips"]
    assert [room.clips[int(clip["id"])] for clip in seen["clips"][:4]] == sentiments
    # Every line of the first three clips was shown, in order (the fourth may still be playing).
    said = [line["text"] for clip in seen["clips"][:3] for line in captions[int(clip["id"])]]
    assert seen["captions"][:len(said)] == said, (seen["captions"], said)
    # The indicator says it in words too, not only in colour.
    label = kiosk.locator("#sentiment-label")
    expect(label).to_have_text(re.compile(".+"))
    gaps = observed(kiosk)["gaps"]
    assert len(gaps) >= 3 and sorted(gaps)[len(gaps) // 2] <= 300, gaps


def test_the_screen_plays_on_offline_then_drops_a_retired_clip(
        app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage,
        switchable: Switchable, console: ConsoleWatch) -> None:
    kiosk = paired_kiosk(new_page, app, tenants, room)
    wait_for_plays(kiosk, 1, timeout_s=15)
    media = {f"/kiosk/media/{clip_id}-" for clip_id in room.clips}
    kiosk.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    kiosk.wait_for_function(
        "(prefixes) => prefixes.every(p => window.ecouteKiosk.cached.some(url => url.startsWith(p)))",
        arg=sorted(media), timeout=15_000)

    # The network goes, and the server with it: the screen plays on from its cache.
    kiosk.context.set_offline(True)
    switchable.stop()
    expect(kiosk.locator("body")).to_have_attribute("data-online", "no")
    before = len(plays(kiosk))
    wait_for_plays(kiosk, before + 2)
    assert_audio_advances(kiosk)

    # Reloaded offline (a power cut, a crash): the service worker serves the page, the cache the clips.
    kiosk.reload()
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=10_000)
    wait_for_plays(kiosk, 1)
    assert_audio_advances(kiosk)
    kiosk.wait_for_function(
        "() => window.__seen.captions.length >= 1", timeout=10_000)

    # Meanwhile a quality manager retires a clip; the network and the server come back.
    retired = next(iter(room.clips))
    version = observed(kiosk)["version"]
    with app.app_context(), tenancy.tenant_session(room.tenant_id) as session:
        manager = session.get(User, tenants["a"].users[Role.QUALITY_MANAGER].id)
        assert manager is not None
        clip_service.retire(session, manager, clip_service.get_clip(session, retired))
    switchable.start()
    kiosk.context.set_offline(False)
    expect(kiosk.locator("body")).to_have_attribute("data-online", "yes", timeout=10_000)
    gone = f"/kiosk/media/{retired}-"
    kiosk.wait_for_function("(gone) => !window.ecouteKiosk.cached.some(url => url.startsWith(gone))",
                            arg=gone, timeout=10_000)
    kiosk.wait_for_function("(v) => window.ecouteKiosk.version !== v", arg=version, timeout=30_000)
    adopted = len(plays(kiosk))
    later = wait_for_plays(kiosk, adopted + 4)[adopted:]
    assert retired not in later, (retired, later)
    assert cached_urls(kiosk, gone) == []


def test_an_unpaired_screen_shows_a_new_code(
        app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage, console: ConsoleWatch) -> None:
    kiosk = paired_kiosk(new_page, app, tenants, room)
    wait_for_plays(kiosk, 1, timeout_s=15)
    kiosk.wait_for_function("() => window.ecouteKiosk.cached.some(url => url.startsWith('/kiosk/media/'))")
    console.allow(r"status of 401")  # the screen's next request after the admin unpaired it

    fr = translator(app, "fr")
    admin = new_page()
    log_in(admin, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    admin.goto("/settings/kiosks")
    admin.locator("tr", has_text="Salle client Lyon").get_by_role("button", name=fr("Unpair")).click()

    expect(kiosk.locator("body")).to_have_attribute("data-screen", "pairing", timeout=10_000)
    expect(kiosk.locator("#pairing-code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    assert kiosk.evaluate(f"() => {CURRENT_AUDIO}.paused")
    assert cached_urls(kiosk, "/kiosk/media/") == []
    assert kiosk.evaluate("() => localStorage.getItem('ecoute-kiosk.paired')") is None
