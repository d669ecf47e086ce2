// Call page: a word of the transcript seeks the player to the moment it was said, and the
// word being heard is highlighted while the call plays. The transcript may arrive after the
// page (htmx loads it when processing ends), so everything is looked up when needed.
// Without this script the transcript is still there to read.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;
  var words = [], starts = [], list = null, current = null;

  function index() {
    var transcript = document.getElementById("transcript");
    if (transcript === list) return;
    list = transcript;
    words = transcript ? Array.prototype.slice.call(transcript.querySelectorAll(".word")) : [];
    starts = words.map(function (w) { return parseFloat(w.getAttribute("data-start")) || 0; });
    current = null;
  }

  document.addEventListener("click", function (event) {
    var word = event.target.closest ? event.target.closest("#transcript .word") : null;
    if (!word) return;
    player.currentTime = parseFloat(word.getAttribute("data-start")) || 0;
    if (player.paused) player.play().catch(function () { /* the browser may refuse: the seek stays */ });
  });

  function highlight() {
    index();
    var t = player.currentTime;
    // The last word that started at or before t (the words are in order within a speaker;
    // with two speakers the segments are sorted by start).
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    var word = null;
    if (found >= 0) {
      var end = parseFloat(words[found].getAttribute("data-end")) || starts[found];
      if (t <= end + 0.5) word = words[found];
    }
    if (word === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    current = word;
    if (current) { current.classList.add("current"); current.setAttribute("aria-current", "true"); }
  }

    // When processing ends, the call's audio becomes its loudness-normalised rendition: another file
  // behind the same address. Load it afresh (a new URL, so no byte range of the old file is reused).
  document.body.addEventListener("call-processed", function () {
    var src = player.getAttribute("src") || "";
    player.setAttribute("src", src.split("?")[0] + "?processed=1");
    player.load();
  });

  player.addEventListener("timeupdate", highlight);
  player.addEventListener("seeked", highlight);
})();
