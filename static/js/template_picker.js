/* "Insert template" in compose forms (mailtemplates). The button, or typing "::" and a few
   letters in the body, opens a search of the user's templates; the chosen one is filled in by
   the server for the form's record and From, its body goes where the user was typing (above
   the quote; at the top when the cursor was not in the text) and its subject fills an empty
   Subject; its files are listed, ticked, to go with the draft. The HTML comes sanitized from
   the server and goes in through the editor's API (form.composeEditor, static/js/compose.js). */
(function () {
  "use strict";

  var TRIGGER = /(?:^|\s)::([^\s:]{0,40})$/;

  function setUp(box) {
    if (box.dataset.ready) return;
    var form = box.closest("form");
    if (!form) return;
    box.dataset.ready = "1";
    var openButton = box.querySelector("[data-template-open]");
    var popup = box.querySelector(".template-popup");
    var search = popup.querySelector(".template-search");
    var list = popup.querySelector(".template-options");
    var notice = box.querySelector(".template-notice");
    var filesBox = box.querySelector(".template-files");
    var items = [];
    var active = 0;
    var trigger = null; /* {node, start}: the "::" being typed */
    var dismissed = null; /* the "::" whose list was closed with Escape: stays closed */
    var savedRange = null; /* where the cursor was in the editor */
    var requestId = 0;
    var timer = null;

    /* the editor's API (static/js/compose.js); null without it or in plain-text mode */
    function api() {
      var found = form.composeEditor;
      return found && !found.isPlain() ? found : null;
    }
    function editor() { return api() ? api().area : null; }
    function value(name) {
      var element = form.elements[name];
      return element && element.value ? element.value : "";
    }

    function load(query) {
      var id = ++requestId;
      window.fetch(box.dataset.searchUrl + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : { templates: [] };
      }).then(function (data) {
        if (id === requestId) show(data.templates || []);
      });
    }

    function show(found) {
      items = found;
      active = 0;
      list.textContent = "";
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "muted template-option-empty";
        empty.textContent = box.dataset.noMatch;
        list.appendChild(empty);
        return;
      }
      items.forEach(function (item, index) {
        var option = document.createElement("li");
        option.setAttribute("role", "option");
        option.className = "template-option";
        option.dataset.index = String(index);
        var name = document.createElement("span");
        name.className = "template-option-name";
        name.textContent = item.name;
        option.appendChild(name);
        if (item.category) {
          var category = document.createElement("span");
          category.className = "badge";
          category.textContent = item.category;
          option.appendChild(category);
        }
        if (item.subject) {
          var subject = document.createElement("span");
          subject.className = "muted template-option-subject";
          subject.textContent = item.subject;
          option.appendChild(subject);
        }
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
      });
      highlight();
    }

    function highlight() {
      list.querySelectorAll(".template-option").forEach(function (option, index) {
        option.setAttribute("aria-selected", index === active ? "true" : "false");
      });
    }

    /* By "::" the list opens under the cursor, so the text being typed stays visible. */
    function place(byTrigger) {
      popup.style.top = "";
      popup.style.left = "";
      var selection = window.getSelection();
      if (!byTrigger || !selection.rangeCount) return;
      var caret = selection.getRangeAt(0).getBoundingClientRect();
      var origin = box.getBoundingClientRect();
      if (!caret.bottom) return;
      popup.style.top = Math.round(caret.bottom - origin.top + 4) + "px";
      popup.style.left = Math.round(Math.max(0, caret.left - origin.left)) + "px";
    }

    function open(byTrigger) {
      place(byTrigger);
      popup.hidden = false;
      openButton.setAttribute("aria-expanded", "true");
      search.hidden = byTrigger;
      if (!byTrigger) {
        trigger = null;
        search.value = "";
        load("");
        search.focus();
      }
    }

    function close() {
      popup.hidden = true;
      openButton.setAttribute("aria-expanded", "false");
      trigger = null;
    }

    function move(step) {
      if (!items.length) return;
      active = (active + step + items.length) % items.length;
      highlight();
    }

    function onKey(event) {
      if (popup.hidden) return false;
      if (event.key === "ArrowDown") move(1);
      else if (event.key === "ArrowUp") move(-1);
      else if (event.key === "Enter" || (event.key === "Tab" && trigger)) {
        if (!items.length) return false;
        choose(active);
      } else if (event.key === "Escape") {
        dismissed = trigger;
        close();
      }
      else return false;
      event.preventDefault();
      event.stopPropagation(); /* the editor must not also take the key (Enter, Tab) */
      return true;
    }

    function rememberCursor() {
      var selection = window.getSelection();
      var area = editor();
      if (area && selection.rangeCount && area.contains(selection.anchorNode)) {
        savedRange = selection.getRangeAt(0).cloneRange();
      }
    }

    function watchTrigger() {
      var selection = window.getSelection();
      var node = selection.anchorNode;
      var match = null;
      if (selection.isCollapsed && node && node.nodeType === 3) {
        match = TRIGGER.exec(node.data.slice(0, selection.anchorOffset));
      }
      if (!match) {
        if (trigger) close();
        return;
      }
      var start = selection.anchorOffset - match[1].length - 2;
      if (dismissed && dismissed.node === node && dismissed.start === start) return;
      dismissed = null;
      trigger = { node: node, start: start };
      open(true);
      load(match[1]);
    }

    /* Where the body goes: the "::" typed, else the cursor (not inside the quote), else the
       top of the text, in place of the empty first line a reply starts with. */
    function insertionRange(area) {
      var range = document.createRange();
      var selection = window.getSelection();
      if (trigger && area.contains(trigger.node) && selection.anchorNode === trigger.node) {
        range.setStart(trigger.node, trigger.start);
        range.setEnd(trigger.node, selection.anchorOffset);
        return range;
      }
      if (savedRange && area.contains(savedRange.startContainer)) {
        var start = savedRange.startContainer;
        var element = start.nodeType === 1 ? start : start.parentNode;
        if (!element.closest("blockquote")) return savedRange;
      }
      var first = area.firstChild;
      if (first && first.nodeType === 1 && !first.textContent.trim() && !first.querySelector("img")) {
        range.selectNode(first);
      } else {
        range.setStart(area, 0);
        range.collapse(true);
      }
      return range;
    }

    function insert(data) {
      var area = editor();
      var holder = document.createElement("template");
      holder.innerHTML = data.html;
      if (area) {
        /* the editor puts the body where the range is, leaves the cursor after it and keeps
           its undo */
        api().insertHtml(data.html, insertionRange(area));
      } else if (form.composeEditor) {
        form.composeEditor.insertHtml(data.html, null); /* plain-text mode: as text */
      } else {
        var textarea = form.querySelector("textarea[name=body]");
        if (textarea) textarea.value = holder.content.textContent + "\n\n" + textarea.value;
      }
      var subject = form.elements.subject;
      if (subject && !subject.value.trim() && data.subject) subject.value = data.subject;
      if (data.empty && data.empty.length) {
        notice.textContent = box.dataset.emptyNotice + " " + data.empty.join(", ");
        notice.hidden = false;
      } else {
        notice.hidden = true;
      }
    }

    /* The template's files join the draft, ticked (untick to leave one out), once each. */
    function addFiles(data) {
      if (!filesBox || !data.attachments || !data.attachments.length) return;
      var listed = filesBox.querySelector("ul");
      var have = {};
      listed.querySelectorAll("input").forEach(function (input) { have[input.value] = true; });
      data.attachments.forEach(function (file) {
        if (have[String(file.id)]) return;
        var item = document.createElement("li");
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = "checkbox";
        input.name = data.attachment_field;
        input.value = String(file.id);
        input.checked = true;
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + file.filename + " (" + file.size + ")"));
        item.appendChild(label);
        listed.appendChild(item);
      });
      filesBox.hidden = false;
    }

    function choose(index) {
      var item = items[index];
      if (!item) return;
      var query = new URLSearchParams({
        parent_type: value("parent_type"),
        parent_id: value("parent_id"),
        from_account: value("from_account")
      });
      var url = box.dataset.renderUrl.replace("/0/", "/" + item.id + "/") + "?" + query;
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) { insert(data); addFiles(data); close(); })
        .catch(function () {
          notice.textContent = box.dataset.failed;
          notice.hidden = false;
          close();
        });
    }

    openButton.addEventListener("mousedown", rememberCursor);
    openButton.addEventListener("click", function () {
      if (popup.hidden) open(false); else close();
    });
    search.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { load(search.value); }, 150);
    });
    search.addEventListener("keydown", onKey);
    form.addEventListener("keydown", function (event) {
      if (event.target.classList && event.target.classList.contains("rt-editor")) onKey(event);
    }, true);
    form.addEventListener("input", function (event) {
      if (event.target.classList && event.target.classList.contains("rt-editor")) watchTrigger();
    });
    form.addEventListener("keyup", function (event) {
      if (event.target.classList && event.target.classList.contains("rt-editor")) rememberCursor();
    });
    form.addEventListener("mouseup", rememberCursor);
    document.addEventListener("click", function (event) {
      if (!popup.hidden && !box.contains(event.target)) close();
    });
  }

  function init(root) {
    (root || document).querySelectorAll("[data-template-picker]").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
