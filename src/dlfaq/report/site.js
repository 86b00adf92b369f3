/* dlfaq site: the language switch is a plain link to the page's other-language twin
   (qNN.html / qNN.zh.html), so a shared link keeps its language without JavaScript.
   This script only remembers the reader's choice, keeps the #anchor when switching, and
   sends a first-time reader whose browser prefers Chinese to the Chinese page. */
(function () {
  "use strict";
  var d = document.documentElement, saved = null;
  try { saved = localStorage.getItem("dlfaq-lang"); } catch (e) { /* storage may be off on file:// */ }
  var twin = document.querySelector('link[rel="alternate"][hreflang]');
  var prefers = (navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  if (twin && !saved && prefers === "zh" && d.lang === "en") {
    location.replace(twin.getAttribute("href") + location.hash);
  }
  // A link to a figure or table folded in <details> opens the fold, so the target shows.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1)), el = id && document.getElementById(id);
    for (var p = el; p; p = p.parentElement) { if (p.tagName === "DETAILS") p.open = true; }
    if (el && el.scrollIntoView) el.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  document.addEventListener("DOMContentLoaded", function () {
    reveal();
    var sw = document.querySelector("a.langswitch");
    if (!sw) return;
    sw.addEventListener("click", function () {
      try { localStorage.setItem("dlfaq-lang", sw.getAttribute("hreflang")); } catch (e) { /* ignore */ }
      sw.setAttribute("href", sw.getAttribute("href").split("#")[0] + location.hash);
    });
  });
})();
