/* Compose forms (mailboxes/sending) and other HTML fields: the Jodit rich-text editor
   (static/vendor/jodit, MIT) over the plain textarea.

   Without JavaScript the textarea is sent as plain text. With it, the editor's HTML goes in
   the hidden body_html field (sanitized again on the server) and body_format says "html";
   "Plain text" switches back to the textarea (body_format "text"). On every change the
   hidden fields are brought up to date and an "input" event is sent on the form, so other
   scripts (draft autosave) see the change. The form gets `composeEditor`, the small API the
   template picker and the placeholder buttons use.

   - pasted images stay in the HTML as data: URIs; the server turns them into inline parts
     referenced by cid: (mailboxes/sending/inline_images.py);
   - files dropped on the editor are added to the form's "Attach files" input;
   - the From select carries each address's signature (data-signatures); changing the From
     replaces the signature block (<div data-signature>) instead of adding a second one.

   A textarea with data-rich-html (a signature in the preferences or the account form) gets
   the same editor and holds its HTML directly. */
(function () {
  "use strict";

  /* the quote button's icon (Material "format_quote", Apache-2.0) */
  var QUOTE_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">' +
    '<path d="M6 17h3l2-4V7H5v6h3zm8 0h3l2-4V7h-6v6h3z"/></svg>';

  var BLOCKS = /^(P|DIV|H[1-6]|LI|UL|OL|TABLE|TR|BLOCKQUOTE|PRE|HR)$/;

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

  /* The text of an HTML body, for "Plain text" and the textarea: paragraphs apart, list
     items with "- ", table cells with tabs, quotes with "> " (the server makes its own for
     the text part of an HTML email). */
  function htmlToText(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html || "";
    function walk(node) {
      if (node.nodeType === 3) return node.data.replace(/\s+/g, " ");
      if (node.nodeType !== 1) return "";
      var name = node.nodeName;
      if (name === "BR") return "\n";
      if (name === "IMG") return node.getAttribute("alt") || "";
      var inner = Array.prototype.map.call(node.childNodes, walk).join("");
      if (name === "LI") return "- " + inner.trim() + "\n";
      if (name === "TD" || name === "TH") return inner.trim() + "\t";
      if (name === "TR") return inner.replace(/\t$/, "") + "\n";
      if (name === "A" && node.getAttribute("href") && node.textContent !== node.getAttribute("href")) {
        return inner + " <" + node.getAttribute("href") + ">";
      }
      if (name === "BLOCKQUOTE") {
        return "\n" + inner.trim().split("\n").map(function (line) {
          return line ? "> " + line : ">";
        }).join("\n") + "\n\n";
      }
      if (node.hasAttribute("data-signature") && inner.trim()) {
        return "\n--\u0001\n" + inner.replace(/^\n+|\n+$/g, "") + "\n";
      }
      if (BLOCKS.test(name)) return "\n" + inner.replace(/^\n+|\n+$/g, "") + "\n";
      return inner;
    }
    var text = Array.prototype.map.call(holder.content.childNodes, walk).join("");
    /* "-- " keeps its space (the signature delimiter of RFC 3676) */
    return text.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+/, "")
      .trimEnd().replace(/--\u0001\n/g, "-- \n");
  }

  function labelsOf(form) {
    var node = form.querySelector(".rt-labels");
    return node ? node.dataset : {};
  }

  function language() {
    var lang = (document.documentElement.lang || "en").toLowerCase().slice(0, 2);
    return lang === "tr" ? "tr" : "en";
  }

  /* One Jodit on a hidden holder next to `textarea`. */
  function makeEditor(textarea, html, labels, options) {
    var holder = document.createElement("div");
    textarea.parentNode.insertBefore(holder, textarea);
    var quote = {
      name: "quote",
      icon: "postaci-quote",
      tooltip: labels.quote || "Quote",
      exec: function (editor) { editor.execCommand("formatBlock", false, "blockquote"); }
    };
    var buttons = [
      "bold", "italic", "underline", "|", "ul", "ol", quote, "|", "link", "table", "|",
      "eraser", "undo", "redo"
    ];
    window.Jodit.modules.Icon.set("postaci-quote", QUOTE_ICON);
    var jodit = window.Jodit.make(holder, Object.assign({
      language: language(),
      toolbarAdaptive: false,
      toolbarSticky: false,
      buttons: buttons,
      showCharsCounter: false,
      showWordsCounter: false,
      showXPathInStatusbar: false,
      showPlaceholder: false,
      statusbar: false,
      minHeight: options.minHeight || 260,
      height: "auto",
      askBeforePasteHTML: false,
      askBeforePasteFromWord: false,
      defaultActionOnPaste: "insert_clear_html",
      beautifyHTML: false,
      imageDefaultWidth: null, /* a pasted image keeps its own size */
      spellcheck: true,
      link: { noFollowCheckbox: false, openInNewTabCheckbox: false },
      uploader: { insertImageAsBase64URI: true, imagesExtensions: ["jpg", "jpeg", "png", "gif", "webp"] },
      disablePlugins: ["about", "print", "preview", "fullsize", "speech-recognize", "ai-assistant", "powered-by-jodit", "file", "video", "media", "iframe", "source", "xpath", "stat"]
    }, options.config || {}));
    jodit.value = html || "";
    var area = jodit.editor;
    area.classList.add("rt-editor");
    area.dataset.testid = options.testid || "compose-editor";
    area.setAttribute("aria-label", textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent.trim() : "");
    jodit.container.classList.add("rt-jodit");
    var label = textarea.id && document.querySelector("label[for='" + textarea.id + "']");
    if (label) label.addEventListener("click", function () { jodit.s.focus(); });
    return jodit;
  }

  function fireInput(form) {
    form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* --- signatures ------------------------------------------------------------------------ */

  function signatureFor(select) {
    if (!select || !select.dataset.signatures) return "";
    try {
      return JSON.parse(select.dataset.signatures)[select.value] || "";
    } catch (error) {
      return "";
    }
  }

  /* Put `html` as the signature block of `area`: in place of the one there, else above the
     quote (after the empty first line a reply starts with), else at the end. */
  function placeSignature(area, html) {
    var blocks = area.querySelectorAll("[data-signature]");
    /* a block the editor split in two (Enter, a table): the rest is the user's text */
    for (var i = 1; i < blocks.length; i += 1) blocks[i].removeAttribute("data-signature");
    var block = blocks[0];
    if (!html) {
      if (block) block.remove();
      return;
    }
    if (!block) {
      block = document.createElement("div");
      block.setAttribute("data-signature", "1");
      var first = area.firstElementChild;
      var quote = area.querySelector("blockquote");
      if (first && first.nodeName === "P" && !first.textContent.trim() && !first.querySelector("img")) {
        first.after(block);
      } else if (quote) {
        var top = quote;
        while (top.parentNode !== area) top = top.parentNode;
        var before = top.previousElementSibling;
        area.insertBefore(block, before && before.nodeName === "P" ? before : top);
      } else {
        area.appendChild(block);
      }
    }
    block.innerHTML = html;
  }

  function textSignature(html) {
    var text = htmlToText(html);
    return text ? "-- \n" + text : "";
  }

  /* The plain text with a signature added above the quote (the line before the first "> "
     line: "On ..., ... wrote:"), else at the end. */
  function withTextSignature(text, signature) {
    var lines = text.split("\n");
    var quote = lines.findIndex(function (line) { return line.charAt(0) === ">"; });
    if (quote < 0) return text.replace(/\s*$/, "") + "\n\n" + signature;
    var at = quote > 0 && lines[quote - 1].trim() ? quote - 1 : quote;
    var head = lines.slice(0, at).join("\n").replace(/\s*$/, "");
    return (head ? head + "\n\n" : "") + signature + "\n\n" + lines.slice(at).join("\n");
  }

  /* --- the compose form ------------------------------------------------------------------- */

  function setUpCompose(form) {
    if (form.dataset.composeReady || !window.Jodit) return;
    var textarea = form.querySelector("textarea[name=body]");
    var html = form.querySelector("input[name=body_html]");
    var format = form.querySelector("input[name=body_format]");
    if (!textarea || !html || !format) return;
    form.dataset.composeReady = "1";
    var labels = labelsOf(form);
    var fromSelect = form.querySelector("select[name=from_account]");
    var files = form.querySelector("input[type=file][name=attachments]");
    var plain = format.value === "text" && !html.value.trim() && textarea.value.trim() !== "";

    var jodit = makeEditor(textarea, html.value.trim() ? html.value : textToHtml(textarea.value), labels, {
      minHeight: form.closest(".reply-box") ? 140 : 260
    });
    var area = jodit.editor;
    textarea.hidden = true;

    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "btn btn-sm btn-ghost rt-plain-toggle";
    toggle.dataset.testid = "plain-text-toggle";
    toggle.textContent = labels.plain || "Plain text";
    textarea.parentNode.insertBefore(toggle, textarea.nextSibling);

    function sync(quiet) {
      if (plain) {
        format.value = "text";
        html.value = "";
      } else {
        html.value = jodit.value;
        textarea.value = htmlToText(html.value);
        format.value = "html";
      }
      if (!quiet) fireInput(form);
    }

    function showPlain(on) {
      plain = on;
      jodit.container.hidden = on;
      textarea.hidden = !on;
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      toggle.textContent = on ? (labels.rich || "Formatted text") : (labels.plain || "Plain text");
    }

    toggle.addEventListener("click", function () {
      if (!plain) {
        textarea.value = htmlToText(jodit.value);
        showPlain(true);
        textarea.focus();
      } else {
        jodit.value = textToHtml(textarea.value);
        showPlain(false);
        jodit.s.focus();
      }
      sync();
    });
    textarea.addEventListener("input", function () { if (plain) sync(true); });

    jodit.events.on("change", function () { if (!plain) sync(); });
    /* the autosave's last save before the page goes: the editor's text into the form now */
    form.addEventListener("postaci:settle", function () { if (!plain) sync(true); });

    /* Files dropped on the editor are attachments (pasted images stay inline). */
    if (files) {
      jodit.container.addEventListener("drop", function (event) {
        var dropped = event.dataTransfer && event.dataTransfer.files;
        if (!dropped || !dropped.length) return;
        event.preventDefault();
        event.stopPropagation();
        var all = new DataTransfer();
        Array.prototype.forEach.call(files.files, function (file) { all.items.add(file); });
        Array.prototype.forEach.call(dropped, function (file) { all.items.add(file); });
        files.files = all.files;
        files.dispatchEvent(new Event("change", { bubbles: true }));
        jodit.container.classList.remove("rt-dragging");
      }, true);
      jodit.container.addEventListener("dragover", function (event) {
        if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
          event.preventDefault();
          jodit.container.classList.add("rt-dragging");
        }
      }, true);
      jodit.container.addEventListener("dragleave", function () {
        jodit.container.classList.remove("rt-dragging");
      });
    }

    /* The From's signature, switched with the From. */
    var currentSignature = signatureFor(fromSelect);
    if (fromSelect) {
      fromSelect.addEventListener("change", function () {
        var next = signatureFor(fromSelect);
        if (plain) {
          var old = textSignature(currentSignature);
          var fresh = textSignature(next);
          if (old && textarea.value.indexOf(old) >= 0) textarea.value = textarea.value.replace(old, fresh);
          else if (fresh) textarea.value = withTextSignature(textarea.value, fresh);
        } else {
          placeSignature(area, next);
          jodit.synchronizeValues();
        }
        currentSignature = next;
        sync();
      });
    }

    /* A click in the empty space below the text puts the caret at the end of the last
       block: the signature. Typing there would write into the signature (replaced when the
       From changes, and sent glued to it); the caret goes to the end of the user's own text
       above the signature instead (a new empty line when there is none). */
    function caretAboveSignature(signature) {
      var selection = window.getSelection();
      if (!selection.rangeCount || !selection.isCollapsed) return;
      if (!signature.contains(selection.anchorNode) || signature.nextElementSibling) return;
      var above = signature.previousElementSibling;
      if (!above) {
        above = document.createElement("p");
        above.appendChild(document.createElement("br"));
        area.insertBefore(above, signature);
      }
      var range = document.createRange();
      var empty = !above.textContent.trim() && !above.querySelector("img");
      range.selectNodeContents(above);
      range.collapse(empty);
      selection.removeAllRanges();
      selection.addRange(range);
    }
    jodit.container.addEventListener("mouseup", function (event) {
      if (plain) return;
      var signature = area.querySelector("[data-signature]");
      // a click on the signature's own text goes where it was clicked
      if (!signature || signature.contains(event.target)) return;
      caretAboveSignature(signature);
      // and once more after the editor's own handling of the click
      window.setTimeout(function () { caretAboveSignature(signature); }, 0);
    });

    form.composeEditor = {
      jodit: jodit,
      area: area,
      isPlain: function () { return plain; },
      /* Insert sanitized HTML at `range` (a DOM Range inside the editor). */
      insertHtml: function (markup, range) {
        if (plain) {
          var text = htmlToText(markup);
          var start = textarea.selectionStart || 0;
          textarea.setRangeText(text, start, textarea.selectionEnd || start, "end");
          sync();
          return;
        }
        jodit.s.focus();
        if (range) {
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        jodit.s.insertHTML(markup);
        jodit.synchronizeValues();
        sync();
      },
      insertText: function (text) {
        if (plain) {
          textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
          sync();
          return;
        }
        jodit.s.focus();
        jodit.s.insertHTML(escapeHtml(text));
        jodit.synchronizeValues();
        sync();
      },
      sync: sync
    };

    showPlain(plain);
    sync(true);

    form.addEventListener("submit", function (event) {
      sync(true);
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

  /* --- an HTML field (signatures) --------------------------------------------------------- */

  function setUpHtmlField(textarea) {
    if (textarea.dataset.richReady || !window.Jodit) return;
    textarea.dataset.richReady = "1";
    var form = textarea.form;
    var jodit = makeEditor(textarea, textarea.value, form ? labelsOf(form) : {}, {
      minHeight: 120,
      testid: textarea.dataset.testid || "html-editor",
      config: { uploader: { insertImageAsBase64URI: false } }
    });
    textarea.removeAttribute("data-testid");
    /* a signature has no attachments: a pasted file (an image) is not taken, pasted text and
       HTML are (images by their https address) */
    jodit.container.addEventListener("paste", function (event) {
      if (event.clipboardData && event.clipboardData.files && event.clipboardData.files.length) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
    textarea.hidden = true;
    jodit.events.on("change", function () {
      textarea.value = jodit.value;
      if (form) fireInput(form);
    });
    if (form) form.addEventListener("submit", function () { textarea.value = jodit.value; });
  }

  function init(root) {
    var scope = root || document;
    scope.querySelectorAll("form[data-compose]").forEach(setUpCompose);
    scope.querySelectorAll("textarea[data-rich-html]").forEach(setUpHtmlField);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  window.PostaciCompose = { htmlToText: htmlToText, textToHtml: textToHtml, placeSignature: placeSignature };
})();
