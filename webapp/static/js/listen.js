// A person's own listening page (pages/room/index.html, issue #16): plays the room's playlist on
// their device with captions and each clip's context, and reports the seconds the audio element
// really played (from "timeupdate" and "ended", never from page loads) in small batches to
// data-played-url. The server caps every report and answers the person's new total.
(function () {
  "use strict";
  var section = document.getElementById("listen");
  var audio = document.getElementById("listen-audio");
  if (!section || !audio) return;
  var tracks = JSON.parse(section.getAttribute("data-tracks") || "[]");
  if (!tracks.length) return;
  var url = section.getAttribute("data-played-url");
  var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  headers["Content-Type"] = "application/json";
  var BATCH_S = 10;  // report every 10 s of playback, and on pause, end and leaving the page
  var $ = function (id) { return document.getElementById(id); };
  var index = 0, play = "", lastTime = null, pending = 0;

  tracks.forEach(function (t) {
    t.captions = (Array.isArray(t.captions) ? t.captions.slice() : []).sort(function (a, b) { return a.start - b.start; });
  });

  function newPlay() { play = Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

  function report() {
    var seconds = Math.round(pending * 100) / 100;
    if (seconds <= 0) return;
    pending = 0;
    fetch(url, {method: "POST", headers: headers, credentials: "same-origin", keepalive: true,
                body: JSON.stringify({clip_id: tracks[index].id, seconds: seconds, play: play})})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        var total = $("listen-total");
        total.textContent = data.label;
        total.setAttribute("data-seconds", data.seconds);
      })
      .catch(function () { /* offline: these seconds are lost, never counted twice */ });
  }

  function show(i) {
    var t = tracks[i];
    $("listen-clip-title").textContent = t.title;
    $("listen-topic").textContent = t.topic ? audio.getAttribute("data-topic-label").replace("%s", t.topic) : "";
    $("listen-product").textContent = t.product ? audio.getAttribute("data-product-label").replace("%s", t.product) : "";
    $("listen-caption").textContent = "";
  }

  function select(i, start) {
    report();
    index = (i + tracks.length) % tracks.length;
    audio.src = tracks[index].audio;
    audio.setAttribute("data-clip-id", tracks[index].id);
    lastTime = null;
    newPlay();
    show(index);
    if (start) audio.play().catch(function () { /* the person presses play */ });
  }

  audio.addEventListener("play", function () {
    if (!play || audio.currentTime < 0.05) newPlay();
    lastTime = audio.currentTime;
  });
  audio.addEventListener("seeking", function () { lastTime = null; });
  audio.addEventListener("seeked", function () { lastTime = audio.currentTime; });
  audio.addEventListener("timeupdate", function () {
    var t = audio.currentTime;
    if (!audio.paused && lastTime !== null && t > lastTime && t - lastTime < 2) pending += t - lastTime;
    lastTime = t;
    var lines = tracks[index].captions, line = "";
    for (var k = 0; k < lines.length && lines[k].start <= t; k++) line = lines[k].text;
    var caption = $("listen-caption");
    if (caption.textContent !== line) caption.textContent = line;
    if (pending >= BATCH_S) report();
  });
  audio.addEventListener("pause", report);
  audio.addEventListener("ended", function () {
    if (lastTime !== null && audio.duration > lastTime) pending += audio.duration - lastTime;
    report();
    select(index + 1, true);
  });
  window.addEventListener("pagehide", report);
  section.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-track]") : null;
    if (button) select(parseInt(button.getAttribute("data-track"), 10), true);
  });
})();
