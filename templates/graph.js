// Choosing a parameter (a click on its node, or the page's address ending in #NAME) lights
// every path from it to the cost and shows its derivation alone. Paths: the names reachable
// forward from the parameter that the cost also reaches backward.
(function () {
  var svg = document.querySelector("svg.chainrule-graph");
  if (!svg) return;
  var edges = Array.prototype.slice.call(svg.querySelectorAll("path.edge"));
  var nodes = {};
  svg.querySelectorAll("g.node").forEach(function (g) { nodes[g.getAttribute("data-name")] = g; });
  var forward = {}, backward = {};
  edges.forEach(function (e) {
    var a = e.getAttribute("data-from"), b = e.getAttribute("data-to");
    (forward[a] = forward[a] || []).push(b);
    (backward[b] = backward[b] || []).push(a);
  });
  function reach(start, adjacent) {
    var seen = {}, stack = [start];
    seen[start] = true;
    while (stack.length) {
      (adjacent[stack.pop()] || []).forEach(function (m) {
        if (!seen[m]) { seen[m] = true; stack.push(m); }
      });
    }
    return seen;
  }
  var params = (svg.getAttribute("data-params") || "").split(" ").filter(Boolean);
  // The parameters whose derivations the page holds (all of a small network's), in order.
  var derived = (typeof chainruleDerived === "string" ? chainruleDerived : "").split(" ").filter(Boolean);
  var fromCost = reach(svg.getAttribute("data-cost"), backward);
  // The derivation sections: each h2 and what follows it up to the next h2, in parameter order.
  var sections = [];
  document.querySelectorAll("h2").forEach(function (h) {
    var part = [h];
    for (var n = h.nextElementSibling; n && n.tagName !== "H2" && n.tagName !== "H1"; n = n.nextElementSibling) part.push(n);
    sections.push(part);
  });
  function choose(name) {
    if (params.indexOf(name) < 0) return;
    var i = derived.indexOf(name);
    var lit = reach(name, forward);
    Object.keys(nodes).forEach(function (n) { nodes[n].classList.toggle("lit", !!(lit[n] && fromCost[n])); });
    edges.forEach(function (e) {
      var a = e.getAttribute("data-from"), b = e.getAttribute("data-to");
      e.classList.toggle("lit", !!(lit[a] && fromCost[a] && lit[b] && fromCost[b]));
    });
    sections.forEach(function (part, j) {
      part.forEach(function (el) { el.hidden = i >= 0 && j !== i; });
    });
    document.body.setAttribute("data-chosen", name);
  }
  params.forEach(function (p) {
    var g = nodes[p];
    if (g) g.addEventListener("click", function () { history.replaceState(null, "", "#" + p); choose(p); });
  });
  choose(decodeURIComponent(location.hash.slice(1)) || params[0]);
})();
