// One mechanism for every page on small screens: the top navigation folds behind a 44 px
// "菜单" button (CSS shows the button only on narrow screens). Without JavaScript the nav
// simply stays open.
(function () {
  "use strict";
  var bar = document.querySelector(".topbar");
  var toggle = bar && bar.querySelector(".nav-toggle");
  if (!toggle) { return; }
  bar.classList.add("nav-collapsible");
  toggle.addEventListener("click", function () {
    var open = !bar.classList.contains("nav-open");
    bar.classList.toggle("nav-open", open);
    toggle.setAttribute("aria-expanded", String(open));
  });
})();
