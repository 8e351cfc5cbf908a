// Loaded in <head>, before any form is drawn. A form without a method attribute is sent by
// its page's script (JSON to the API; the script stops the browser's own submission). Until
// that script has run, a press of the form's button would be the browser's default instead:
// a GET of the same page with the typed values in its address, the page reloaded empty, and
// nothing saved (a plan sent on a slow connection was lost so). This listener runs after the
// form's own (it listens on the document), so it only holds what no script has taken.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("method")) { return; }
    event.preventDefault();
    var note = form.querySelector(".form-guard");
    if (!note) {
      note = document.createElement("p");
      note.className = "form-message error form-guard";
      note.setAttribute("role", "alert");
      form.appendChild(note);
    }
    note.textContent = "页面仍在加载，尚未提交：请稍候再按一次。";
  });
})();
