/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  var root = document.documentElement;
  var stored = null;
  try { stored = localStorage.getItem("kaleem-theme"); } catch (e) { /* private mode */ }
  if (stored === "dark" || stored === "light") { root.setAttribute("data-theme", stored); }

  function currentTheme() {
    var t = root.getAttribute("data-theme");
    if (t) { return t; }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      var next = currentTheme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("kaleem-theme", next); } catch (e) { /* ignore */ }
      toggle.setAttribute("aria-pressed", next === "dark" ? "true" : "false");
      return;
    }
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var target = document.getElementById(copy.getAttribute("data-copy-target"));
      if (!target) { return; }
      var text = target.value !== undefined ? target.value : target.textContent;
      var done = function () {
        var label = copy.getAttribute("data-copied-label");
        if (label) { copy.textContent = label; }
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { target.select && target.select(); });
      } else if (target.select) {
        target.select(); document.execCommand("copy"); done();
      }
      return;
    }
    var canned = event.target.closest("[data-canned]");
    if (canned) {
      var box = document.getElementById(canned.getAttribute("data-canned-target") || "reply-text");
      if (box) { box.value = canned.getAttribute("data-canned"); box.focus(); }
    }
  });

  // Hand-off notifications: opt-in per browser; the inbox list fragment carries the waiting count.
  var NOTIFY_KEY = "kaleem-notify";
  function notifyEnabled() { try { return localStorage.getItem(NOTIFY_KEY) === "1"; } catch (e) { return false; } }
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-notify-toggle]")) { return; }
    var on = event.target.checked;
    try { localStorage.setItem(NOTIFY_KEY, on ? "1" : "0"); } catch (e) { /* ignore */ }
    if (on && window.Notification && Notification.permission === "default") { Notification.requestPermission(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-notify-toggle]");
    if (box) { box.checked = notifyEnabled(); }
    var themeButton = document.querySelector("[data-theme-toggle]");
    if (themeButton) { themeButton.setAttribute("aria-pressed", currentTheme() === "dark" ? "true" : "false"); }
  });
  // Live inbox (Server-Sent Events): the stream only says "changed"; htmx then re-fetches the list and
  // thread fragments (their hx-trigger listens for inbox-changed). While the stream is down,
  // window.kaleemInboxLive is false and the fragments fall back to polling.
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.querySelector("[data-inbox-events]");
    if (!holder || !window.EventSource) { return; }
    var source = new EventSource(holder.getAttribute("data-inbox-events"));
    var connectedBefore = false;
    function changed() { document.body.dispatchEvent(new CustomEvent("inbox-changed")); }
    source.addEventListener("ready", function () {
      window.kaleemInboxLive = true;
      if (connectedBefore) { changed(); }  // a reconnect may have missed an event: catch up once
      connectedBefore = true;
    });
    source.addEventListener("inbox", changed);
    source.onerror = function () { window.kaleemInboxLive = false; };
  });
  var lastWaiting = null;
  document.addEventListener("htmx:afterSwap", function (event) {
    var marker = event.target.querySelector && event.target.querySelector("[data-waiting-count]");
    if (!marker) { return; }
    var waiting = parseInt(marker.getAttribute("data-waiting-count"), 10) || 0;
    if (lastWaiting !== null && waiting > lastWaiting && notifyEnabled()) {
      if (window.Notification && Notification.permission === "granted") {
        new Notification(marker.getAttribute("data-notify-title") || "Kaleem");
      }
      try {
        var ctx = new (window.AudioContext || window.webkitAudioContext)();
        var osc = ctx.createOscillator(); osc.connect(ctx.destination); osc.frequency.value = 880;
        osc.start(); osc.stop(ctx.currentTime + 0.15);
      } catch (e) { /* no audio */ }
    }
    lastWaiting = waiting;
  });
})();
