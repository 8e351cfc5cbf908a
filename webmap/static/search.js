// Suggestions as the user types: fills the datalist from /api/suggest (prefix, no typos).
(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("suggestions");
  if (!input || !list) { return; }
  var timer = null;
  // Half of a surrogate pair with no other half (pasted from a broken source) is no text
  // anyone meant: nothing to suggest (and the URL could not be written).
  var LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (!q || LONE_SURROGATE.test(q)) { list.replaceChildren(); return; }
    timer = setTimeout(function () {
      fetch(input.dataset.suggestUrl + "?" + new URLSearchParams({ q: q }))
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          list.replaceChildren();
          data.results.forEach(function (hit) {
            var option = document.createElement("option");
            // A chain keeps its typed levels (广州天河石牌街道), so the list still matches
            // what is in the box and the search reads the chain again.
            option.value = hit.completion || hit.name;
            option.label = hit.division_chain.join(" > ");
            list.appendChild(option);
          });
        })
        .catch(function () { /* offline: no suggestions */ });
    }, 150);
  });
})();
