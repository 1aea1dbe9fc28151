/* Draft autosave (mailboxes/views/compose.py draft_autosave): a compose form holding
   [data-autosave] saves itself a couple of seconds after typing stops (at the latest every
   eight seconds while typing goes on) and when the page is left (sendBeacon). Files are not
   part of autosave; the buttons still send them.

   Each save carries the draft's version the page last saw and this page's id: a save from
   another tab in between is refused (409) and the page says so, offering to load the saved
   draft or to keep this version (saved over the other one on purpose).

   The editor (static/js/compose.js) keeps the form's body fields in sync and tells the form
   with an input event on every change. */
(function () {
  "use strict";

  var DELAY = 2000;
  var MAX_WAIT = 8000;
  var IGNORED = ["csrfmiddlewaretoken", "draft_version", "draft_writer", "action"];

  function pageId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return String(Math.random()).slice(2) + String(Date.now());
  }

  function setUp(form) {
    var box = form.querySelector("[data-autosave]");
    if (!box || form.dataset.autosaveReady) return;
    form.dataset.autosaveReady = "1";
    var version = form.querySelector("input[name=draft_version]");
    var writer = form.querySelector("input[name=draft_writer]");
    var status = box.querySelector("[data-autosave-status]");
    var conflict = box.querySelector("[data-autosave-conflict]");
    var url = box.dataset.autosaveUrl;
    var draftUrl = "";
    var dirty = false, timer = null, firstDirtyAt = 0, inflight = null;
    var submitting = false, blocked = false, serverVersion = null;
    writer.value = pageId();

    function payload() {
      var data = new FormData(form);
      form.querySelectorAll("input[type=file]").forEach(function (input) {
        if (input.name) data.delete(input.name);
      });
      data.delete("action");
      return data;
    }

    function say(text, state) {
      status.textContent = text || "";
      status.dataset.state = state || "";
    }

    function handle(code, body) {
      if (code === 200 && body.saved) {
        version.value = body.version;
        if (body.autosave_url) url = body.autosave_url;
        draftUrl = body.url || draftUrl;
        if (box.dataset.replaceUrl && body.url && window.location.pathname !== body.url) {
          window.history.replaceState(window.history.state, "", body.url + window.location.search);
        }
        say(body.message, "saved");
      } else if (code === 409 && body.conflict) {
        blocked = true;
        serverVersion = body.version;
        conflict.hidden = false;
        say("");
      } else if (code === 409) {
        blocked = true;
        say(body.message, "error");
      } else {
        dirty = true;
        say(box.dataset.failed, "error");
      }
    }

    function save() {
      timer = null;
      if (!dirty || submitting || blocked) return Promise.resolve();
      if (inflight) return inflight.then(save);
      dirty = false;
      firstDirtyAt = 0;
      saved = fingerprint();
      say(box.dataset.saving);
      inflight = fetch(url, {
        method: "POST",
        body: payload(),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          handle(response.status, body);
        });
      }).catch(function () {
        dirty = true;
        say(box.dataset.failed, "error");
      }).then(function () { inflight = null; });
      return inflight;
    }

    /* What a save would store, to tell a change from an event that changed nothing: the
       editor settles its HTML (and adds the signature) after the page loads, and that is no
       edit of the user's; saving it would make a draft open in another tab look stale. */
    function fingerprint() {
      var parts = [];
      new FormData(form).forEach(function (value, key) {
        if (typeof value !== "string" || IGNORED.indexOf(key) >= 0) return;
        parts.push(key + "=" + value);
      });
      return parts.join("\u0000");
    }
    var saved = fingerprint();
    var touched = false;  // by the user: a key, a click, a paste or a drop in the form
    ["keydown", "mousedown", "paste", "drop"].forEach(function (type) {
      form.addEventListener(type, function () { touched = true; }, true);
    });

    function changed(event) {
      if (submitting || (event && event.target && event.target.type === "file")) return;
      if (!touched) { saved = fingerprint(); return; }
      if (fingerprint() === saved) return;
      dirty = true;
      var now = Date.now();
      if (!firstDirtyAt) firstDirtyAt = now;
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(save, Math.min(DELAY, Math.max(0, firstDirtyAt + MAX_WAIT - now)));
    }

    /* Leaving the page: what was typed in the last moment may not be in the form yet (the
       editor writes it there after a short pause); ask it to now, then send what changed. */
    function flush() {
      if (submitting || blocked) return;
      form.dispatchEvent(new Event("postaci:settle"));
      if (touched && fingerprint() !== saved) dirty = true;
      if (!dirty) return;
      if (navigator.sendBeacon && navigator.sendBeacon(url, payload())) {
        dirty = false;
        if (timer) window.clearTimeout(timer);
      }
    }

    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () {
      submitting = true;
      if (timer) window.clearTimeout(timer);
    });
    window.addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") flush();
    });

    conflict.querySelector("[data-autosave-reload]").addEventListener("click", function () {
      dirty = false;
      submitting = true;  // nothing more to save from this copy
      if (draftUrl) window.location.href = draftUrl; else window.location.reload();
    });
    conflict.querySelector("[data-autosave-keep]").addEventListener("click", function () {
      if (serverVersion !== null) version.value = serverVersion;
      blocked = false;
      conflict.hidden = true;
      dirty = true;
      save();
    });
  }

  function init(root) {
    (root || document).querySelectorAll("form[data-compose]").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
