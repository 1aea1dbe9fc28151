/* Postaci — keyboard and selection for the Emails area. Progressive enhancement: every
   action also works without this file (forms post and the page reloads).

   List:  j/k next/previous · Enter or o open · x select · s important · e archive · # trash
          / search · clicking a row opens it
   Email: j older · k newer · u back to the list · e archive · # trash · s important   */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function typing(event) {
    var t = event.target;
    if (!t || !t.tagName) return false;
    var tag = t.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable;
  }

  function refreshCounts() {
    if (window.htmx) window.htmx.trigger(document.body, "mail:refresh");
  }

  function reveal() {
    document.querySelectorAll("[data-js-only], .select-all").forEach(function (el) {
      el.hidden = false;
    });
  }

  // --- List -------------------------------------------------------------------------------
  function setupList(form) {
    var current = null;
    var toolbar = form.querySelector(".mail-toolbar");
    var countLabel = form.querySelector("[data-selection-count]");
    var selectAll = form.querySelector("[data-select-all]");

    function rows() {
      return Array.prototype.slice.call(form.querySelectorAll("tr.mail-row"));
    }
    function checked() {
      return rows().filter(function (row) {
        var box = row.querySelector("input[name=ids]");
        return box && box.checked;
      });
    }
    function updateSelection() {
      var n = checked().length;
      rows().forEach(function (row) {
        var box = row.querySelector("input[name=ids]");
        row.classList.toggle("is-selected", !!(box && box.checked));
      });
      if (toolbar) toolbar.classList.toggle("no-selection", n === 0);
      if (countLabel) countLabel.textContent = n ? n + " " + (form.dataset.selectedLabel || "") : "";
      if (selectAll) {
        var all = rows().length;
        selectAll.checked = all > 0 && n === all;
        selectAll.indeterminate = n > 0 && n < all;
      }
    }
    function setCurrent(row) {
      if (current) current.classList.remove("is-current");
      current = row;
      if (row) {
        row.classList.add("is-current");
        row.scrollIntoView({ block: "nearest" });
        var link = row.querySelector(".subject-link");
        if (link) link.focus({ preventScroll: true });
      }
    }
    function move(step) {
      var list = rows();
      if (!list.length) return;
      var i = current ? list.indexOf(current) : -1;
      var next = i < 0 ? 0 : Math.min(Math.max(i + step, 0), list.length - 1);
      setCurrent(list[next]);
    }
    function open(row) {
      if (row && row.dataset.href) window.location.href = row.dataset.href;
    }
    function post(ids, action, extra) {
      var data = new FormData();
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      if (action) data.append("action", action);
      ids.forEach(function (id) { data.append("ids", id); });
      Object.keys(extra || {}).forEach(function (key) { data.append(key, extra[key]); });
      // (form.action would be the button named "action": read the attribute)
      return fetch(form.getAttribute("action"), {
        method: "POST",
        body: data,
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
      });
    }
    function removeRows(targets) {
      var list = rows();
      var last = targets[targets.length - 1];
      var after = list[list.indexOf(last) + 1] || null;
      var before = list[list.indexOf(targets[0]) - 1] || null;
      targets.forEach(function (row) { row.remove(); });
      setCurrent(after || before);
      updateSelection();
      refreshCounts();
    }
    function actOn(action) {
      var targets = checked();
      if (!targets.length && current) targets = [current];
      if (!targets.length) return;
      var ids = targets.map(function (row) { return row.dataset.id; });
      post(ids, action).then(function () { removeRows(targets); }, function () {
        targets.forEach(function (row) {
          var box = row.querySelector("input[name=ids]");
          if (box) box.checked = true;
        });
        var button = form.querySelector('button[name=action][value="' + action + '"]');
        if (button) button.click();
      });
    }

    form.addEventListener("change", function (event) {
      if (event.target === selectAll) {
        rows().forEach(function (row) {
          var box = row.querySelector("input[name=ids]");
          if (box) box.checked = selectAll.checked;
        });
      }
      updateSelection();
    });
    function toggleStar(star) {
      var on = star.classList.contains("on");
      var id = star.value.split("|")[0];
      post([], "", { star: star.value }).then(function () {
        star.classList.toggle("on", !on);
        star.setAttribute("aria-pressed", String(!on));
        star.value = id + "|" + (on ? "important" : "unimportant");
        refreshCounts();
      }, function () { star.form.requestSubmit(star); });
    }

    form.addEventListener("click", function (event) {
      var star = event.target.closest("button.star");
      if (star) {
        event.preventDefault();
        toggleStar(star);
        return;
      }
      var row = event.target.closest("tr.mail-row");
      if (!row || event.target.closest("a, button, input, label")) return;
      if (event.metaKey || event.ctrlKey) {
        window.open(row.dataset.href, "_blank");
        return;
      }
      open(row);
    });
    document.body.addEventListener("htmx:oobAfterSwap", updateSelection);

    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      var key = event.key;
      if (key === "j") move(1);
      else if (key === "k") move(-1);
      else if (key === "Enter") {
        if (!current || event.target.closest("a, button")) return; // the link opens itself
        open(current);
      } else if (key === "o" && current) open(current);
      else if (key === "x" && current) {
        var box = current.querySelector("input[name=ids]");
        if (box) { box.checked = !box.checked; updateSelection(); }
      } else if (key === "s" && current) {
        var star = current.querySelector("button.star");
        if (star) toggleStar(star);
      } else if (key === "e") actOn("archive");
      else if (key === "#") actOn("trash");
      else if (key === "/") {
        var search = document.getElementById("mail-q");
        if (search) search.focus();
      } else return;
      event.preventDefault();
    });
    updateSelection();
  }

  // --- One email --------------------------------------------------------------------------
  function setupEmail() {
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      var selector = {
        j: "[data-older]",
        k: "[data-newer]",
        u: "[data-back]",
        e: "[data-action=archive]",
        "#": "[data-action=trash]",
        s: "[data-testid=important-toggle]",
      }[event.key];
      var target = selector && document.querySelector(selector);
      if (!target) return;
      event.preventDefault();
      target.click();
    });
  }

  // --- Account forms: the port follows the security setting unless it was changed -----------
  var DEFAULT_PORTS = {
    imap: { ssl: "993", starttls: "143", none: "143" },
    smtp: { ssl: "465", starttls: "587", none: "25" },
  };
  function setupPorts() {
    ["imap", "smtp"].forEach(function (kind) {
      var security = document.querySelector("select[name=" + kind + "_security]");
      var port = document.querySelector("input[name=" + kind + "_port]");
      if (!security || !port) return;
      var defaults = DEFAULT_PORTS[kind];
      var previous = security.value;
      security.addEventListener("change", function () {
        if (!port.value || port.value === defaults[previous]) port.value = defaults[security.value] || port.value;
        previous = security.value;
      });
    });
  }

  function start() {
    reveal();
    setupPorts();
    var form = document.getElementById("bulk-form");
    if (form) setupList(form);
    if (document.querySelector("[data-testid=email-view]")) setupEmail();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
