/* dlfaq offline search: queries window.DLFAQ_INDEX (search-index.js) with the tokenizer of
   dlfaq/report/searchindex.py: Latin words by prefix, CJK text as character bigrams. */
(function () {
  "use strict";
  var RUN = /[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;
  function tokens(text) {
    var out = [], runs = text.toLowerCase().match(RUN) || [];
    runs.forEach(function (r) {
      if (/^[a-z0-9]/.test(r) || r.length === 1) { out.push(r); return; }
      for (var i = 0; i + 1 < r.length; i++) out.push(r.substr(i, 2));
    });
    return out;
  }
  function search(index, query, lang) {
    var qt = tokens(query), scores = null, keys = Object.keys(index.terms);
    if (!qt.length) return [];
    qt.filter(function (t, i) { return qt.indexOf(t) === i; }).forEach(function (t) {
      var hit = {};
      var ks = /^[a-z0-9]/.test(t) ? keys.filter(function (k) { return k.lastIndexOf(t, 0) === 0; }) : [t];
      ks.forEach(function (k) {
        (index.terms[k] || []).forEach(function (p) { hit[p[0]] = (hit[p[0]] || 0) + p[1]; });
      });
      if (scores === null) { scores = hit; return; }
      var next = {};
      Object.keys(scores).forEach(function (d) { if (hit[d]) next[d] = scores[d] + hit[d]; });
      scores = next;
    });
    return Object.keys(scores).map(Number).sort(function (a, b) { return scores[b] - scores[a] || a - b; })
      .map(function (d) { return index.docs[d]; })
      .filter(function (d) { return d.l === lang; }).slice(0, 10);
  }
  window.dlfaqSearch = search;
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("search"), list = document.getElementById("search-results");
    if (!box || !list || !window.DLFAQ_INDEX) return;
    var lang = document.documentElement.lang || "en";
    box.addEventListener("input", function () {
      var hits = search(window.DLFAQ_INDEX, box.value, lang);
      list.innerHTML = "";
      list.hidden = !box.value.trim();
      if (!hits.length && box.value.trim()) {
        var li = document.createElement("li");
        li.className = "none";
        li.textContent = list.getAttribute("data-none");
        list.appendChild(li);
      }
      hits.forEach(function (d) {
        var li = document.createElement("li"), a = document.createElement("a"), s = document.createElement("small");
        a.href = d.u;
        a.textContent = d.t;
        s.textContent = d.s;
        li.appendChild(a);
        li.appendChild(s);
        list.appendChild(li);
      });
    });
    box.addEventListener("keydown", function (ev) {
      var first = list.querySelector("a");
      if (ev.key === "Enter" && first) { window.location.href = first.getAttribute("href"); }
      if (ev.key === "Escape") { box.value = ""; list.hidden = true; }
    });
  });
})();
