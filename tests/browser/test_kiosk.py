"""The customer room's screen (kiosk/), in Debian's Chromium, against the live server.

A screen opens /kiosk/ and shows a pairing code; the company's admin types it on the screens
page; the screen then plays the playlist by itself, satisfied and unhappy voices in turn, with
captions that follow the voice. It goes on without a network (service worker and Cache API),
also after a reload, reports the plays it made offline once back, and drops a retired clip at
its first sync. An unpaired screen forgets everything and shows a new code. A browser that
refuses to play without a gesture gets "touch the screen to start", never a dead screen.

The tests watch the page (body[data-screen], #player's data attributes, #caption, the current
<audio>, window.ecouteKiosk) and the server's records; they never call play(): the playing is
the page's own.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, ConsoleWatch, LiveServer, OpenPage
from tests.browser.test_layout import accessibility
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.speech import speak
from webapp import tenancy
from webapp.models import AuditEvent, Call, Kiosk, KioskPairing, Role, Transcript, User
from webapp.services import clips as clip_service
from webapp.services import kiosks as kiosk_service

#: Records, from the page's first script on, every clip and sentiment #player shows and every
#: caption line #caption shows (MutationObservers: they read, they never drive the page).
WATCH_SCRIPT = """
window.__seen = {clips: [], captions: []};
document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player"), caption = document.getElementById("caption");
  if (!player || !caption) return;
  new MutationObserver(() => {
    const id = player.dataset.clipId, clips = window.__seen.clips;
    if (id && (!clips.length || clips[clips.length - 1].id !== id)) {
      clips.push({id: id, sentiment: player.dataset.sentiment});
    }
  }).observe(player, {attributes: true, attributeFilter: ["data-clip-id", "data-sentiment"]});
  new MutationObserver(() => {
    const text = caption.textContent, lines = window.__seen.captions;
    if (text && lines[lines.length - 1] !== text) lines.push(text);
  }).observe(caption, {childList: true, characterData: true, subtree: true});
});
"""

CURRENT_AUDIO = "document.querySelector('#player audio[data-role=current]')"
ROOM_NAME = "Salle client Lyon"
CODE = re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")


# --- a live server that can be switched off and on again, on the same port ---------------


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
        with sock:  # make_server keeps a duplicate of the descriptor: stop() closes the last one
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
    live_socket.close()  # the port (the one settings.base_url names) is Switchable's now
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


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest tells screens to poll and beat every 2 s (not 30): changes reach them quickly."""
    monkeypatch.setattr(kiosk_service, "POLL_SECONDS", 2)
    monkeypatch.setattr(kiosk_service, "HEARTBEAT_SECONDS", 2)


# --- the room's clips --------------------------------------------------------------------


@dataclass
class Room:
    tenant_id: int
    playlist_name: str
    clips: dict[int, str] = field(default_factory=dict)  #: clip id -> sentiment, in the playlist's order


#: Two customers, one call each (neural French speech, transcribed by the real Whisper), each cut
#: into two clips of a few phrases: most clips get two caption lines or more.
SAID = {
    "satisfied": "Bonjour, je voulais vous remercier. Le colis est arrivé ce matin, bien emballé. "
                 "Le livreur était très aimable. Tout fonctionne parfaitement, merci encore.",
    "unhappy": "Bonjour, ma commande n'est toujours pas arrivée. J'ai déjà appelé trois fois cette semaine. "
               "Personne ne me rappelle jamais. C'est vraiment inadmissible, je suis déçu.",
}


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two customers' calls as WAV files, synthesized once for the module (some 15 s each)."""
    folder = tmp_path_factory.mktemp("voices")
    return {sentiment: speak(folder / f"{sentiment}.wav", text, "fr") for sentiment, text in SAID.items()}


def middle_pause(tenant_id: int, call_id: int) -> tuple[float, float]:
    """The pause after a punctuated word nearest the call's middle (half-way to the next word), and
    the call's length: clips cut there start and end on whole phrases."""
    with tenancy.tenant_session(tenant_id) as session:
        call = session.get(Call, call_id)
        transcript = session.scalars(select(Transcript).where(Transcript.call_id == call_id)).one()
        assert call is not None
        words = [w for segment in transcript.segments for w in segment["words"]]
        pauses = [(w["end"] + after["start"]) / 2 for w, after in zip(words, words[1:], strict=False)
                  if re.search(r"[.,!?]$", w["word"].strip())]
        assert pauses, " ".join(w["word"] for w in words)
        middle = call.duration_seconds / 2
        return min(pauses, key=lambda at: abs(at - middle)), call.duration_seconds


@pytest.fixture
def room(app: Flask, tenants: dict[str, TenantSet], voices: dict[str, Path]) -> Room:
    """Four rendered, approved clips of real speech in an alternating playlist, given in the order
    satisfied, satisfied, unhappy, unhappy."""
    tenant_id = tenants["a"].id
    made: dict[int, str] = {}
    with app.app_context():
        for sentiment, wav in voices.items():
            call_id = factories.make_processed_call(tenant_id, wav, product="Box Fibre", language="fr")
            split, duration = middle_pause(tenant_id, call_id)
            for n, (start, end) in enumerate(((0.0, split), (split, duration)), start=1):
                clip_id = factories.make_clip(tenant_id, call_id, start=start, end=end, sentiment=sentiment,
                                              title=f"{sentiment} {n}", render=True, approve=True)
                made[clip_id] = sentiment
        name = "Voix de la semaine"
        factories.make_playlist(tenant_id, list(made), name=name)
    return Room(tenant_id, name, made)


@pytest.fixture
def tone_room(app: Flask, tenants: dict[str, TenantSet]) -> Room:
    """Two short rendered, approved clips of a tone (no Whisper): for tests that need a playing
    screen, not what it says."""
    tenant_id = tenants["a"].id
    made: dict[int, str] = {}
    with app.app_context():
        for sentiment in ("satisfied", "unhappy"):
            call_id = factories.make_ready_call(tenant_id, seconds=3.0)
            made[factories.make_clip(tenant_id, call_id, start=0.0, end=2.5, sentiment=sentiment,
                                     render=True, approve=True)] = sentiment
        factories.make_playlist(tenant_id, list(made), name="Tonalités")
    return Room(tenant_id, "Tonalités", made)


# --- watching the screen -----------------------------------------------------------------


def observed(page: Page) -> dict[str, Any]:
    """window.ecouteKiosk, the state player.js exposes."""
    state: dict[str, Any] = page.evaluate("() => JSON.parse(JSON.stringify(window.ecouteKiosk))")
    return state


def plays(page: Page) -> list[int]:
    return [play["clip_id"] for play in observed(page)["plays"]]


def wait_for_plays(page: Page, count: int, timeout_s: float = 60) -> list[int]:
    """The clips the page started, once it has started ``count`` of them."""
    page.wait_for_function("(n) => window.ecouteKiosk && window.ecouteKiosk.plays.length >= n",
                           arg=count, timeout=timeout_s * 1000)
    return plays(page)


def audio_time(page: Page) -> float:
    value: float = page.evaluate(f"() => {CURRENT_AUDIO}.currentTime")
    return value


def assert_audio_advances(page: Page) -> None:
    """The current <audio> plays: not paused, and its time moves on (or the next clip has begun)."""
    before = (page.get_attribute("#player", "data-clip-id"), audio_time(page))
    page.wait_for_timeout(700)
    after = (page.get_attribute("#player", "data-clip-id"), audio_time(page))
    assert after != before, (before, after)
    assert page.evaluate(f"() => !{CURRENT_AUDIO}.paused")


def line_at(lines: list[dict[str, Any]], t: float) -> str:
    """The caption due at ``t``: the last line started by then ("" before the first)."""
    said = [line["text"] for line in lines if line["start"] <= t]
    return str(said[-1]) if said else ""


def assert_captions_follow_the_voice(page: Page, captions: dict[int, list[dict[str, Any]]], samples: int) -> None:
    """At several moments, #caption is the line due at the current <audio>'s time (give or take
    a frame's lag), read in one go with the time and the clip."""
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


def cached_urls(page: Page, part: str) -> list[str]:
    """The URLs containing ``part`` in any of the page's caches (the test reads them itself)."""
    urls: list[str] = page.evaluate("""async (part) => {
        const urls = [];
        for (const name of await caches.keys()) {
            for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
        }
        return urls.filter(url => url.includes(part));
    }""", part)
    return urls


def eventually(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``check`` (server side, not the page) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


# --- pairing -------------------------------------------------------------------------------


def open_kiosk(new_page: OpenPage) -> Page:
    kiosk = new_page(viewport={"width": 1920, "height": 1080})
    kiosk.add_init_script(WATCH_SCRIPT)
    kiosk.goto("/kiosk/")
    return kiosk


def settings_page(new_page: OpenPage, app: Flask, tenants: dict[str, TenantSet]) -> Page:
    """Tenant A's admin on the screens page."""
    admin = new_page()
    log_in(admin, translator(app, "fr"), tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    admin.goto("/settings/kiosks")
    return admin


def pair_in_settings(new_page: OpenPage, app: Flask, tenants: dict[str, TenantSet], code: str,
                     playlist: str | None) -> Page:
    """The admin types the screen's code, names the room, picks the playlist (None: "none for now")."""
    fr = translator(app, "fr")
    admin = settings_page(new_page, app, tenants)
    admin.get_by_label(fr("Code shown on the screen"), exact=True).fill(code)
    admin.get_by_label(fr("Room"), exact=True).fill(ROOM_NAME)
    admin.get_by_label(fr("Playlist"), exact=True).select_option(label=playlist or fr("None for now"))
    admin.get_by_role("button", name=fr("Pair the screen"), exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text(ROOM_NAME)
    return admin


def paired_kiosk(new_page: OpenPage, app: Flask, tenants: dict[str, TenantSet], room: Room) -> Page:
    """A screen showing its code, paired through the UI, playing ``room``'s playlist."""
    kiosk = open_kiosk(new_page)
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "pairing")
    code = kiosk.locator("#pairing-code")
    expect(code).to_have_text(CODE)
    # The QR code (the admin page's address with the code) is an image that really loads.
    kiosk.wait_for_function("() => document.getElementById('pairing-qr').naturalWidth > 0")
    pair_in_settings(new_page, app, tenants, code.inner_text(), room.playlist_name).close()
    # The screen asks every 2 s whether its code was typed; then it plays, with no gesture.
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=10_000)
    return kiosk


def kiosk_row(app: Flask, room: Room) -> Kiosk:
    with app.app_context(), tenancy.tenant_session(room.tenant_id) as session:
        kiosk = session.scalars(select(Kiosk).where(Kiosk.name == ROOM_NAME)).one()
        session.expunge(kiosk)
        return kiosk


def served_manifest(app: Flask, room: Room) -> dict[str, Any]:
    """What the server gives the room's screen now (its manifest, read through the service)."""
    with app.app_context(), tenancy.tenant_session(room.tenant_id) as session:
        (status,) = kiosk_service.list_kiosks(session)
        manifest, _version = kiosk_service.manifest(session, status.kiosk)
        return manifest


# --- the tests -----------------------------------------------------------------------------


def test_a_paired_screen_plays_the_playlist_by_itself_with_captions(
        app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage) -> None:
    kiosk = paired_kiosk(new_page, app, tenants, room)
    wait_for_plays(kiosk, 1, timeout_s=15)
    assert_audio_advances(kiosk)
    expect(kiosk.locator("#clip-title")).to_have_text(re.compile(r"^(satisfied|unhappy) [12]$"))
    expect(kiosk.locator("#clip-product")).to_have_text("Box Fibre")

    manifest = served_manifest(app, room)
    captions = {clip["id"]: clip["captions"] for clip in manifest["clips"]}
    assert all(captions.values()) and any(len(lines) >= 2 for lines in captions.values()), captions
    assert_captions_follow_the_voice(kiosk, captions, samples=12)

    started = wait_for_plays(kiosk, 4)
    assert sorted(started[:4]) == sorted(room.clips), (started, room.clips)
    seen = kiosk.evaluate("() => window.__seen")
    # Given satisfied, satisfied, unhappy, unhappy, the room hears them in turn.
    sentiments = [clip["sentiment"] for clip in seen["clips"][:4]]
    assert sentiments == ["satisfied", "unhappy", "satisfied", "unhappy"], seen["clips"]
    assert [room.clips[int(clip["id"])] for clip in seen["clips"][:4]] == sentiments
    # Every line of the first three clips was shown, in order (the fourth may still be playing).
    said = [line["text"] for clip in seen["clips"][:3] for line in captions[int(clip["id"])]]
    assert seen["captions"][:len(said)] == said, (seen["captions"], said)
    # The indicator says it in words (the manifest's, in the company's language), not only in colour.
    now = kiosk.evaluate("""() => ({id: Number(document.getElementById('player').dataset.clipId),
                                    label: document.getElementById('sentiment-label').textContent})""")
    labels = {clip["id"]: clip["sentiment_label"] for clip in manifest["clips"]}
    assert now["label"] == labels[now["id"]] and now["label"], (now, labels)
    # One clip follows another at once (the next one is loaded while the current one plays).
    gaps = observed(kiosk)["gaps"]
    assert len(gaps) >= 3 and sorted(gaps)[len(gaps) // 2] <= 300, gaps
    # The heartbeat told the server what plays, from which version of the playlist.
    version = observed(kiosk)["version"]
    assert version == manifest["playlist"]["version"]

    def reported() -> bool:
        row = kiosk_row(app, room)
        return row.state == "playing" and row.current_clip_id in room.clips and row.playlist_version == version

    eventually(reported, 10, "a heartbeat saying which clip plays, from which version")


def test_the_screen_plays_on_offline_then_drops_a_retired_clip(
        app: Flask, tenants: dict[str, TenantSet], room: Room, new_page: OpenPage, switchable: Switchable) -> None:
    kiosk = paired_kiosk(new_page, app, tenants, room)
    wait_for_plays(kiosk, 1, timeout_s=15)
    kiosk.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    kiosk.wait_for_function(
        "(prefixes) => prefixes.every(p => window.ecouteKiosk.cached.some(url => url.startsWith(p)))",
        arg=[f"/kiosk/media/{clip_id}-" for clip_id in room.clips], timeout=15_000)

    # The network goes, and the server with it: the screen plays on from its cache.
    kiosk.context.set_offline(True)
    switchable.stop()
    expect(kiosk.locator("body")).to_have_attribute("data-online", "no")
    before = len(plays(kiosk))
    wait_for_plays(kiosk, before + 2)
    assert_audio_advances(kiosk)

    # Reloaded offline (a power cut, a crash): the service worker serves the page, the cache the
    # manifest and the clips; it resumes with the clip it was playing (or the next, if that one ended).
    order = [clip["id"] for clip in served_manifest(app, room)["clips"]]
    playing = int(kiosk.get_attribute("#player", "data-clip-id") or 0)
    made_before_reload = len(plays(kiosk))
    kiosk.reload()
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=10_000)
    expect(kiosk.locator("body")).to_have_attribute("data-online", "no")
    resumed = int(kiosk.evaluate("() => window.__seen.clips[0].id"))
    assert resumed in (playing, order[(order.index(playing) + 1) % len(order)]), (resumed, playing, order)
    wait_for_plays(kiosk, 1)
    assert_audio_advances(kiosk)
    kiosk.wait_for_function("() => window.__seen.captions.length >= 2", timeout=10_000)
    made_offline = made_before_reload + len(plays(kiosk))

    # Meanwhile a quality manager retires a clip; the server and the network come back.
    retired = next(iter(room.clips))
    version = observed(kiosk)["version"]
    with app.app_context(), tenancy.tenant_session(room.tenant_id) as session:
        manager = session.get(User, tenants["a"].users[Role.QUALITY_MANAGER].id)
        assert manager is not None
        clip_service.retire(session, manager, clip_service.get_clip(session, retired))
    switchable.start()
    kiosk.context.set_offline(False)
    expect(kiosk.locator("body")).to_have_attribute("data-online", "yes", timeout=10_000)

    # The plays made offline were kept and reach the server.
    def delivered() -> int:
        with app.app_context(), tenancy.tenant_session(room.tenant_id) as session:
            count = session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "clip.played"))
            return int(count or 0)

    eventually(lambda: delivered() >= made_offline, 15, f"{made_offline} plays delivered")

    # The retired clip leaves the cache at the sync, and the rotation at the next clip boundary.
    gone = f"/kiosk/media/{retired}-"
    kiosk.wait_for_function("(gone) => !window.ecouteKiosk.cached.some(url => url.startsWith(gone))",
                            arg=gone, timeout=10_000)
    kiosk.wait_for_function("(v) => window.ecouteKiosk.version !== v", arg=version, timeout=30_000)
    adopted = len(plays(kiosk))
    later = wait_for_plays(kiosk, adopted + 3)[adopted:]
    assert sorted(later) == sorted(set(room.clips) - {retired}), (retired, later)
    assert cached_urls(kiosk, gone) == []


def test_an_unpaired_screen_forgets_everything_and_shows_a_new_code(
        app: Flask, tenants: dict[str, TenantSet], tone_room: Room, new_page: OpenPage,
        console: ConsoleWatch) -> None:
    kiosk = paired_kiosk(new_page, app, tenants, tone_room)
    wait_for_plays(kiosk, 1, timeout_s=15)
    kiosk.wait_for_function("() => window.ecouteKiosk.cached.some(url => url.startsWith('/kiosk/media/'))")
    console.allow(r"status of 401")  # the screen's next request after the admin unpaired it

    fr = translator(app, "fr")
    admin = settings_page(new_page, app, tenants)
    admin.locator("tr", has_text=ROOM_NAME).get_by_role("button", name=fr("Unpair")).click()
    expect(admin.get_by_role("status")).to_contain_text(ROOM_NAME)

    expect(kiosk.locator("body")).to_have_attribute("data-screen", "pairing", timeout=10_000)
    expect(kiosk.locator("#pairing-code")).to_have_text(CODE)
    assert kiosk.evaluate(f"() => {CURRENT_AUDIO}.paused")
    expect(kiosk.locator("#player")).to_have_attribute("data-clip-id", "")
    assert cached_urls(kiosk, "/kiosk/") == []
    assert kiosk.evaluate("() => Object.keys(localStorage).filter(k => k !== 'ecoute-kiosk.pairing')") == []


def test_a_screen_without_clips_says_so_and_starts_when_given_a_playlist(
        app: Flask, tenants: dict[str, TenantSet], tone_room: Room, new_page: OpenPage) -> None:
    kiosk = open_kiosk(new_page)
    code = kiosk.locator("#pairing-code")
    expect(code).to_have_text(CODE)
    admin = pair_in_settings(new_page, app, tenants, code.inner_text(), None)
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "empty", timeout=10_000)
    expect(kiosk.locator("#empty h1")).to_have_text(translator(app, "fr")("No clips to play yet"))
    eventually(lambda: kiosk_row(app, tone_room).state == "empty", 10, "the heartbeat saying 'empty'")

    # The admin gives the screen a playlist: it starts at its next poll, by itself.
    row = admin.locator("tr", has_text=ROOM_NAME)
    row.get_by_label(translator(app, "fr")("Playlist"), exact=True).select_option(label=tone_room.playlist_name)
    row.get_by_role("button", name=translator(app, "fr")("Change"), exact=True).click()
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=10_000)
    wait_for_plays(kiosk, 1, timeout_s=10)
    assert_audio_advances(kiosk)


def test_a_browser_that_refuses_to_play_gets_touch_to_start(
        app: Flask, tenants: dict[str, TenantSet], tone_room: Room, browser: Browser, live_server: LiveServer,
        new_page: OpenPage) -> None:
    # A Chromium launched without the kiosk's autoplay flag: play() without a gesture is refused.
    strict = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[arg for arg in CHROMIUM_ARGS if not arg.startswith("--autoplay-policy")]
        + ["--autoplay-policy=document-user-activation-required"])
    problems: list[str] = []
    try:
        context = strict.new_context(base_url=live_server.url, locale="fr-FR")
        context.set_default_timeout(TIMEOUT_MS)
        kiosk = context.new_page()

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                problems.append(msg.text)

        kiosk.on("console", on_console)
        kiosk.on("pageerror", lambda exc: problems.append(str(exc)))
        kiosk.goto("/kiosk/")
        # Nothing is evaluated in the page before it has tried to play (Playwright's evaluations
        # count as a user's gesture): its code is read from the server, its state from its heartbeat.

        def shown_code() -> str | None:
            with app.app_context(), tenancy.tenant_session(None) as session:
                code = session.scalars(select(KioskPairing.code).where(KioskPairing.tenant_id.is_(None))).first()
                return kiosk_service.show_code(code) if code else None

        pair_in_settings(new_page, app, tenants, eventually(shown_code, 10, "a pairing code"),
                         tone_room.playlist_name).close()
        eventually(lambda: kiosk_row(app, tone_room).state == "touch", 15, "the heartbeat saying 'touch'")

        expect(kiosk.locator("body")).to_have_attribute("data-screen", "touch")
        touch = kiosk.locator("#touch")
        expect(touch).to_have_text(translator(app, "fr")("Touch the screen to start"))
        assert kiosk.evaluate(f"() => {CURRENT_AUDIO}.paused && window.ecouteKiosk.plays.length === 0")
        touch.click()
        expect(kiosk.locator("body")).to_have_attribute("data-screen", "player")
        wait_for_plays(kiosk, 2, timeout_s=15)  # the first, and the next without another touch
        assert_audio_advances(kiosk)
        context.close()
    finally:
        strict.close()
    assert problems == []


# --- the weekly schedule (issue #16, item 8) -----------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


def test_a_screen_goes_idle_outside_its_opening_hours_offline_too(
        app: Flask, tenants: dict[str, TenantSet], tone_room: Room, new_page: OpenPage,
        console: ConsoleWatch) -> None:
    """The screen's clock moved (Playwright's page.clock): it plays on Monday at 10:00 Paris time, goes
    idle at 18:30 (its hours are 9h-18h, typed on the screens page), stays idle after a reload without
    network, and plays again, still offline, at the next opening."""
    fr = translator(app, "fr")
    kiosk = new_page(viewport={"width": 1920, "height": 1080})
    kiosk.add_init_script(WATCH_SCRIPT)
    kiosk.clock.install(time=datetime(2026, 12, 7, 10, 0, tzinfo=PARIS))  # a Monday
    kiosk.goto("/kiosk/")
    code = kiosk.locator("#pairing-code")
    expect(code).to_have_text(CODE)
    admin = pair_in_settings(new_page, app, tenants, code.inner_text(), tone_room.playlist_name)
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=10_000)
    wait_for_plays(kiosk, 1, timeout_s=15)

    # The admin types the hours: a wrong one is refused with a message naming the day; then Monday only.
    kiosk_id = kiosk_row(app, tone_room).id
    hours = admin.locator(f"#schedule-{kiosk_id}")
    hours.locator("summary").click()
    console.allow(r"status of 422")  # the refused form's answer
    hours.get_by_label(fr("Monday"), exact=True).fill("18h-9h")
    hours.get_by_role("button", name=fr("Save the opening hours"), exact=True).click()
    expect(admin.locator(f"#schedule-{kiosk_id} .form-error")).to_contain_text(fr("Monday"))
    hours = admin.locator(f"#schedule-{kiosk_id}")
    hours.get_by_label(fr("Monday"), exact=True).fill("9h-18h")
    hours.get_by_role("button", name=fr("Save the opening hours"), exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text(ROOM_NAME)
    assert kiosk_row(app, tone_room).schedule == {"mon": [["09:00", "18:00"]]}
    assert accessibility(admin) == []
    kiosk.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    kiosk.wait_for_function(
        "(prefixes) => prefixes.every(p => window.ecouteKiosk.cached.some(url => url.startsWith(p)))",
        arg=[f"/kiosk/media/{clip_id}-" for clip_id in tone_room.clips], timeout=15_000)
    assert_audio_advances(kiosk)  # 10:00 on a Monday: open

    # Closing time: the calm idle screen, silent; the heartbeat says so and the screens page shows it.
    kiosk.clock.set_system_time(datetime(2026, 12, 7, 18, 30, tzinfo=PARIS))
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "idle", timeout=10_000)
    expect(kiosk.locator("#idle h1")).to_be_visible()
    assert accessibility(kiosk) == []
    assert kiosk.evaluate(f"() => {CURRENT_AUDIO}.paused")
    eventually(lambda: kiosk_row(app, tone_room).state == "idle", 10, "the heartbeat saying 'idle'")

    # No network, and a reload (a power cut in the night): still idle, from the kept manifest.
    kiosk.context.set_offline(True)
    kiosk.reload()
    kiosk.clock.set_system_time(datetime(2026, 12, 8, 7, 0, tzinfo=PARIS))  # Tuesday: closed all day
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "idle", timeout=10_000)
    expect(kiosk.locator("body")).to_have_attribute("data-online", "no")
    kiosk.wait_for_timeout(2500)
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "idle")

    # The next Monday at 09:30, still offline: it plays again by itself.
    made = len(plays(kiosk))
    kiosk.clock.set_system_time(datetime(2026, 12, 14, 9, 30, tzinfo=PARIS))
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=10_000)
    wait_for_plays(kiosk, made + 1, timeout_s=15)
    assert_audio_advances(kiosk)


# --- a written complaint's card (issue #16, item 7) ----------------------------------------

#: Records what the screen shows in turn: each voice (its clip id) and each card (its id).
SCREENS_SCRIPT = """
window.__shown = [];
document.addEventListener("DOMContentLoaded", () => {
  const note = () => {
    const screen = document.body.dataset.screen, shown = window.__shown;
    const what = screen === "card" ? document.getElementById("card").dataset.cardId
      : screen === "player" ? document.getElementById("player").dataset.clipId : "";
    if (what && shown[shown.length - 1] !== what) shown.push(what);
  };
  new MutationObserver(note).observe(document.body, {attributes: true, attributeFilter: ["data-screen"]});
  new MutationObserver(note).observe(document.getElementById("player"),
                                     {attributes: true, attributeFilter: ["data-clip-id"]});
});
"""


def test_a_complaint_card_plays_between_two_clips(
        app: Flask, tenants: dict[str, TenantSet], tone_room: Room, new_page: OpenPage) -> None:
    """A quality manager adds a written complaint (consent "yes") to the playlist as a card, shortened;
    the screen shows it, masked, after the last voice and before the next round's first."""
    from webapp.models import Complaint, Consent, Playlist

    fr = translator(app, "fr")
    with app.app_context():
        complaint_id = factories.make_complaint(tone_room.tenant_id, text="Mon four est tombé en panne. Inadmissible.")
        with tenancy.tenant_session(tone_room.tenant_id) as session:
            complaint = session.get(Complaint, complaint_id)
            assert complaint is not None
            complaint.consent = Consent.YES
            playlist_id = session.scalars(select(Playlist.id).where(Playlist.name == tone_room.playlist_name)).one()
    manager = new_page()
    log_in(manager, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    manager.goto(f"/playlists/{playlist_id}")
    manager.get_by_label(fr("Complaint number"), exact=True).fill(str(complaint_id))
    manager.get_by_label(fr("Shortened excerpt (optional)"), exact=True).fill("Mon four est tombé en panne.")
    manager.get_by_role("button", name=fr("Add the card"), exact=True).click()
    expect(manager.locator(f"#card-{complaint_id} q")).to_have_text("Mon four est tombé en panne.…")
    assert accessibility(manager) == []

    kiosk = new_page(viewport={"width": 1920, "height": 1080})
    kiosk.add_init_script(SCREENS_SCRIPT)
    kiosk.goto("/kiosk/")
    code = kiosk.locator("#pairing-code")
    expect(code).to_have_text(CODE)
    pair_in_settings(new_page, app, tenants, code.inner_text(), tone_room.playlist_name).close()
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "card", timeout=30_000)
    expect(kiosk.locator("#card-text")).to_have_text("Mon four est tombé en panne.…")
    # axe reads colours as drawn: half-way through the card's 0.6 s fade-in its text is half transparent
    kiosk.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')", timeout=5_000)
    assert accessibility(kiosk) == []
    expect(kiosk.locator("body")).to_have_attribute("data-screen", "player", timeout=15_000)
    kiosk.wait_for_function("() => window.__shown.length >= 4", timeout=15_000)
    shown = kiosk.evaluate("() => window.__shown")
    voices = [str(clip_id) for clip_id in tone_room.clips]
    at = shown.index(f"card-{complaint_id}")
    assert 0 < at < len(shown) - 1 and shown[at - 1] == voices[-1] and shown[at + 1] == voices[0], shown
