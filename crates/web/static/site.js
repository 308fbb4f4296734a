// Enhancements for readers with JavaScript; every page works without it.
// - The search box suggests dataset titles as one types (from /api/v1/search).
// - Choosing a chart column redraws the chart without pressing "Draw".
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var english = document.documentElement.lang === "en";

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var words = input.value.trim();
        if (words.length < 1 || words === asked) { return; }
        asked = words;
        fetch("/api/v1/search?limit=8&q=" + encodeURIComponent(words), { headers: { accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { items: [] }; })
          .then(function (page) {
            if (words !== asked) { return; }
            list.textContent = "";
            page.items.forEach(function (hit) {
              var option = document.createElement("option");
              option.value = (english && hit.resource.name_en) || hit.resource.name_zh;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a nicety; the search still works */ });
      }, 200);
    });
  });
})();
