// The round report: the print button (no inline handlers under the Content-Security-Policy).
(function () {
  "use strict";
  var button = document.getElementById("print-report");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
