// The home screen's few behaviours: Telegram's theme and sign-in, commands from buttons and forms, charts.
(function () {
  "use strict";
  var launch = new URLSearchParams(location.hash.slice(1));
  var theme = launch.get("tgWebAppThemeParams");
  if (theme) {
    try {
      var params = JSON.parse(theme), root = document.documentElement;
      Object.keys(params).forEach(function (k) { root.style.setProperty("--tg-theme-" + k.replace(/_/g, "-"), params[k]); });
      root.classList.add("tg");
    } catch (e) { /* a theme we cannot read: the page's own colours stay */ }
  }
  if (launch.get("tgWebAppData") || theme) {  // inside Telegram: the page is ready (no telegram-web-app.js needed)
    var ready = JSON.stringify({ eventType: "web_app_ready", eventData: "" });
    if (window.TelegramWebviewProxy) { window.TelegramWebviewProxy.postEvent("web_app_ready", ""); }
    else if (window.parent !== window) { window.parent.postMessage(ready, "https://web.telegram.org"); }
  }
  var csrf = document.querySelector('meta[name="csrf"]');
  var message = document.getElementById("signin-message");
  if (!csrf) {
    var initData = launch.get("tgWebAppData");
    if (initData && message) {
      message.textContent = message.dataset.wait;
      post("api/telegram", { initData: initData }).then(function (r) {
        if (r.ok) { location.reload(); } else { r.json().then(function (b) { message.textContent = b.error; }); }
      });
    }
    return;
  }
  var dialog = document.getElementById("dialog"), replies = document.getElementById("replies");

  function post(path, body) {
    var headers = { "Content-Type": "application/json" };
    if (csrf) { headers["X-CSRF-Token"] = csrf.content; }
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin" });
  }

  function show(answer) {
    replies.textContent = "";
    (answer.replies || [{ text: answer.error || document.getElementById("failed").textContent, choices: [] }]).forEach(function (reply) {
      var p = document.createElement("p");
      p.textContent = reply.text;
      replies.appendChild(p);
      if (!reply.choices.length) { return; }
      var box = document.createElement("div");
      box.className = "choices";
      reply.choices.forEach(function (choice) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = choice.label;
        b.dataset.cmd = choice.command;
        b.className = "choice-" + (choice.kind || "plain");
        box.appendChild(b);
      });
      replies.appendChild(box);
    });
    dialog.hidden = false;
    var first = replies.querySelector("button") || document.getElementById("close");
    first.focus();
  }

  function run(command) {
    return post("api/do", { command: command })
      .then(function (r) { return r.json(); })
      .then(show, function () { show({}); });
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("button");
    if (!el) { return; }
    if (el.dataset.cmd) { run(el.dataset.cmd); }
    if (el.dataset.chart) {
      var img = el.closest(".card").querySelector("img.chart");
      if (!img.src) { img.src = "api/chart?line=" + encodeURIComponent(el.dataset.chart); }
      img.hidden = !img.hidden;
    }
    if (el.id === "close") { location.reload(); }
  });

  document.addEventListener("change", function (ev) {  // a line picked: its own current value to edit
    var picker = ev.target;
    if (picker.name !== "line") { return; }
    picker.form.elements.value.value = picker.selectedOptions[0].dataset.value;
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    ev.preventDefault();
    var line = form.elements.line ? form.elements.line.value : "";
    var parts = [form.dataset.cmd, line, form.dataset.key, form.elements.value.value.trim()];
    run(parts.filter(function (x) { return x; }).join(" "));
  });
})();
