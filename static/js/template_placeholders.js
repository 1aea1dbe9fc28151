/* The email template form: each placeholder button types its {{name}} where the cursor is in
   the body editor (static/js/compose.js makes the editor). */
(function () {
  "use strict";

  function setUp(form) {
    form.querySelectorAll("[data-placeholder]").forEach(function (button) {
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () {
        var editor = form.querySelector(".rt-editor");
        var text = "{{" + button.dataset.placeholder + "}}";
        if (editor) {
          editor.focus();
          document.execCommand("insertText", false, text);
        } else {
          var textarea = form.querySelector("textarea[name=body]");
          if (textarea) textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-template-form]").forEach(setUp);
  });
})();
