// Écoute: the one place where htmx is configured (see base.html's htmx-config meta tag).
// Errors answered by the server are rendered as a flash message and retargeted to #flash;
// a network failure gets a message here.
document.addEventListener("htmx:sendError", function () {
  var flash = document.getElementById("flash");
  if (!flash) return;
  var p = document.createElement("p");
  p.className = "flash flash-error";
  p.setAttribute("role", "alert");
  p.textContent = document.documentElement.lang === "fr"
    ? "Le serveur ne répond pas. Vérifiez la connexion et réessayez."
    : "The server does not answer. Check the connection and try again.";
  flash.replaceChildren(p);
});

// A new action replaces the messages of the previous one.
document.addEventListener("htmx:beforeRequest", function () {
  var flash = document.getElementById("flash");
  if (flash) flash.replaceChildren();
});

// A listen is journalled when playback really starts, never when a page merely loads its audio
// (browsers preload it). An <audio data-listen-url> posts there on "play" (issue #13); the server
// keeps one listen per person and recording per 30 minutes, and so does this page.
var LISTEN_WINDOW_MS = 30 * 60 * 1000;
document.addEventListener("play", function (event) {
  var audio = event.target;
  var url = audio && audio.getAttribute ? audio.getAttribute("data-listen-url") : null;
  if (!url) return;
  var now = Date.now();
  if (audio.listenPostedAt && now - audio.listenPostedAt < LISTEN_WINDOW_MS) return;
  audio.listenPostedAt = now;
  var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  fetch(url, {method: "POST", headers: headers, credentials: "same-origin", keepalive: true})
    .then(function (response) { if (!response.ok) audio.listenPostedAt = 0; })
    .catch(function () { audio.listenPostedAt = 0; });
}, true);  // "play" does not bubble: listen while it goes down to the element
