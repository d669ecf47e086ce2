// The kiosk's service worker (scope /kiosk/): the screen starts and plays without a network.
//
// - The page (/kiosk/) and the manifest: network first, the cached copy when the server cannot
//   be reached (answered with an X-Ecoute-From-Cache header, so the page shows "offline").
// - player.js and kiosk.css: cache first (their URLs carry a content hash).
// - Clips (/kiosk/media/<id>-<sha256>.webm): cache first by URL (the name holds the content
//   hash, so it never changes). The Cache API holds whole 200 responses only; a Range request
//   of the media element is answered by slicing the cached body into a 206.
// - Everything else (pairing, heartbeat, the QR code) goes to the network untouched.
//
// player.js fills the cache after each manifest sync and deletes the clips that left the
// manifest; it also plays cached clips from Blob URLs, so this worker's Range answers are the
// second line, for a clip the page asked for by URL.
"use strict";

var CACHE = "ecoute-kiosk-v1";
var SHELL_URL = "/kiosk/";
var MANIFEST_URL = "/kiosk/manifest.json";
// How long the page or the manifest may take before the cached copy is used instead (ms).
var NETWORK_TIMEOUT_MS = 6000;

self.addEventListener("install", function (event) {
  event.waitUntil(precache().catch(function () {
    // Offline at install: the page fills the cache itself at its next sync.
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// The page, then the script and style it names (their URLs carry a version: read them from it).
function precache() {
  return caches.open(CACHE).then(function (cache) {
    return fetch(SHELL_URL, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (!response.ok) throw new Error("the kiosk page answered " + response.status);
      return response.clone().text().then(function (html) {
        var assets = [], found, pattern = /(?:src|href)="(\/kiosk\/[^"?]+\.(?:js|css)\?[^"]*)"/g;
        while ((found = pattern.exec(html))) assets.push(found[1].replace(/&amp;/g, "&"));
        return cache.put(SHELL_URL, response).then(function () { return cache.addAll(assets); });
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/kiosk/") !== 0) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, SHELL_URL));
  } else if (url.pathname === MANIFEST_URL) {
    event.respondWith(networkFirst(request, MANIFEST_URL));
  } else if (url.pathname.indexOf("/kiosk/look/") === 0 || url.pathname.indexOf("/kiosk/qr/") === 0) {
    event.respondWith(cacheFirst(request));  // the logo (its name holds its hash) and the QR codes
  } else if (url.pathname.indexOf("/kiosk/media/") === 0) {
    event.respondWith(media(request));
  } else if (url.pathname === "/kiosk/player.js" || url.pathname === "/kiosk/kiosk.css") {
    event.respondWith(cacheFirst(request));
  }
});

// The network's answer (kept in the cache when it is a 200), or the cached copy when the network
// fails or takes too long. A 304 or a 401 goes to the page as it is: the page knows what to do.
function networkFirst(request, key) {
  var fromNetwork = fetch(request).then(function (response) {
    if (response.status === 200) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(key, copy); }).catch(function () {});
    }
    return response;
  });
  var late = new Promise(function (resolve) { setTimeout(resolve, NETWORK_TIMEOUT_MS); });
  return Promise.race([fromNetwork, late]).then(function (response) {
    return response || cached(key).then(function (copy) { return copy || fromNetwork; });
  }, function () {
    return cached(key).then(function (copy) {
      if (copy) return copy;
      return fromNetwork;  // nothing cached: the page sees the network error
    });
  });
}

function cached(key) {
  return caches.open(CACHE).then(function (cache) { return cache.match(key); }).then(function (hit) {
    if (!hit) return null;
    var headers = new Headers(hit.headers);
    headers.set("X-Ecoute-From-Cache", "1");
    return hit.blob().then(function (body) {
      return new Response(body, {status: hit.status, statusText: hit.statusText, headers: headers});
    });
  });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.status === 200) cache.put(request, response.clone()).catch(function () {});
        return response;
      });
    });
  });
}

// A clip: from the cache, sliced when the media element asks for a range; else the network,
// untouched (a 206 from the network cannot be cached; the page stores whole clips itself).
function media(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request.url);
  }).then(function (hit) {
    if (!hit) return fetch(request);
    var range = request.headers.get("Range");
    return range ? slice(hit, range) : hit;
  });
}

// "bytes=a-b", "bytes=a-" or "bytes=-n" (one range: what media elements ask for).
function slice(response, range) {
  return response.arrayBuffer().then(function (bytes) {
    var total = bytes.byteLength;
    var type = response.headers.get("Content-Type") || "audio/webm";
    var m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    var start, end;
    if (m && m[1] !== "") {
      start = parseInt(m[1], 10);
      end = m[2] !== "" ? Math.min(parseInt(m[2], 10), total - 1) : total - 1;
    } else if (m && m[2] !== "") {
      start = Math.max(0, total - parseInt(m[2], 10));
      end = total - 1;
    }
    if (start === undefined) {  // not a range we understand: the whole body
      return new Response(bytes, {status: 200, headers: {"Content-Type": type, "Content-Length": String(total),
                                                          "Accept-Ranges": "bytes"}});
    }
    if (start >= total || end < start) {
      return new Response(null, {status: 416, statusText: "Range Not Satisfiable",
                                 headers: {"Content-Range": "bytes */" + total}});
    }
    return new Response(bytes.slice(start, end + 1), {
      status: 206,
      statusText: "Partial Content",
      headers: {
        "Content-Type": type,
        "Content-Range": "bytes " + start + "-" + end + "/" + total,
        "Content-Length": String(end - start + 1),
        "Accept-Ranges": "bytes"
      }
    });
  });
}
