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
