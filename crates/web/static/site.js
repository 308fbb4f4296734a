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

// The ledger page's entry check, repeated in the browser: the checkpoint's
// Ed25519 signature with the published key, its root read from the signed
// text itself, the leaf hash, and the RFC 9162 inclusion proof, all with
// WebCrypto, so a reader need not trust the server's own "verified".
(function () {
  "use strict";
  var box = document.getElementById("inclusion-check");
  if (!box || !window.crypto || !window.crypto.subtle) { return; }
  var out = box.querySelector(".browser-check");
  var english = document.documentElement.lang === "en";
  var say = function (ok, en, zh) {
    out.hidden = false;
    out.textContent = english ? en : zh;
    out.className = ok ? "browser-check ok" : "browser-check error";
  };
  var hex = function (bytes) {
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  };
  var unhex = function (text) {
    var bytes = new Uint8Array(text.length / 2);
    for (var i = 0; i < bytes.length; i++) { bytes[i] = parseInt(text.substr(2 * i, 2), 16); }
    return bytes;
  };
  var unbase64 = function (text) {
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  };
  var sha = function (prefix, parts) {
    var total = 1 + parts.reduce(function (n, p) { return n + p.length; }, 0);
    var buf = new Uint8Array(total);
    buf[0] = prefix;
    var at = 1;
    parts.forEach(function (p) { buf.set(p, at); at += p.length; });
    return crypto.subtle.digest("SHA-256", buf).then(function (d) { return new Uint8Array(d); });
  };
  // The signed note: text, a blank line, signature lines "— name base64".
  var note = box.dataset.note, cut = note.lastIndexOf("\n\n");
  var text = note.slice(0, cut + 1);
  var signedRoot = hex(unbase64(text.split("\n")[2]));
  // "<name>+<8 hex digits>+<base64>": the base64 may itself hold "+".
  var vkey = box.dataset.key, plus = vkey.indexOf("+");
  var key = [vkey.slice(0, plus), vkey.slice(plus + 1, plus + 9), vkey.slice(plus + 10)];
  var publicKey = unbase64(key[2]).slice(1);
  var signature = null;
  note.slice(cut + 2).split("\n").forEach(function (line) {
    var parts = line.split(" ");
    if (parts.length === 3 && parts[1] === key[0]) {
      var blob = unbase64(parts[2]);
      if (hex(blob.slice(0, 4)) === key[1]) { signature = blob.slice(4); }
    }
  });
  var signed = signature === null ? Promise.resolve(false) : crypto.subtle
    .importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"])
    .then(function (k) { return crypto.subtle.verify({ name: "Ed25519" }, k, signature, new TextEncoder().encode(text)); })
    .catch(function () { return null; });
  var index = Number(box.dataset.index), size = Number(box.dataset.size);
  var fn = index, sn = size - 1;
  var proof = box.dataset.hashes ? box.dataset.hashes.split(",").map(unhex) : [];
  var root = sha(0, [new TextEncoder().encode(box.dataset.entry)]).then(function (leaf) {
    var r = Promise.resolve(leaf);
    proof.forEach(function (p) {
      r = r.then(function (acc) {
        if (sn === 0) { throw new Error("the proof is too long"); }
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
  });
  Promise.all([root, signed]).then(function (results) {
    var included = sn === 0 && hex(results[0]) === signedRoot;
    if (!included) {
      say(false, "Your browser could not confirm it: the proof does not lead to the signed root.", "浏览器复核未通过：证明推导不出已签名的根哈希。");
    } else if (results[1] === true) {
      say(true, "Your browser checked it too: the checkpoint's signature is valid and the proof leads to its root.", "浏览器已独立复核：检查点签名有效，证明可推导出其根哈希。");
    } else if (results[1] === null) {
      say(true, "Your browser checked the proof against the signed root; it cannot check Ed25519 signatures itself.", "浏览器已独立复核证明与签名中的根哈希一致；本浏览器不支持核验 Ed25519 签名。");
    } else {
      say(false, "Your browser could not confirm the checkpoint's signature with the published key.", "浏览器无法用公布的公钥核验检查点签名。");
    }
  }).catch(function () {
    say(false, "Your browser could not confirm it.", "浏览器复核未通过。");
  });
})();
