// The graph of a network too wide to draw name by name: one block a layer. Choosing a layer
// (a click on its block, the address ending in #layer-L, or a unit found with the search box)
// lights the arrows that carry its error term back from the output (the δ recursion reaching
// it) and shows that layer's section alone. Choosing a unit (the search box, or the address
// ending in #NAME) shows its derivation too where the page holds it (`chainruleDerived`: the
// chosen parameter and each layer's first units, in the order of the derivation sections),
// and otherwise the command that writes it (`chainruleDeriveCommand`).
(function () {
  var svg = document.querySelector("svg.chainrule-layers");
  if (!svg) return;
  var blocks = {};
  svg.querySelectorAll("g.node.layer").forEach(function (g) { blocks[g.getAttribute("data-layer")] = g; });
  var layers = Object.keys(blocks).map(Number).sort(function (a, b) { return a - b; });
  var last = layers[layers.length - 1];
  var unitLayer = {};
  (svg.getAttribute("data-units") || "").split(" ").filter(Boolean).forEach(function (entry) {
    var parts = entry.split(":");
    parts[1].split(",").forEach(function (u) { unitLayer[u] = parts[0]; });
  });
  var derived = (typeof chainruleDerived === "string" ? chainruleDerived : "").split(" ").filter(Boolean);
  var command = typeof chainruleDeriveCommand === "string" ? chainruleDeriveCommand : "";
  // A layer's section is its "Layer L" heading and what follows. The other h2 sections,
  // under one h1, end with the derivations in the order of `derived`; those before them (the
  // error terms the results are written in) are shown with any derivation.
  var sections = {}, rest = [], title = null;
  document.querySelectorAll("h2").forEach(function (h) {
    var part = [h];
    for (var n = h.nextElementSibling; n && n.tagName !== "H2" && n.tagName !== "H1"; n = n.nextElementSibling) part.push(n);
    var m = /layer (\d+)/i.exec(h.textContent);
    if (m) { sections[m[1]] = part; return; }
    if (!rest.length && h.previousElementSibling && h.previousElementSibling.tagName === "H1") title = h.previousElementSibling;
    rest.push(part);
  });
  var shared = rest.slice(0, Math.max(0, rest.length - derived.length));
  var derivations = rest.slice(shared.length);
  var found = document.createElement("p");
  found.className = "unit-found";
  function showDerivation(unit) {
    var i = unit ? derived.indexOf(unit) : -1;
    derivations.forEach(function (part, j) { part.forEach(function (el) { el.hidden = j !== i; }); });
    shared.forEach(function (part) { part.forEach(function (el) { el.hidden = i < 0; }); });
    if (title) title.hidden = i < 0;
    if (i >= 0) document.body.setAttribute("data-unit", unit);
    else document.body.removeAttribute("data-unit");
    return i >= 0;
  }
  function choose(layer, unit) {
    if (!blocks[layer]) return;
    Object.keys(blocks).forEach(function (l) { blocks[l].classList.toggle("lit", Number(l) >= Number(layer)); });
    svg.querySelectorAll("path.edge").forEach(function (e) {
      e.classList.toggle("lit", Number(e.getAttribute("data-from")) >= Number(layer) && Number(e.getAttribute("data-to")) <= last);
    });
    Object.keys(sections).forEach(function (l) { sections[l].forEach(function (el) { el.hidden = l !== String(layer); }); });
    var shown = showDerivation(unit);
    found.textContent = !unit ? "" : shown
      ? unit + " belongs to layer " + layer + "; its derivation is below."
      : unit + " belongs to layer " + layer + "; this page holds the derivations of each layer's first units only: `" + command.replace("NAME", unit) + "` writes its derivation.";
    document.body.setAttribute("data-chosen", "layer-" + layer);
  }
  layers.forEach(function (l) {
    blocks[l].addEventListener("click", function () { history.replaceState(null, "", "#layer-" + l); choose(l); });
  });
  var search = document.createElement("input");
  search.type = "search";
  search.placeholder = "find a unit: w2_1_1, b3_4";
  search.setAttribute("list", "chainrule-units");
  search.className = "unit-search";
  var list = document.createElement("datalist");
  list.id = "chainrule-units";
  // The units whose derivations the page holds are offered first.
  derived.forEach(function (u) {
    var o = document.createElement("option"); o.value = u; list.appendChild(o);
  });
  search.addEventListener("change", function () {
    var unit = search.value.trim();
    if (unitLayer[unit]) { history.replaceState(null, "", "#layer-" + unitLayer[unit]); choose(unitLayer[unit], unit); }
    else { found.textContent = unit ? "no unit " + unit + " in this network" : ""; }
  });
  svg.parentNode.insertBefore(search, svg.nextSibling);
  search.parentNode.insertBefore(list, search.nextSibling);
  list.parentNode.insertBefore(found, list.nextSibling);
  var hash = decodeURIComponent(location.hash.slice(1));
  if (unitLayer[hash]) choose(unitLayer[hash], hash);
  else choose(/^layer-\d+$/.test(hash) ? hash.slice(6) : String(layers[0]));
})();
