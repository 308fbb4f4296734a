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

// The ledger page's entry check, repeated in the browser: the leaf hash and
// the RFC 9162 inclusion proof against the checkpoint's root, with WebCrypto,
// so a reader need not trust the server's own "verified".
(function () {
  "use strict";
  var box = document.getElementById("inclusion-check");
  if (!box || !window.crypto || !window.crypto.subtle) { return; }
  var note = box.querySelector(".browser-check");
  var english = document.documentElement.lang === "en";
  var hex = function (bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  };
  var unhex = function (text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(text.substr(2 * i, 2), 16); }
    return out;
  };
  var sha = function (prefix, parts) {
    var total = 1 + parts.reduce(function (n, p) { return n + p.length; }, 0);
    var buf = new Uint8Array(total);
    buf[0] = prefix;
    var at = 1;
    parts.forEach(function (p) { buf.set(p, at); at += p.length; });
    return crypto.subtle.digest("SHA-256", buf).then(function (d) { return new Uint8Array(d); });
  };
  var index = Number(box.dataset.index), size = Number(box.dataset.size);
  var fn = index, sn = size - 1;
  var proof = box.dataset.hashes ? box.dataset.hashes.split(",").map(unhex) : [];
  sha(0, [new TextEncoder().encode(box.dataset.entry)]).then(function (leaf) {
    var r = Promise.resolve(leaf);
    proof.forEach(function (p) {
      r = r.then(function (acc) {
        if (sn === 0) { throw new Error("long"); }
        var step;
        if (fn % 2 === 1 || fn === sn) {
          step = sha(1, [p, acc]);
          if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
        } else {
          step = sha(1, [acc, p]);
        }
        fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
        return step;
      });
    });
    return r;
  }).then(function (root) {
    var ok = sn === 0 && hex(root) === box.dataset.root;
    note.hidden = false;
    note.textContent = ok
      ? (english ? "Your browser checked it too: the proof leads to the signed root." : "浏览器已独立复核：证明可推导出已签名的根哈希。")
      : (english ? "Your browser could not confirm it." : "浏览器复核未通过。");
    note.className = ok ? "browser-check ok" : "browser-check error";
  }).catch(function () {
    note.hidden = false;
    note.textContent = english ? "Your browser could not confirm it." : "浏览器复核未通过。";
  });
})();
