// Upload page: drop or pick files, fill the metadata once, then each file is sent on its own
// request with a progress bar; a refused file shows the server's reason while the others go on.
// Without this script the form still works: every file goes in one request.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file");
  var list = document.getElementById("upload-list");
  if (!form || !zone || !input || !list) return;
  var pending = [];
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";

  function show(files) {
    pending = Array.prototype.slice.call(files);
    list.replaceChildren();
    pending.forEach(function (file) {
      var item = document.createElement("li");
      item.className = "upload-result waiting";
      var name = document.createElement("strong");
      name.className = "upload-name";
      name.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", file.name);
      item.append(name, bar);
      list.append(item);
      file.item = item;
      file.bar = bar;
    });
    input.required = pending.length === 0;
  }

  function send(file) {
    return new Promise(function (resolve) {
      var data = new FormData(form);
      data.delete("file");
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) file.bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var holder = document.createElement("ul");
        holder.innerHTML = xhr.responseText;  // our own server's escaped fragment
        var answer = holder.querySelector("li") || holder.querySelector("p");
        if (answer && answer.tagName === "LI") {
          file.item.replaceWith(answer);
          if (window.htmx) window.htmx.process(answer);  // its status polls until the call is processed
        } else {
          file.item.className = "upload-result refused";
          file.bar.remove();
          var msg = document.createElement("span");
          msg.className = "upload-message";
          msg.setAttribute("role", "alert");
          msg.textContent = answer ? answer.textContent : xhr.status + " " + xhr.statusText;
          file.item.append(msg);
        }
        resolve();
      });
      xhr.addEventListener("error", function () {
        file.item.className = "upload-result refused";
        file.bar.remove();
        var msg = document.createElement("span");
        msg.className = "upload-message";
        msg.setAttribute("role", "alert");
        msg.textContent = document.documentElement.lang === "fr"
          ? "Le serveur ne répond pas. Rien n'a été gardé\u00a0: réessayez."
          : "The server does not answer. Nothing was kept: try again.";
        file.item.append(msg);
        resolve();
      });
      xhr.send(data);
    });
  }

  input.addEventListener("change", function () { show(input.files); });
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) show(event.dataTransfer.files);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!pending.length) { input.reportValidity(); return; }
    var files = pending;
    pending = [];
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    // Two at a time: parallel enough to fill the link, gentle on the server.
    var queue = files.slice();
    function next() { var f = queue.shift(); return f ? send(f).then(next) : Promise.resolve(); }
    Promise.all([next(), next()]).then(function () {
      button.disabled = false;
      input.value = "";
      input.required = true;
    });
  });
})();
