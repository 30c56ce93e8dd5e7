// The graph of a network too wide to draw name by name: one block a layer. Choosing a layer
// (a click on its block, the address ending in #layer-L, or a unit found with the search box)
// lights the arrows that carry its error term back from the output (the δ recursion reaching
// it) and shows that layer's section alone.
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
  var sections = {};
  document.querySelectorAll("h2").forEach(function (h) {
    var m = /layer (\d+)/i.exec(h.textContent);
    if (!m) return;
    var part = [h];
    for (var n = h.nextElementSibling; n && n.tagName !== "H2" && n.tagName !== "H1"; n = n.nextElementSibling) part.push(n);
    sections[m[1]] = part;
  });
  var found = document.createElement("p");
  function choose(layer, unit) {
    if (!blocks[layer]) return;
    Object.keys(blocks).forEach(function (l) { blocks[l].classList.toggle("lit", Number(l) >= Number(layer)); });
    svg.querySelectorAll("path.edge").forEach(function (e) {
      e.classList.toggle("lit", Number(e.getAttribute("data-from")) >= Number(layer) && Number(e.getAttribute("data-to")) <= last);
    });
    Object.keys(sections).forEach(function (l) { sections[l].forEach(function (el) { el.hidden = l !== String(layer); }); });
    found.textContent = unit ? unit + " belongs to layer " + layer + "." : "";
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
  layers.forEach(function (l) {
    Object.keys(unitLayer).filter(function (u) { return unitLayer[u] === String(l); }).slice(0, 12).forEach(function (u) {
      var o = document.createElement("option"); o.value = u; list.appendChild(o);
    });
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
