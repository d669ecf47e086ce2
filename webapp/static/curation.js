// Call page, for the quality team: the call's waveform and the choice of a clip's moment.
//
// The waveform (wavesurfer.js, vendored by bin/setup) plays through the page's own <audio id="player">
// and is drawn from the peaks the worker computed (GET /calls/<id>/peaks.json): the browser never
// downloads the whole call to decode it. One region marks the clip: drag across the waveform to make
// it (it replaces the previous one), drag its edges to adjust it, or select words of the transcript.
// The region and the form's start/end inputs follow each other; typing times moves the region.
// Without this script the form still works: the start and end are typed in seconds.
// The transcript and the form may be replaced by htmx (processing ends, a clip is saved), so
// elements are looked up when needed and events are delegated.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) return;
  var REGION_COLOR = "rgba(11, 92, 173, 0.22)";
  var wavesurfer = null, regions = null, box = null, stopAt = null, typing = false;

  function field(name) { return document.getElementById("clip-" + name); }

  function number(input) {
    if (!input || input.value.trim() === "") return NaN;
    return parseFloat(input.value);
  }

  function typedRange() {
    var start = number(field("start")), end = number(field("end"));
    return isFinite(start) && isFinite(end) && end > start ? { start: start, end: end } : null;
  }

  function currentRegion() {
    var all = regions ? regions.getRegions() : [];
    return all.length ? all[all.length - 1] : null;
  }

  // The words said within [start, end] are marked in the transcript.
  function markWords(range) {
    var words = document.querySelectorAll("#transcript .word");
    for (var i = 0; i < words.length; i++) {
      var s = parseFloat(words[i].getAttribute("data-start")), e = parseFloat(words[i].getAttribute("data-end"));
      words[i].classList.toggle("in-clip", !!range && s >= range.start - 0.01 && e <= range.end + 0.01);
    }
  }

  function writeInputs(start, end) {
    var a = field("start"), b = field("end");
    if (!a || !b) return;
    a.value = Math.max(0, start).toFixed(2);
    b.value = Math.max(0, end).toFixed(2);
    markWords({ start: start, end: end });
  }

  // Make the region show [start, end], creating it if needed (the inputs are left as they are).
  function showRegion(range) {
    markWords(range);
    if (!regions) return;
    var region = currentRegion();
    if (!range) {
      regions.clearRegions();
      return;
    }
    if (region) {
      region.setOptions({ start: range.start, end: range.end });
    } else {
      typing = true;  // the inputs already say it: "region-created" must not rewrite what is being typed
      regions.addRegion({ start: range.start, end: range.end, color: REGION_COLOR, drag: true, resize: true });
    }
  }

  function choose(start, end) {
    writeInputs(start, end);
    showRegion({ start: start, end: end });
  }

  function onlyRegion(kept) {
    regions.getRegions().slice().forEach(function (r) { if (r !== kept) r.remove(); });
  }

  function setUp() {
    var element = document.getElementById("waveform");
    if (!element || element === box) return;
    box = element;
    if (wavesurfer) { wavesurfer.destroy(); wavesurfer = null; regions = null; }
    if (!window.WaveSurfer || !window.WaveSurfer.Regions) { element.classList.add("unavailable"); return; }
    fetch(element.getAttribute("data-peaks-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("peaks: " + response.status);
        return response.json();
      })
      .then(function (doc) {
        if (box !== element) return;  // the page moved on meanwhile
        var duration = parseFloat(element.getAttribute("data-duration")) || doc.peaks.length * doc.seconds_per_peak;
        wavesurfer = window.WaveSurfer.create({
          container: element, media: player, peaks: [doc.peaks], duration: duration, height: 96,
          waveColor: "#9aa7bd", progressColor: "#0b5cad", cursorColor: "#1d2330", barWidth: 2, barGap: 1,
          barRadius: 1, normalize: true, cspNonce: player.getAttribute("data-style-nonce") || undefined
        });
        regions = wavesurfer.registerPlugin(window.WaveSurfer.Regions.create());
        regions.enableDragSelection({ color: REGION_COLOR });
        regions.on("region-created", function (region) {
          onlyRegion(region);
          if (!typing) writeInputs(region.start, region.end);
          typing = false;
        });
        regions.on("region-update", function (region) { writeInputs(region.start, region.end); });
        regions.on("region-updated", function (region) { writeInputs(region.start, region.end); });
        wavesurfer.on("ready", function () { showRegion(typedRange()); });
        element.setAttribute("data-ready", "true");
      })
      .catch(function () { element.classList.add("unavailable"); });
  }

  // Words selected in the transcript choose the clip: the first selected word's start, the last one's end.
  // A word is a button, and a browser starts no text selection on a button: a drag that starts on a
  // word makes the selection itself, word to word (a real Selection, read back like any other).
  // Shift-click extends from the word clicked before, for those who prefer clicks.
  var anchor = null, lastClicked = null, pressedInTranscript = false;

  function wordAt(target) {
    return target && target.closest ? target.closest("#transcript .word") : null;
  }

  function selectWords(a, b) {
    var forward = a === b || (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
    var first = forward ? a : b, last = forward ? b : a;
    var selection = window.getSelection();
    selection.setBaseAndExtent(first.firstChild || first, 0, last.lastChild || last,
                               last.lastChild ? last.lastChild.length || 0 : 0);
    markWords({ start: parseFloat(first.getAttribute("data-start")) || 0,
                end: parseFloat(last.getAttribute("data-end")) || 0 });
  }

  function fromSelection() {
    var selection = window.getSelection ? window.getSelection() : null;
    var transcript = document.getElementById("transcript");
    if (!selection || selection.isCollapsed || !selection.rangeCount || !transcript) return;
    if (!transcript.contains(selection.anchorNode) && !transcript.contains(selection.focusNode)) return;
    var words = transcript.querySelectorAll(".word"), first = null, last = null;
    for (var i = 0; i < words.length; i++) {
      if (selection.containsNode(words[i], true)) {
        if (!first) first = words[i];
        last = words[i];
      }
    }
    if (!first) return;
    // Used up: the marked words show the choice now, and a later mouseup (a drag on the waveform)
    // must not bring this selection back.
    selection.removeAllRanges();
    choose(parseFloat(first.getAttribute("data-start")) || 0, parseFloat(last.getAttribute("data-end")) || 0);
  }

  document.addEventListener("mousedown", function (event) {
    // Only a selection made in the transcript counts: a drag on the waveform may select page text too.
    pressedInTranscript = !!(event.target.closest && event.target.closest("#transcript"));
    anchor = event.button === 0 ? wordAt(event.target) : null;
    if (anchor && !event.shiftKey) {
      event.preventDefault();  // no focus ring jump, no native drag of the button; a click still follows
      window.getSelection().removeAllRanges();
    }
  });
  document.addEventListener("mousemove", function (event) {
    if (!anchor || !(event.buttons & 1)) return;
    var word = wordAt(event.target);
    if (word && word !== anchor) selectWords(anchor, word);
  });
  document.addEventListener("mouseup", function () {
    anchor = null;
    if (pressedInTranscript) window.setTimeout(fromSelection, 0);
    pressedInTranscript = false;
  });
  document.addEventListener("click", function (event) {
    var word = wordAt(event.target);
    if (!word) return;
    if (event.shiftKey && lastClicked && lastClicked !== word && document.contains(lastClicked)) {
      selectWords(lastClicked, word);
      fromSelection();
    }
    lastClicked = word;
  });
  document.addEventListener("keyup", function (event) {
    if (event.shiftKey && wordAt(event.target)) fromSelection();
  });

  // Typed times move the region.
  document.addEventListener("input", function (event) {
    if (event.target === field("start") || event.target === field("end")) showRegion(typedRange());
  });

  // "Play selection": from the clip's start, stopping at its end.
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#clip-play")) return;
    var range = typedRange();
    if (!range) { if (field("start")) field("start").focus(); return; }
    if (wavesurfer) { wavesurfer.play(range.start, range.end); return; }
    stopAt = range.end;
    player.currentTime = range.start;
    player.play().catch(function () { stopAt = null; });
  });
  player.addEventListener("timeupdate", function () {
    if (stopAt !== null && player.currentTime >= stopAt) { stopAt = null; player.pause(); }
  });
  player.addEventListener("pause", function () { stopAt = null; });

  function refresh() {
    var play = document.getElementById("clip-play");
    if (play) play.hidden = false;
    setUp();
    showRegion(typedRange());
  }

  // After htmx swapped something: the analysis once processing ends, a new empty form after a save
  // (not the clips' status rows, polled every 2 s while one is being prepared).
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id !== "call-clip-rows") refresh();
  });
  refresh();
})();
