// The SOQL box of Workflow › CRM and Appointments: line numbers that follow the text and its
// scrolling (Tab still moves to the next control). Without JavaScript the server-drawn numbers remain.
(function () {
  "use strict";
  function setUp(editor) {
    var area = editor.querySelector("textarea");
    var gutter = editor.querySelector(".code-gutter");
    if (!area || !gutter) return;
    function renumber() {
      var lines = Math.max(area.value.split("\n").length, 10);
      if (gutter.children.length === lines) return;
      var html = "";
      for (var n = 1; n <= lines; n++) html += "<li>" + n + "</li>";
      gutter.innerHTML = html;
    }
    area.addEventListener("input", renumber);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    renumber();
  }
  function init() { document.querySelectorAll(".code-editor").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
