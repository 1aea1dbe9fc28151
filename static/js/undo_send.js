/* Undo send (mailboxes/views/compose.py _undo_notice): the message after Send holds an Undo
   button for the configured seconds; it counts down and goes away when the email has left. */
(function () {
  "use strict";

  function setUp(form) {
    if (form.dataset.undoReady) return;
    form.dataset.undoReady = "1";
    var until = parseInt(form.dataset.undoUntil, 10);
    var button = form.querySelector("button");
    var count = document.createElement("span");
    count.setAttribute("aria-hidden", "true");  // not announced every second
    button.appendChild(count);
    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        var text = form.parentNode.querySelector("[data-undo-text]");
        if (text && form.dataset.after) text.textContent = form.dataset.after;
        form.remove();
        return;
      }
      count.textContent = " (" + left + ")";
      window.setTimeout(tick, 250);
    }
    tick();
  }

  function init() { document.querySelectorAll("form.undo-send[data-undo-until]").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
