// The customer room's screen (kiosk/README.md has the HTTP contract).
//
// Unpaired, it shows a pairing code and polls until a tenant admin enters it; the server then
// sets the device cookie (HttpOnly: this script never sees it). Paired, it plays the manifest's
// clips in the order given, for ever, with captions, and keeps going without a network: the
// manifest and every clip are kept in the Cache API ("ecoute-kiosk-v1"), which this page fills
// and prunes after each sync, and sw.js serves the page itself from there.
//
// Cached clips play from Blob URLs made here, so playback from the cache does not depend on the
// service worker answering the media element's Range requests (sw.js can, as a second line).
//
// State for tests and benchmarks, read only: body[data-screen], body[data-online],
// #player[data-clip-id][data-sentiment], #caption, and window.ecouteKiosk.
(function () {
  "use strict";

  var CACHE = "ecoute-kiosk-v1";
  var MANIFEST_URL = "/kiosk/manifest.json";
  var SHELL_URL = "/kiosk/";
  var KEYS = {
    pairing: "ecoute-kiosk.pairing",    // {code, secret, qr, expiresAt}: a reload keeps the code
    paired: "ecoute-kiosk.paired",      // {id, name}: the device cookie was set (we cannot see it)
    position: "ecoute-kiosk.position",  // {clipId, time}: where to resume after a reload or reboot
    plays: "ecoute-kiosk.plays"         // [{clip_id, at}]: plays not yet delivered by a heartbeat
  };
  var CLAIM_EVERY_MS = 2000;
  var RETRY_MS = 5000;
  var REFUSED_RETRY_MS = 30000;
  // Plays wait in localStorage until a heartbeat delivers them, across offline periods and reloads:
  // three days of a short clip every 30 s fit. They leave in batches of the manifest's
  // plays_per_heartbeat, one batch per heartbeat, which keeps under the server's per-minute limit.
  var MAX_QUEUED_PLAYS = 10000;
  var DEFAULT_PLAYS_PER_HEARTBEAT = 50;
  var DEFAULT_POLL_S = 30;
  var MAX_OBSERVED = 1000;
  var UPDATE_CHECK_MS = 10 * 60 * 1000;

  var body = document.body;
  var $ = function (id) { return document.getElementById(id); };
  var playerEl = $("player"), captionEl = $("caption"), progressEl = $("clip-progress");

  var observed = window.ecouteKiosk = {
    plays: [],          // [{clip_id, at_ms}] plays started on this page (at_ms: Date.now())
    gaps: [],           // ms from a clip's "ended" to the next one's "playing"
    firstAudioMs: null, // performance.now() at the first "playing" event
    cached: [],         // URLs (path and query) in the cache after the last sync
    version: null       // the manifest version being played
  };

  // --- small helpers -------------------------------------------------------------------

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full or denied: live without */ }
  }
  function forget(key) {
    try { localStorage.removeItem(key); } catch (e) { /* nothing to forget */ }
  }
  // A screen runs for months: what it keeps for observers stays bounded.
  function remember(list, item) {
    list.push(item);
    if (list.length > MAX_OBSERVED) list.splice(0, list.length - MAX_OBSERVED);
  }
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function text(name) { return body.getAttribute("data-text-" + name) || ""; }
  function show(screen) { body.dataset.screen = screen; }
  function setOnline(isOnline) { body.dataset.online = isOnline ? "yes" : "no"; }
  function pathOf(url) { var u = new URL(url, location.href); return u.pathname + u.search; }
  function openCache() { return window.caches ? caches.open(CACHE) : Promise.reject(new Error("no Cache API")); }

  // Everything started for one pairing of this screen carries its generation; unpairing bumps
  // it, and late timers or answers of the previous one then do nothing.
  var generation = 0;

  // fetch() for the kiosk's JSON endpoints: the device cookie goes along, no HTTP cache.
  // Resolves to the Response, or null when the network (or the server) cannot be reached.
  // navigator.onLine false means no network at all: don't even try (nor log errors about it).
  function request(method, url, data, headers) {
    if (!navigator.onLine) { setOnline(false); return Promise.resolve(null); }
    var init = {method: method, credentials: "same-origin", cache: "no-store", headers: headers || {}};
    if (data !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(data);
    }
    return fetch(url, init).then(function (response) {
      // sw.js marks what it answered from its cache because the server could not be reached.
      setOnline(!response.headers.has("X-Ecoute-From-Cache"));
      return response;
    }, function () {
      setOnline(false);
      return null;
    });
  }

  // --- pairing ---------------------------------------------------------------------------

  // A new code: the pairing, or {failed: "network"} (no network) or {failed: "refused"} (the
  // server said no: too many codes asked from this address, or a passing error).
  function newPairing() {
    return request("POST", "/kiosk/pairings", {}).then(function (response) {
      if (!response) return {failed: "network"};
      if (response.status !== 201) return {failed: "refused"};
      return response.json().then(function (p) {
        return {code: p.code, secret: p.secret, qr: p.qr, expiresAt: Date.now() + (p.expires_in || 600) * 1000};
      });
    }).catch(function () { return {failed: "refused"}; });
  }

  function showCode(pairing) {
    var code = $("pairing-code"), qr = $("pairing-qr");
    if (code.textContent !== pairing.code) code.textContent = pairing.code;
    if (pairing.qr && qr.getAttribute("src") !== pairing.qr) qr.setAttribute("src", pairing.qr);
    qr.hidden = !pairing.qr;
  }

  function hideCode() {
    $("pairing-code").textContent = "";
    $("pairing-qr").hidden = true;
  }

  async function pair(gen) {
    show("pairing");
    var status = $("pairing-status");
    var pairing = load(KEYS.pairing);
    while (gen === generation) {
      // Renew the code a little before it expires, rather than waiting for the server's 410.
      if (!pairing || !pairing.secret || pairing.expiresAt <= Date.now() + 5000) {
        forget(KEYS.pairing);
        pairing = await newPairing();
        if (gen !== generation) return;
        if (pairing.failed) {
          hideCode();
          status.textContent = text(pairing.failed === "network" ? "no-network" : "no-code");
          await sleep(pairing.failed === "network" ? RETRY_MS : REFUSED_RETRY_MS);
          pairing = null;
          continue;
        }
        save(KEYS.pairing, pairing);
      }
      status.textContent = "";
      showCode(pairing);
      await sleep(CLAIM_EVERY_MS);
      if (gen !== generation) return;
      var response = await request("POST", "/kiosk/pairings/claim", {secret: pairing.secret});
      if (gen !== generation) return;
      if (!response) { status.textContent = text("no-network"); continue; }
      if (response.status === 410) { pairing = null; continue; }
      if (response.status === 200) {
        var answer = await response.json().catch(function () { return {}; });
        if (answer.status === "paired") {
          forget(KEYS.pairing);
          save(KEYS.paired, answer.kiosk || {});
          hideCode();
          run(gen);
          return;
        }
      }
      // 202: no admin has entered the code yet; anything else passes: ask again in 2 s.
    }
  }

  // Revoked, or never paired after all: forget everything this screen knew, pair again.
  async function unpair() {
    generation += 1;
    var gen = generation;
    clearTimeout(pollTimer);
    clearTimeout(heartbeatTimer);
    stopAudio();
    manifest = pending = null;
    etag = null;
    observed.version = null;
    observed.cached = [];
    Object.keys(KEYS).forEach(function (k) { forget(KEYS[k]); });
    try {
      var names = await caches.keys();
      await Promise.all(names.map(function (name) { return caches.delete(name); }));
    } catch (e) { /* no Cache API: nothing cached */ }
    if (gen === generation) pair(gen);
  }

  // --- the manifest ---------------------------------------------------------------------

  var manifest = null;   // what plays now
  var pending = null;    // a newer manifest, adopted at the next clip boundary
  var etag = null;       // of the newest manifest we hold
  var pollSeconds = DEFAULT_POLL_S, heartbeatSeconds = DEFAULT_POLL_S;
  var playsPerHeartbeat = DEFAULT_PLAYS_PER_HEARTBEAT;
  var pollTimer = null, heartbeatTimer = null, syncing = null;

  function clipsOf(m) { return m && Array.isArray(m.clips) ? m.clips : []; }
  function versionOf(m) { return (m && ((m.playlist && m.playlist.version) || m.version)) || null; }
  // Two manifests play the same thing when their playlist and clips are equal; the version
  // says so already, this also covers a manifest without playlist (no version).
  function sameContent(a, b) {
    return JSON.stringify([a.playlist, a.clips]) === JSON.stringify([b.playlist, b.clips]);
  }
  function newest() { return pending || manifest; }

  function cachedManifest() {
    return openCache().then(function (cache) { return cache.match(MANIFEST_URL); }).then(function (hit) {
      if (!hit) return null;
      var tag = hit.headers.get("ETag");
      return hit.json().then(function (m) { return {manifest: m, etag: tag}; });
    }).catch(function () { return null; });
  }

  // Ask for the manifest (If-None-Match), keep a copy in the cache, then make the cache match it.
  function sync(gen) {
    if (syncing) return syncing;
    var headers = etag && newest() ? {"If-None-Match": etag} : {};
    syncing = request("GET", MANIFEST_URL, undefined, headers).then(async function (response) {
      if (gen !== generation) return;
      if (response && response.status === 401) { await unpair(); return; }
      if (response && response.status === 200) {
        var copy = response.clone();
        var m = await response.json();
        etag = response.headers.get("ETag");
        try { await (await openCache()).put(MANIFEST_URL, copy); } catch (e) { /* played from memory */ }
        receive(m, gen);
      } else if (!newest()) {
        // No network (or a server error) and nothing in memory: a reload or a reboot offline.
        var kept = await cachedManifest();
        if (gen !== generation) return;
        if (kept) { etag = kept.etag; receive(kept.manifest, gen); }
        else { show("waiting"); $("waiting-text").textContent = text("waiting-network"); }
      }
      if (gen === generation && newest()) await store(newest(), gen);
    }).catch(function () { /* a malformed answer: try again at the next poll */ }).then(function () {
      syncing = null;
    });
    return syncing;
  }

  function receive(m, gen) {
    pollSeconds = m.poll_seconds > 0 ? m.poll_seconds : DEFAULT_POLL_S;
    heartbeatSeconds = m.heartbeat_seconds > 0 ? m.heartbeat_seconds : DEFAULT_POLL_S;
    playsPerHeartbeat = m.plays_per_heartbeat > 0 ? m.plays_per_heartbeat : DEFAULT_PLAYS_PER_HEARTBEAT;
    if (m.locale) playerEl.setAttribute("lang", m.locale);
    applyLook(m.look || {});
    showImage($("checkin-qr"), m.check_in_qr || "");
    var captioned = clipsOf(m).map(function (clip) {
      var lines = Array.isArray(clip.captions) ? clip.captions.slice() : [];
      lines.sort(function (a, b) { return a.start - b.start; });
      return Object.assign({}, clip, {captions: lines});
    });
    m = Object.assign({}, m, {clips: captioned});
    if (!playing()) {
      // Nothing is playing (start-up, empty playlist): no clip to finish first.
      manifest = m;
      pending = null;
      observed.version = versionOf(m);
      begin(gen);
    } else if (!sameContent(newest(), m)) {
      pending = m;      // adopted when the current clip ends: a clip is never cut
      prepareNext();
    }
  }

  // The company's look (issue #16, item 8): its accent colour as CSS custom properties (set through
  // the CSSOM, which the Content-Security-Policy allows, unlike a style attribute) and its logo.
  function applyLook(look) {
    var root = document.documentElement.style;
    if (look.accent) {
      root.setProperty("--accent", look.accent);
      root.setProperty("--accent-text", look.accent_text || "#fff");
    } else {
      root.removeProperty("--accent");
      root.removeProperty("--accent-text");
    }
    document.querySelectorAll("img.company-logo").forEach(function (img) {
      if (look.logo) { if (img.getAttribute("src") !== look.logo) img.setAttribute("src", look.logo); }
      else img.removeAttribute("src");
      img.hidden = !look.logo;
    });
    body.dataset.look = look.accent || look.logo ? "company" : "default";
  }

  // Files the screen needs besides the clips' audio: the logo (kept for offline like a clip).
  // and the QR codes: one beside each clip (react from a phone) and the room's check-in (issue #16).
  function extrasOf(m) {
    var urls = m && m.look && m.look.logo ? [m.look.logo] : [];
    if (m && m.check_in_qr) urls.push(m.check_in_qr);
    clipsOf(m).forEach(function (clip) { if (clip.qr) urls.push(clip.qr); });
    return urls;
  }

  function showImage(img, url) {
    if (url) { if (img.getAttribute("src") !== url) img.setAttribute("src", url); }
    else img.removeAttribute("src");
    img.hidden = !url;
  }

  // Bring the cache in line with the manifest: every clip of it stored (the next ones first),
  // every clip no longer in it deleted, the page and its assets present for an offline start.
  async function store(m, gen) {
    var cache;
    try { cache = await openCache(); } catch (e) { return; }
    var wanted = upcomingClips(m).map(function (clip) { return clip.audio; }).concat(extrasOf(m));
    var keep = new Set(wanted.map(pathOf));
    var keys = await cache.keys();
    var have = new Set(keys.map(function (r) { return pathOf(r.url); }));
    var shell = await shellAssets(cache);
    for (var i = 0; i < keys.length; i++) {
      var path = pathOf(keys[i].url);
      var isMedia = /^\/kiosk\/(media|look|qr)\//.test(path);
      var isAsset = /^\/kiosk\/(player\.js|kiosk\.css)\?/.test(path);
      if ((isMedia && !keep.has(path)) || (isAsset && !shell.has(path))) {
        await cache.delete(keys[i]);
        have.delete(path);
      }
    }
    if (navigator.onLine) {
      var missing = [SHELL_URL].concat(Array.from(shell)).filter(function (url) { return !have.has(url); });
      for (var s = 0; s < missing.length; s++) {
        try { await cache.add(missing[s]); } catch (e) { break; }
      }
      for (var j = 0; j < wanted.length && gen === generation && navigator.onLine; j++) {
        if (have.has(pathOf(wanted[j]))) continue;
        var stored = await storeClip(cache, wanted[j], gen);
        if (stored === "unpaired") { await unpair(); return; }
        if (stored === "offline") break;
      }
    }
    if (gen !== generation) return;
    observed.cached = (await cache.keys()).map(function (r) { return pathOf(r.url); });
    if (prepared && !prepared.isBlob) prepareNext();  // play the next one from the cache now
  }

  // The URLs of the scripts and styles the page needs: this page's and the cached page's.
  async function shellAssets(cache) {
    var urls = new Set();
    document.querySelectorAll("script[src], link[rel=stylesheet][href]").forEach(function (el) {
      var url = pathOf(el.getAttribute("src") || el.getAttribute("href"));
      if (url.indexOf("/kiosk/") === 0) urls.add(url);
    });
    try {
      var page = await cache.match(SHELL_URL);
      var html = page ? await page.text() : "";
      var found, pattern = /(?:src|href)="(\/kiosk\/[^"?]+\.(?:js|css)\?[^"]*)"/g;
      while ((found = pattern.exec(html))) urls.add(found[1].replace(/&amp;/g, "&"));
    } catch (e) { /* the cached page could not be read: keep this page's */ }
    return urls;
  }

  // Fetch one clip whole (no Range: the Cache API refuses a 206) and store it if its bytes
  // match the SHA-256 in its name. Returns "stored", "offline", "unpaired" or "failed".
  async function storeClip(cache, url, gen) {
    var response;
    try {
      response = await fetch(new Request(url, {credentials: "same-origin"}));
    } catch (e) {
      setOnline(false);
      return "offline";
    }
    if (response.status === 401) return "unpaired";
    if (response.status !== 200) return "failed";
    try {
      var bytes = await response.clone().arrayBuffer();
      if (!(await hashMatches(url, bytes)) || gen !== generation) return "failed";
      await cache.put(url, response);
      return "stored";
    } catch (e) {
      return "failed";  // cut off mid-way, or the disk is full: try again at the next sync
    }
  }

  async function hashMatches(url, bytes) {
    var named = /-([0-9a-f]{64})\.[a-z0-9]+$/.exec(new URL(url, location.href).pathname);
    if (!named || !window.crypto || !crypto.subtle) return true;  // nothing to check against
    var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    var hex = Array.prototype.map.call(digest, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
    return hex === named[1];
  }

  // A screen never reloads by itself: when a new version of this page is deployed, reload at the
  // next clip boundary (the position is kept, so it resumes there).
  var updateReady = false, updateCheckedAt = Date.now();

  async function checkForUpdate() {
    if (updateReady || Date.now() - updateCheckedAt < UPDATE_CHECK_MS || !navigator.onLine) return;
    updateCheckedAt = Date.now();
    try {
      var response = await fetch(SHELL_URL, {credentials: "same-origin", cache: "no-store"});
      if (!response.ok) return;
      var html = await response.text();
      var mine = [];
      document.querySelectorAll("script[src], link[rel=stylesheet][href]").forEach(function (el) {
        var url = pathOf(el.getAttribute("src") || el.getAttribute("href"));
        if (url.indexOf("/kiosk/") === 0) mine.push(url);
      });
      updateReady = mine.some(function (url) { return html.indexOf('"' + url.replace(/&/g, "&amp;") + '"') < 0; });
    } catch (e) { /* offline: next time */ }
  }

  function schedulePoll(gen) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(function () {
      if (gen !== generation) return;
      sync(gen).then(checkForUpdate).then(function () { if (gen === generation) schedulePoll(gen); });
    }, pollSeconds * 1000);
  }

  // --- heartbeat -----------------------------------------------------------------------------

  var beating = false;

  function queuePlay(clip) {
    var at = new Date();
    remember(observed.plays, {clip_id: clip.id, at_ms: at.getTime()});
    var queue = load(KEYS.plays) || [];
    queue.push({clip_id: clip.id, at: at.toISOString().replace(/\.\d{3}Z$/, "Z")});
    save(KEYS.plays, queue.slice(-MAX_QUEUED_PLAYS));
  }

  function state() {
    var screen = body.dataset.screen;
    if (screen === "touch" || screen === "empty" || screen === "idle") return screen;
    if (screen === "card") return "playing";
    return playing() && current.readyState > 2 ? "playing" : "waiting";
  }

  async function heartbeat(gen) {
    if (beating || gen !== generation) return;
    beating = true;
    try {
      var queue = load(KEYS.plays) || [];
      var sending = queue.slice(0, playsPerHeartbeat);
      var response = await request("POST", "/kiosk/heartbeat", {
        clip_id: currentClip ? currentClip.id : null,
        version: observed.version,
        state: state(),
        plays: sending
      });
      if (gen !== generation || !response) return;
      if (response.status === 401) { await unpair(); return; }
      if (response.ok && sending.length) {
        // Delivered (the answer counts those journalled and those the server dropped; either way
        // they are done). Plays may have been queued meanwhile, behind those sent: drop only those sent.
        save(KEYS.plays, (load(KEYS.plays) || []).slice(sending.length));
      }
    } finally {
      beating = false;
    }
  }

  function scheduleHeartbeat(gen) {
    clearTimeout(heartbeatTimer);
    heartbeatTimer = setTimeout(function () {
      if (gen !== generation) return;
      heartbeat(gen).then(function () { if (gen === generation) scheduleHeartbeat(gen); });
    }, heartbeatSeconds * 1000);
  }

  // --- the weekly schedule (issue #16, item 8) -------------------------------------------------

  // The manifest carries the screen's opening hours ({"mon": [["09:00", "18:00"]], ...}, empty: always)
  // and the company's time zone. The screen applies them by itself, from the manifest it keeps, so
  // a screen without network still goes idle at closing time and comes back at opening time.
  var SCHEDULE_CHECK_MS = 1000;
  var DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

  // The day ("mon".."sun") and minute of the day it is now in the company's time zone.
  function companyNow(m, when) {
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", {timeZone: m.timezone || undefined, weekday: "short", hour: "2-digit",
                                        minute: "2-digit", hourCycle: "h23"})
        .formatToParts(when).forEach(function (p) { parts[p.type] = p.value; });
      return {day: parts.weekday.slice(0, 3).toLowerCase(), minute: Number(parts.hour) * 60 + Number(parts.minute)};
    } catch (e) {  // an unknown time zone: the screen's own clock
      return {day: DAYS[when.getDay()], minute: when.getHours() * 60 + when.getMinutes()};
    }
  }

  function minutesOf(hhmm) {
    var p = String(hhmm).split(":");
    return Number(p[0]) * 60 + Number(p[1] || 0);
  }

  // Whether manifest m lets the screen play at `when` (a Date).
  function isOpen(m, when) {
    var schedule = m && m.schedule;
    if (!schedule || typeof schedule !== "object" || !Object.keys(schedule).length) return true;
    var now = companyNow(m, when);
    var periods = Array.isArray(schedule[now.day]) ? schedule[now.day] : [];
    return periods.some(function (p) { return minutesOf(p[0]) <= now.minute && now.minute < minutesOf(p[1]); });
  }

  function scheduleAllows() { return isOpen(newest(), new Date()); }

  // Closing time: remember where we were, stop the sound, show the idle screen. Opening time: play on.
  function checkSchedule() {
    var gen = generation;
    if (!manifest) return;
    var open = scheduleAllows();
    if (!open && body.dataset.screen !== "idle") {
      savePosition(true);
      if (pending) { manifest = pending; pending = null; observed.version = versionOf(manifest); }
      stopAudio();
      show("idle");
    } else if (open && body.dataset.screen === "idle") {
      begin(gen);
    }
  }

  // --- the player ----------------------------------------------------------------------------

  // Two <audio> elements: `current` plays, `next` loads the clip that follows, and they swap on
  // "ended", so the next clip starts without waiting for the network or the decoder.
  var current = $("audio-a"), next = $("audio-b");
  var index = -1;            // of the current clip in manifest.clips
  var currentClip = null;
  var prepared = null;       // {id, audio, isBlob}: what `next` holds
  var blobs = new Map();     // <audio> -> the Blob URL it plays, revoked when replaced
  var startedClip = false;   // "playing" was seen for the current clip
  var countsAsPlay = false;  // the current clip started at its beginning (a resume does not count)
  var endedAt = null;        // performance.now() of the last "ended", for observed.gaps
  var failures = 0;          // clips in a row that could not play
  var savedAt = 0;

  function playing() { return currentClip !== null; }

  // The clip's audio from the cache as a Blob URL, or its network URL when not cached (yet).
  async function sourceFor(clip) {
    try {
      var hit = await (await openCache()).match(clip.audio);
      if (hit) return {url: URL.createObjectURL(await hit.blob()), isBlob: true};
    } catch (e) { /* no Cache API, or unreadable entry: the network */ }
    return {url: clip.audio, isBlob: false};
  }

  function setSource(element, source) {
    var old = blobs.get(element);
    if (old) { URL.revokeObjectURL(old); blobs.delete(element); }
    if (source) {
      if (source.isBlob) blobs.set(element, source.url);
      element.src = source.url;
    } else {
      element.removeAttribute("src");
      element.load();
    }
  }

  // Where playback goes after the current clip: a pending manifest is adopted there. Continue
  // with the clip after the one that just played; if that one left, with the first of the old
  // order's following clips still there; else from the start.
  function following() {
    var clips = clipsOf(manifest);
    if (!pending) return {manifest: manifest, index: clips.length ? (index + 1) % clips.length : -1};
    var fresh = clipsOf(pending);
    if (!fresh.length) return {manifest: pending, index: -1};
    var ids = fresh.map(function (c) { return c.id; });
    for (var k = 0; k < clips.length; k++) {
      var old = clips[(index + k) % clips.length];
      var at = old ? ids.indexOf(old.id) : -1;
      if (at >= 0) return {manifest: pending, index: k === 0 ? (at + 1) % fresh.length : at};
    }
    return {manifest: pending, index: 0};
  }

  // The clips in the order they will play from now on (to cache the next ones first).
  function upcomingClips(m) {
    var clips = clipsOf(m);
    var then = following();
    var start = then.manifest === m && then.index >= 0 ? then.index : 0;
    return clips.slice(start).concat(clips.slice(0, start));
  }

  async function prepareNext() {
    var then = following();
    var clip = then.index >= 0 ? clipsOf(then.manifest)[then.index] : null;
    if (!clip) { prepared = null; return; }
    if (prepared && prepared.id === clip.id && prepared.audio === clip.audio && prepared.isBlob) return;
    var gen = generation;
    var source = await sourceFor(clip);
    var again = following();  // the world may have moved while the cache answered
    var still = again.index >= 0 ? clipsOf(again.manifest)[again.index] : null;
    if (gen !== generation || !still || still.id !== clip.id || still.audio !== clip.audio) {
      if (source.isBlob) URL.revokeObjectURL(source.url);
      return;
    }
    setSource(next, source);
    prepared = {id: clip.id, audio: clip.audio, isBlob: source.isBlob};
  }

  function begin(gen) {
    var clips = clipsOf(manifest);
    if (!isOpen(manifest, new Date())) {
      stopAudio();
      show("idle");
      return;
    }
    if (!clips.length) {
      stopAudio();
      show("empty");
      return;
    }
    var saved = load(KEYS.position);
    var at = 0, offset = 0;
    if (saved) {
      var found = clips.findIndex(function (c) { return c.id === saved.clipId; });
      if (found >= 0) {
        at = found;
        offset = Math.max(0, (saved.time || 0) - 0.5);  // half a second back: the word cut off
        if (clips[found].duration && offset > clips[found].duration - 1) { at = (found + 1) % clips.length; offset = 0; }
      }
    }
    startClip(at, offset, gen);
  }

  async function startClip(at, offset, gen) {
    var clips = clipsOf(manifest);
    var clip = clips[at];
    index = at;
    currentClip = clip;
    startedClip = false;
    countsAsPlay = offset < 1;
    showClip(clip);
    if (body.dataset.screen !== "touch") show("player");
    if (prepared && prepared.id === clip.id && prepared.audio === clip.audio
        && (prepared.isBlob || navigator.onLine) && next.getAttribute("src")) {
      var was = current;
      current = next;
      next = was;
      prepared = null;
    } else {
      var source = await sourceFor(clip);
      if (gen !== generation || currentClip !== clip) {
        if (source.isBlob) URL.revokeObjectURL(source.url);
        return;
      }
      setSource(current, source);
    }
    current.dataset.role = "current";
    next.dataset.role = "next";
    if (offset > 0) current.currentTime = offset;
    savePosition(true);
    go();
    prepareNext();
  }

  // play(), or the touch overlay if the browser refuses to play without a gesture.
  function go() {
    var element = current;
    var p = element.play();
    if (!p) return;
    p.catch(function (error) {
      if (element !== current) return;
      if (error && error.name === "NotAllowedError") waitForTouch();
      // AbortError (the source changed) or a media error: the "error" event handles those.
    });
  }

  function waitForTouch() {
    show("touch");
    var start = function () {
      ["pointerdown", "keydown", "click", "touchstart"].forEach(function (type) {
        document.removeEventListener(type, start, true);
      });
      if (body.dataset.screen === "touch") show("player");
      go();
    };
    ["pointerdown", "keydown", "click", "touchstart"].forEach(function (type) {
      document.addEventListener(type, start, true);
    });
  }

  // A short crossfade between clips: the new clip's words fade in (kiosk.css, .is-fading), restarted
  // on each clip; the sound is not delayed.
  function fade() {
    playerEl.classList.remove("is-fading");
    void playerEl.offsetWidth;  // a reflow, so that the animation starts again
    playerEl.classList.add("is-fading");
  }

  function showClip(clip) {
    fade();
    playerEl.dataset.clipId = String(clip.id);
    playerEl.dataset.sentiment = clip.sentiment || "";
    var sentiment = $("sentiment");
    sentiment.dataset.sentiment = clip.sentiment || "";
    var fallback = clip.sentiment === "satisfied" ? body.dataset.labelSatisfied
      : clip.sentiment === "unhappy" ? body.dataset.labelUnhappy : "";
    $("sentiment-label").textContent = clip.sentiment_label || fallback || "";
    $("clip-title").textContent = clip.title || "";
    showImage($("react-qr"), clip.qr || "");
    $("clip-product").textContent = clip.product || "";
    $("clip-topic").textContent = clip.topic || "";
    captionEl.textContent = "";
    progressEl.value = 0;
  }

  function stopAudio() {
    currentClip = null;
    index = -1;
    prepared = null;
    [current, next].forEach(function (element) { element.pause(); setSource(element, null); });
    captionEl.textContent = "";
    playerEl.dataset.clipId = "";
    playerEl.dataset.sentiment = "";
  }

  // The line being said, or the last one said (kept until the next starts).
  function renderCaption() {
    if (!currentClip) return;
    var t = current.currentTime, lines = currentClip.captions, line = "";
    for (var i = 0; i < lines.length && lines[i].start <= t; i++) line = lines[i].text;
    if (captionEl.textContent !== line) captionEl.textContent = line;
    var duration = current.duration || currentClip.duration || 0;
    progressEl.value = duration > 0 && isFinite(duration) ? Math.min(1, t / duration) : 0;
  }

  function frame() {
    if (currentClip && !current.paused) renderCaption();
    requestAnimationFrame(frame);
  }

  function savePosition(force) {
    if (!currentClip) return;
    var now = Date.now();
    if (!force && now - savedAt < 1000) return;
    savedAt = now;
    save(KEYS.position, {clipId: currentClip.id, time: current.currentTime || 0});
  }

  // Written complaints' cards (issue #16, item 7): those after the voice that just ended are shown,
  // one by one, each for its own time, before the next voice. They come with the manifest, so they
  // show offline too.
  var cardTimer = null;

  function cardsAfter(m, clipId) {
    var cards = m && Array.isArray(m.cards) ? m.cards : [];
    return cards.filter(function (card) { return card.after === clipId && card.text; });
  }

  function showCards(cards, gen, done) {
    if (!cards.length || gen !== generation || !isOpen(newest(), new Date())) { done(); return; }
    var card = cards[0];
    endedAt = null;  // the pause is the card's, not a gap between voices
    $("card-text").textContent = card.text;
    $("card").dataset.cardId = card.id;
    show("card");
    clearTimeout(cardTimer);
    cardTimer = setTimeout(function () {
      if (gen !== generation) return;
      showCards(cards.slice(1), gen, done);
    }, Math.max(1, card.seconds || 6) * 1000);
  }

  function advance() {
    var ended = currentClip;
    var cards = ended ? cardsAfter(manifest, ended.id) : [];
    if (cards.length) {
      var gen = generation;
      showCards(cards, gen, function () { if (gen === generation && currentClip === ended) nextVoice(); });
      return;
    }
    nextVoice();
  }

  function nextVoice() {
    var gen = generation;
    var then = following();
    if (then.manifest !== manifest) {
      manifest = then.manifest;
      pending = null;
      observed.version = versionOf(manifest);
    }
    if (then.index < 0) { stopAudio(); show("empty"); return; }
    if (!isOpen(manifest, new Date())) { save(KEYS.position, null); stopAudio(); show("idle"); return; }
    if (updateReady) {
      save(KEYS.position, {clipId: clipsOf(manifest)[then.index].id, time: 0});
      location.reload();
      return;
    }
    startClip(then.index, 0, gen);
  }

  [current, next].forEach(function (element) {
    element.addEventListener("playing", function () {
      if (element !== current || !currentClip) return;
      failures = 0;
      if (observed.firstAudioMs === null) observed.firstAudioMs = performance.now();
      if (endedAt !== null) { remember(observed.gaps, Math.round(performance.now() - endedAt)); endedAt = null; }
      if (!startedClip) {
        startedClip = true;
        if (countsAsPlay) queuePlay(currentClip);
      }
    });
    element.addEventListener("timeupdate", function () {
      if (element !== current) return;
      renderCaption();
      savePosition(false);
    });
    element.addEventListener("ended", function () {
      if (element !== current) return;
      endedAt = performance.now();
      captionEl.textContent = "";
      save(KEYS.position, null);
      advance();
    });
    element.addEventListener("error", function () {
      if (element !== current) {
        prepared = null;  // the next clip will be loaded again when its turn comes
        return;
      }
      if (!currentClip) return;
      // This clip cannot be played (not cached and no network, or unreadable): the next one.
      failures += 1;
      var clips = clipsOf(manifest).length || 1;
      var gen = generation;
      endedAt = null;
      setTimeout(function () { if (gen === generation && currentClip) advance(); },
                 failures >= clips ? RETRY_MS : 300);
    });
  });

  // --- start -----------------------------------------------------------------------------

  // Paired: play from what we have, sync, say we are alive, and keep doing so.
  async function run(gen) {
    if (!newest()) { show("waiting"); $("waiting-text").textContent = text("starting"); }
    await sync(gen);
    if (gen !== generation) return;
    heartbeat(gen);
    schedulePoll(gen);
    scheduleHeartbeat(gen);
  }

  window.addEventListener("online", function () {
    var gen = generation;
    if (!load(KEYS.paired)) return;  // pairing polls by itself
    sync(gen).then(function () { if (gen === generation) { heartbeat(gen); schedulePoll(gen); } });
  });
  window.addEventListener("offline", function () { setOnline(false); });
  window.addEventListener("pagehide", function () { savePosition(true); });

  // The screen must not sleep while it plays (where the browser lets us ask).
  function keepAwake() {
    if (!navigator.wakeLock || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").catch(function () { /* refused: the launcher disables blanking */ });
  }
  document.addEventListener("visibilitychange", keepAwake);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/kiosk/sw.js", {scope: "/kiosk/"}).catch(function () {
      /* not a secure context, or the worker failed to install: the page still plays online */
    });
  }

  setOnline(navigator.onLine);
  keepAwake();
  requestAnimationFrame(frame);
  setInterval(checkSchedule, SCHEDULE_CHECK_MS);
  if (load(KEYS.paired)) run(generation);
  else pair(generation);
})();
