/* Compose forms (mailboxes/sending): a small rich-text editor over the plain textarea.
   Without JavaScript the textarea is sent as plain text. With it, the editor's HTML goes in
   the hidden body_html field (sanitized again on the server) and body_format says "html". */
(function () {
  "use strict";

  /* [command, button text, key of the translated label in the form's .rt-labels data] */
  var COMMANDS = [
    ["bold", "B", "bold"],
    ["italic", "I", "italic"],
    ["underline", "U", "underline"],
    ["insertUnorderedList", "•", "bullets"],
    ["insertOrderedList", "1.", "numbers"],
    ["createLink", null, "link"],
    ["removeFormat", "⌫", "clear"]
  ];

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function textToHtml(text) {
    return text.trim().split(/\n\s*\n/).filter(Boolean).map(function (para) {
      return "<p>" + para.split("\n").map(escapeHtml).join("<br>") + "</p>";
    }).join("");
  }

  function setUp(form) {
    if (form.dataset.composeReady) return;
    var textarea = form.querySelector("textarea[name=body]");
    var html = form.querySelector("input[name=body_html]");
    var format = form.querySelector("input[name=body_format]");
    if (!textarea || !html || !format) return;
    form.dataset.composeReady = "1";
    var labelsNode = form.querySelector(".rt-labels");
    var labels = labelsNode ? labelsNode.dataset : {};
    function t(key) { return labels[key] || key; }

    var toolbar = document.createElement("div");
    toolbar.className = "rt-toolbar";
    toolbar.setAttribute("role", "toolbar");
    var editor = document.createElement("div");
    editor.className = "rt-editor";
    editor.contentEditable = "true";
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    editor.setAttribute("aria-label", textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent : "");
    editor.dataset.testid = "compose-editor";
    editor.innerHTML = (format.value === "html" || (!textarea.value.trim() && html.value)) && html.value
      ? html.value : textToHtml(textarea.value);

    COMMANDS.forEach(function (command) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = command[1] || t(command[2]);
      button.title = t(command[2]);
      button.setAttribute("aria-label", t(command[2]));
      button.addEventListener("click", function () {
        editor.focus();
        if (command[0] === "createLink") {
          var url = window.prompt(t("linkPrompt"), "https://");
          if (url) document.execCommand("createLink", false, url);
        } else {
          document.execCommand(command[0], false, null);
        }
      });
      toolbar.appendChild(button);
    });

    textarea.hidden = true;
    textarea.parentNode.insertBefore(toolbar, textarea);
    textarea.parentNode.insertBefore(editor, textarea);
    var label = form.querySelector("label[for='" + textarea.id + "']");
    if (label) label.addEventListener("click", function () { editor.focus(); });

    form.addEventListener("submit", function (event) {
      html.value = editor.innerHTML;
      textarea.value = editor.innerText;
      format.value = "html";
      var submitter = event.submitter;
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
      if (submitter && submitter.name) {
        var keep = document.createElement("input");
        keep.type = "hidden";
        keep.name = submitter.name;
        keep.value = submitter.value;
        form.appendChild(keep);
      }
    });
  }

  function init(root) {
    (root || document).querySelectorAll("form[data-compose]").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
