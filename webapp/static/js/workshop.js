// The facilitator screen of a listening workshop (pages/workshops/run.html, issue #16, item 5):
// plays the playlist clip by clip with data-pause seconds between clips (a countdown, then the next
// clip starts by itself), shows the captions, and tells the server which clip is on (data-position-url)
// so that the participants' phones show it. Buttons are real <button>s: keyboard users play, pause
// and move between clips with Tab, Enter and Space.
(function () {
  "use strict";
  var stage = document.getElementById("workshop-stage");
  var audio = document.getElementById("stage-audio");
  if (!stage || !audio) return;
  var tracks = JSON.parse(stage.getAttribute("data-tracks") || "[]");
  if (!tracks.length) return;
  var pause = parseInt(stage.getAttribute("data-pause"), 10) || 0;
  var url = stage.getAttribute("data-position-url");
  var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  headers["Content-Type"] = "application/json";
  var $ = function (id) { return document.getElementById(id); };
  var index = Math.min(parseInt(stage.getAttribute("data-start"), 10) || 0, tracks.length - 1);
  var timer = null, left = 0;
  var playButton = $("stage-play");
  var playLabel = playButton.textContent;
  var pauseLabel = playButton.getAttribute("data-pause-label") || "";

  function say(text) { $("stage-status").textContent = text; }

  function tell(i) {
    fetch(url, {method: "POST", headers: headers, credentials: "same-origin",
                body: JSON.stringify({position: i})}).catch(function () { /* the phones catch up on the next clip */ });
  }

  function stopCountdown() {
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  function show(i) {
    var t = tracks[i];
    $("stage-count").textContent = stage.getAttribute("data-count-label")
      .replace("{num}", String(i + 1)).replace("{total}", String(tracks.length));
    $("stage-clip-title").textContent = t.title;
    $("stage-caption").textContent = "";
    var decision = $("decision-clip");
    if (decision && !decision.getAttribute("data-touched")) decision.value = String(t.id);
  }

  function select(i, start) {
    stopCountdown();
    if (i < 0 || i >= tracks.length) return;
    index = i;
    audio.src = tracks[i].audio;
    show(i);
    say("");
    tell(i);
    if (start) audio.play().catch(function () { /* the facilitator presses play */ });
  }

  function countdown() {
    if (index + 1 >= tracks.length) { say(stage.getAttribute("data-done-label")); return; }
    left = pause;
    var tick = function () {
      if (left <= 0) { select(index + 1, true); return; }
      say(stage.getAttribute("data-pause-label").replace("%s", String(left)));
      left -= 1;
    };
    tick();
    if (timer === null && left >= 0) timer = setInterval(tick, 1000);
  }

  playButton.addEventListener("click", function () {
    if (timer !== null) { select(index + 1, true); return; }  // skip the rest of the pause
    if (audio.paused) {
      if (!audio.getAttribute("src")) audio.src = tracks[index].audio;
      audio.play().catch(function () { /* nothing to do: the controls stay */ });
    } else {
      audio.pause();
    }
  });
  $("stage-next").addEventListener("click", function () { select(Math.min(index + 1, tracks.length - 1), true); });
  $("stage-previous").addEventListener("click", function () { select(Math.max(index - 1, 0), true); });
  audio.addEventListener("play", function () { stopCountdown(); say(""); playButton.textContent = pauseLabel || playLabel; });
  audio.addEventListener("pause", function () { playButton.textContent = playLabel; });
  audio.addEventListener("timeupdate", function () {
    var t = audio.currentTime, lines = tracks[index].captions || [], line = "";
    for (var k = 0; k < lines.length && lines[k].start <= t; k++) line = lines[k].text;
    var caption = $("stage-caption");
    if (caption.textContent !== line) caption.textContent = line;
  });
  audio.addEventListener("ended", function () { playButton.textContent = playLabel; countdown(); });
  var decision = $("decision-clip");
  if (decision) decision.addEventListener("change", function () { decision.setAttribute("data-touched", "1"); });
  show(index);
})();
