/* Cothon — small behaviours on top of server-rendered pages. Everything works without it. */
(function () {
  "use strict";

  // Dropdown menus are <details>: close them on an outside click or Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // Flash messages can be dismissed.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) button.parentElement.remove();
  });

  // Inline validation swaps a field's error list: keep aria-invalid in step with it.
  function syncInvalid(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".field-errors[id]").forEach(function (list) {
      var input = document.querySelector('[aria-describedby~="' + list.id + '"]');
      if (!input) return;
      if (list.children.length) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }
  // afterSwap runs as soon as the new list is in the DOM; afterSettle catches settle-time changes.
  document.addEventListener("htmx:afterSwap", function () { syncInvalid(document); });
  document.addEventListener("htmx:afterSettle", function () { syncInvalid(document); });
  document.addEventListener("DOMContentLoaded", function () { syncInvalid(document); });
})();

// Filter forms marked data-drop-empty leave blank fields out of the URL (?status=won, not
// ?q=&status=won&department=…), so pushed URLs stay short and shareable.
document.addEventListener("htmx:configRequest", function (event) {
  var form = event.detail.elt.closest ? event.detail.elt.closest("form[data-drop-empty]") : null;
  if (!form || event.detail.verb !== "get") return;
  var params = event.detail.parameters;
  Object.keys(params).forEach(function (key) {
    if (params[key] === "" || params[key] == null) delete params[key];
  });
});

// Forms marked data-busy-form (PDF generation, completing an analysis) take a moment: show it,
// and keep a double click from submitting twice.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("form[data-busy-form]")) return;
  if (form.dataset.busy) { event.preventDefault(); return; }
  form.dataset.busy = "1";
  var button = form.querySelector("[data-busy-label]");
  if (button) {
    button.setAttribute("aria-busy", "true");
    button.classList.add("is-busy");
    button.lastChild.textContent = button.dataset.busyLabel;
  }
});

// Formset rows: "Add a section" copies the empty row (<template>) with the next index. Without
// JavaScript the button stays hidden and the form always offers one spare row.
(function () {
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var list = document.querySelector(button.dataset.addRow);
    var template = document.querySelector(button.dataset.template);
    var total = document.querySelector(button.dataset.total);
    if (!list || !template || !total) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (index >= parseInt(button.dataset.max, 10)) return;
      var row = template.innerHTML.replace(/__prefix__/g, String(index));
      list.insertAdjacentHTML("beforeend", row);
      total.value = String(index + 1);
      var first = list.lastElementChild.querySelector("input, textarea");
      if (first) first.focus();
    });
  });
})();

// Filter forms (data-filter-form) reload their results when a select or date changes. The search
// boxes (data-live-search) have their own debounced trigger, so their "change" is ignored here.
// Done here rather than with an htmx event filter (change[...]), which needs eval: the
// Content-Security-Policy forbids it.
document.addEventListener("change", function (event) {
  var target = event.target;
  var form = target.closest ? target.closest("form[data-filter-form]") : null;
  if (!form || target.matches("[data-live-search]")) return;
  form.dispatchEvent(new CustomEvent("filter-change", { bubbles: false }));
});

// Polls marked data-poll-when-visible (the live record page) skip their turn while the tab is
// hidden: a background tab costs the server nothing. htmx trigger filters would need eval,
// which the Content-Security-Policy forbids, so the check lives here.
document.addEventListener("htmx:beforeRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (document.visibilityState === "hidden" && elt && elt.hasAttribute && elt.hasAttribute("data-poll-when-visible")) {
    event.preventDefault();
  }
});
