/* The email template form: each placeholder button types its {{name}} where the cursor is in
   the body editor (through the editor's API, form.composeEditor of static/js/compose.js). */
(function () {
  "use strict";

  function setUp(form) {
    form.querySelectorAll("[data-placeholder]").forEach(function (button) {
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () {
        var text = "{{" + button.dataset.placeholder + "}}";
        if (form.composeEditor) {
          form.composeEditor.insertText(text);
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
