/* Settings discovery on the account forms (templates/mailboxes/account_form.html).
 *
 * When the email address changes, ask the server (data-discover-url) for the IMAP and SMTP
 * settings and fill in what the user has not typed: a host or user name only while it is
 * empty or still holds the previous suggestion; a port or security only with a suggested
 * host and while the user has not changed it. The message under the address says what was found and where
 * from. After each answer the form gets a "postaci:discovered" event whose detail is the
 * server's JSON (oauth_kind included), for whatever else wants to react.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-discover-url]");
  var address = form && form.querySelector("input[name=email_address]");
  if (!address) return;

  var suggested = {}; // field name -> the value this script put there
  var typed = {}; // field names the user changed by hand
  var latest = 0; // only the answer to the latest question counts
  var lastAddress = address.value.trim().toLowerCase();

  var note = document.createElement("p");
  note.className = "help discovery-note";
  note.setAttribute("data-testid", "discovery-note");
  note.setAttribute("role", "status");
  note.hidden = true;
  (address.closest(".field") || address.parentNode).appendChild(note);

  function field(name) {
    return form.elements.namedItem(name);
  }

  function show(text, found) {
    note.textContent = text || "";
    note.hidden = !text;
    note.classList.toggle("found", !!found);
  }

  form.addEventListener("input", remember);
  form.addEventListener("change", remember);
  function remember(event) {
    var name = event.target && event.target.name;
    if (name && name !== "email_address" && event.target.value !== suggested[name]) {
      typed[name] = true;
    }
  }

  function untouched(el, emptyCounts) {
    if (!el) return false;
    if (suggested[el.name] !== undefined && el.value === String(suggested[el.name])) return true;
    return emptyCounts ? el.value === "" : !typed[el.name];
  }

  function put(el, value) {
    el.value = String(value);
    suggested[el.name] = el.value;
  }

  function fill(prefix, server) {
    if (!server) {
      clear(prefix);
      return;
    }
    var username = field(prefix + "_username");
    if (untouched(username, true)) put(username, server.username);
    var host = field(prefix + "_host");
    if (!untouched(host, true)) return; // the user's own server: keep its port and security
    put(host, server.host);
    var port = field(prefix + "_port");
    var security = field(prefix + "_security");
    if (untouched(security, false)) put(security, server.security);
    if (untouched(port, false)) put(port, server.port);
  }

  function clear(prefix) {
    // the previous suggestion no longer fits the address: take back host and user name
    ["host", "username"].forEach(function (part) {
      var el = field(prefix + "_" + part);
      if (el && suggested[el.name] !== undefined && el.value === suggested[el.name]) {
        el.value = "";
        delete suggested[el.name];
      }
    });
  }

  function discover() {
    var value = address.value.trim();
    if (value.toLowerCase() === lastAddress) return;
    lastAddress = value.toLowerCase();
    var at = value.lastIndexOf("@");
    if (at < 1 || value.indexOf(".", at) < 0) {
      show("");
      return;
    }
    var asked = ++latest;
    show(form.getAttribute("data-discover-searching"));
    var url = form.getAttribute("data-discover-url") + "?address=" + encodeURIComponent(value);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        if (asked !== latest) return;
        if (data.found) {
          fill("imap", data.imap);
          fill("smtp", data.smtp);
        } else {
          clear("imap");
          clear("smtp");
        }
        show(data.message, data.found);
        form.dispatchEvent(new CustomEvent("postaci:discovered", { detail: data }));
      })
      .catch(function () {
        if (asked === latest) show("");
      });
  }

  address.addEventListener("change", discover);
})();
