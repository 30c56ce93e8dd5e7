//! The HTML pages opened in a real browser (headless Chromium): every formula laid out as
//! MathML with no error element, the screenshot not blank, and in the graph page choosing a
//! parameter lights exactly its paths to the cost.
//!
//! The browser is driven from its command line: a probe script is appended to a copy of the
//! page, runs after the page's own script, and writes what it measured into the document's
//! title, which `--dump-dom` prints. Under CI a missing Chromium fails these tests; elsewhere
//! they are skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

mod common;
use serde_json::Value;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

/// The Chromium binary, or `None` (a note outside CI, a failure under CI).
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let out = Process::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        });
    common::tools::available("Chromium", found.is_some(), "Debian's `chromium`")
        .then_some(found)
        .flatten()
}

fn browser_args(browser: &Path) -> Process {
    let mut process = Process::new(browser);
    process.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--window-size=900,1200",
        "--virtual-time-budget=5000",
    ]);
    process
}

/// What the probe measures after the page's scripts ran: MathML elements, those laid out with
/// no width, error elements, and for a graph the chosen parameter and its lit edges.
const PROBE: &str = r#"<script>
window.addEventListener("load", function () {
  var maths = Array.prototype.slice.call(document.querySelectorAll("math"));
  var flat = maths.filter(function (m) { var r = m.getBoundingClientRect(); return !(r.width > 0 && r.height > 0) && !m.closest("[hidden]"); });
  function lit() { return Array.prototype.slice.call(document.querySelectorAll("path.edge.lit")).map(function (e) { return e.getAttribute("data-from") + ">" + e.getAttribute("data-to"); }).sort(); }
  var result = { math: maths.length, flat: flat.length, errors: document.querySelectorAll(".math-error, merror").length,
                 chosen: document.body.getAttribute("data-chosen"), lit: lit(), loaded: performance.now(),
                 pictures: Array.prototype.map.call(document.querySelectorAll("svg"), function (s) { var r = s.getBoundingClientRect(); return { width: r.width, height: r.height, text: s.textContent, lines: s.querySelectorAll("polyline").length }; }) };
  var b3 = document.querySelector("g.node[data-name='b3']");
  if (b3) { b3.dispatchEvent(new MouseEvent("click", { bubbles: true })); result.after_click = lit(); result.chosen_after = document.body.getAttribute("data-chosen"); }
  document.title = "PROBE" + JSON.stringify(result);
});
</script>"#;

/// Opens the page with the probe and returns what it measured.
fn probe(browser: &Path, html: &str, dir: &Path, name: &str) -> Value {
    probe_with(browser, html, dir, name, PROBE)
}

/// Opens the page with a probe script that writes its JSON into the title after `PROBE`.
fn probe_with(browser: &Path, html: &str, dir: &Path, name: &str, script: &str) -> Value {
    let path = dir.join(name);
    let probed = html.replace("</body>", &format!("{script}\n</body>"));
    std::fs::write(&path, probed).unwrap();
    let out = browser_args(browser)
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("PROBE").unwrap_or_else(|| {
        panic!(
            "{name}: the probe did not run: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    }) + "PROBE".len();
    let end = dom[start..].find("</title>").unwrap() + start;
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: {e}: {json}"))
}

fn html(args: &[&str]) -> String {
    let out = chainrule()
        .args(args)
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const AT: &str = "x=1,y=0,w2=0.5,b2=0.1,w3=1,b3=0";

#[test]
fn every_formula_is_laid_out_as_mathml() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pages: [(&str, Vec<&str>); 7] = [
        ("derive", vec!["derive", "--all"]),
        (
            "backprop",
            vec![
                "derive",
                "--all",
                "--style",
                "backprop",
                "examples/mazur_2_2_2.bp",
            ],
        ),
        (
            "layers",
            vec!["derive", "--layers", "examples/softmax_classifier.bp"],
        ),
        (
            "check",
            vec!["check", "--claim", "dC/dw3 = -2(y - a3)*a3*(1 - a3)"],
        ),
        (
            "step",
            vec!["step", "--at", AT, "--lr", "0.5", "--steps", "2"],
        ),
        (
            "train",
            vec!["train", "examples/seed_training.bp", "--epochs", "40"],
        ),
        ("graph", vec!["graph", "--wrt", "w2", "--at", AT]),
    ];
    for (name, args) in pages {
        let result = probe(&browser, &html(&args), dir.path(), &format!("{name}.html"));
        assert!(result["math"].as_u64().unwrap() > 0, "{name}: {result}");
        assert_eq!(result["flat"], 0, "{name}: formulas with no size: {result}");
        assert_eq!(result["errors"], 0, "{name}: {result}");
    }
}

#[test]
fn choosing_a_parameter_lights_its_paths() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = html(&["graph", "--wrt", "w2", "--at", AT]);
    let result = probe(&browser, &page, dir.path(), "graph.html");
    assert_eq!(result["chosen"], "w2");
    let lit: Vec<&str> = result["lit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(lit, ["a2>z3", "a3>C", "w2>z2", "z2>a2", "z3>a3"]);
    // A click on b3 lights b3's path alone.
    assert_eq!(result["chosen_after"], "b3");
    let after: Vec<&str> = result["after_click"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(after, ["a3>C", "b3>z3", "z3>a3"]);
}

#[test]
fn the_screenshot_is_not_blank() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("graph.html");
    std::fs::write(&page, html(&["graph", "--wrt", "w2", "--at", AT])).unwrap();
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let shot = |source: &Path, png: &str| {
        let png = dir.path().join(png);
        let status = browser_args(&browser)
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", source.display()))
            .output()
            .unwrap();
        assert!(status.status.success());
        std::fs::metadata(&png).unwrap().len()
    };
    let empty = shot(&blank, "blank.png");
    let drawn = shot(&page, "graph.png");
    // A page of one colour compresses to almost nothing; drawn text and lines do not.
    assert!(
        drawn > 10 * empty,
        "graph {drawn} bytes, blank {empty} bytes"
    );
}

/// What the phone probe measures at 390 px: headings wider than the page, and whether the
/// page itself scrolls sideways.
const PHONE_PROBE: &str = r#"<script>
window.addEventListener("load", function () {
  // Headless Chromium's window is at least 500 px wide: the page is given a phone's 390.
  document.documentElement.style.width = "390px";
  var width = 390;
  var heads = Array.prototype.slice.call(document.querySelectorAll("h1, h2, h3"));
  var wide = heads.filter(function (h) { return h.scrollWidth > h.clientWidth + 1 || h.getBoundingClientRect().right > width + 1; })
                  .map(function (h) { return h.textContent.slice(0, 80); });
  // Display formulas: whole ones, and those cut into parts that wrap (a span of parts).
  var formulas = Array.prototype.slice.call(document.querySelectorAll("math[display=block], .formula"));
  var scrolling = formulas.filter(function (f) { var box = f.parentElement.tagName == "P" && !f.classList.contains("formula") ? f.parentElement : f;
                                                 return f.scrollWidth > f.clientWidth + 1 || box.scrollWidth > box.clientWidth + 1 || f.getBoundingClientRect().right > width + 1; });
  document.title = "PROBE" + JSON.stringify({ width: width, headings: heads.length, wide: wide,
                                              formulas: formulas.length, cut: document.querySelectorAll(".formula").length,
                                              scrolling: scrolling.length,
                                              page_scrolls: document.body.scrollWidth > document.body.clientWidth + 1 });
});
</script>"#;

/// The phone probe's findings on a page, opened at 390 px.
fn phone_probe(browser: &Path, page: &str, path: &std::path::Path) -> Value {
    let page = page.replace("</body>", &format!("{PHONE_PROBE}\n</body>"));
    std::fs::write(path, page).unwrap();
    let out = browser_args(browser)
        .arg("--window-size=390,844")
        .arg("--dump-dom")
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("PROBE").expect("the probe ran") + "PROBE".len();
    let end = dom[start..].find("</title>").unwrap() + start;
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

/// Issue 22: at a phone's width the long formulas of a 2-3-2 softmax network's derivation
/// (36 of its 199 scrolled inside their box) wrap between their parts instead; on a wide
/// screen the same parts stand on one line.
#[test]
fn long_formulas_wrap_at_a_phones_width() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("softmax.bp");
    std::fs::write(
        &program,
        "network 2-3-2\nactivation 3 softmax\ncost log-likelihood\n",
    )
    .unwrap();
    let page = html(&["derive", program.to_str().unwrap(), "--all"]);
    let result = phone_probe(&browser, &page, &dir.path().join("derive.html"));
    assert!(result["formulas"].as_u64().unwrap() > 150, "{result}");
    assert!(result["cut"].as_u64().unwrap() >= 30, "{result}");
    assert_eq!(result["scrolling"], 0, "{result}");
    assert_eq!(result["page_scrolls"], false, "{result}");
}

/// Issue 22: at a phone's width (390 px) a long title wraps instead of running off the page.
#[test]
fn long_titles_wrap_at_a_phones_width() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let long = dir
        .path()
        .join("a_network_file_with_a_rather_long_name_for_a_phone_screen.bp");
    std::fs::copy("examples/softmax_classifier.bp", &long).unwrap();
    let long = long.to_str().unwrap();
    for (name, args) in [
        ("derive", vec!["derive", long, "--wrt", "w2_1_1,b3_1"]),
        ("layers", vec!["derive", long, "--layers"]),
    ] {
        let path = dir.path().join(format!("{name}.html"));
        let result = phone_probe(&browser, &html(&args), &path);
        assert!(result["headings"].as_u64().unwrap() > 0, "{name}: {result}");
        assert_eq!(result["wide"], serde_json::json!([]), "{name}: {result}");
        assert_eq!(result["page_scrolls"], false, "{name}: {result}");
    }
}

/// Issue 21: `train` on a network with layers draws each layer's gradient norm beside the
/// loss curve, and both pictures are laid out on the page.
#[test]
fn the_per_layer_norms_are_drawn_beside_the_loss_curve() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = html(&[
        "train",
        "examples/deep_sigmoid_10.bp",
        "--data",
        "examples/deep_sigmoid_10.csv",
        "--epochs",
        "30",
        "--init",
        "xavier",
    ]);
    let result = probe(&browser, &page, dir.path(), "train.html");
    let pictures = result["pictures"].as_array().unwrap();
    assert_eq!(pictures.len(), 2, "{result}");
    for picture in pictures {
        assert!(picture["width"].as_f64().unwrap() > 100.0, "{picture}");
        assert!(picture["height"].as_f64().unwrap() > 100.0, "{picture}");
    }
    let layers = &pictures[1];
    let text = layers["text"].as_str().unwrap();
    assert!(text.contains("gradient norm per layer"), "{text}");
    assert!(text.contains("log scale"), "{text}");
    for l in 2..=10 {
        assert!(text.contains(&format!("layer {l}")), "{text}");
    }
    // One line a layer (the legend's samples are paths, not polylines).
    assert!(layers["lines"].as_u64().unwrap() >= 9, "{layers}");
    assert_eq!(result["errors"], 0, "{result}");
}

/// Issue 21: a network too wide to draw name by name (MNIST's 784-30-10) is drawn as one block
/// a layer, and the page chooses a layer (the first, unless the address names another).
#[test]
fn a_wide_network_is_drawn_as_layers_and_a_layer_is_chosen() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = html(&["graph", "examples/mnist_784_30_10.bp"]);
    assert!(page.len() < 400_000, "{} bytes", page.len());
    let result = probe(&browser, &page, dir.path(), "mnist_graph.html");
    assert_eq!(result["chosen"], "layer-2", "{result}");
    let pictures = result["pictures"].as_array().unwrap();
    assert_eq!(pictures.len(), 1, "{result}");
    let text = pictures[0]["text"].as_str().unwrap();
    for block in [
        "layer 1",
        "784 inputs",
        "layer 2",
        "30 sigmoid",
        "layer 3",
        "10 sigmoid",
    ] {
        assert!(text.contains(block), "{block}: {text}");
    }
    assert!(pictures[0]["width"].as_f64().unwrap() > 100.0);
    assert_eq!(result["errors"], 0, "{result}");
}

/// What the page of a network drawn as layers shows as units are chosen: the chosen layer and
/// unit, the layer sections and derivation headings left visible (their text), and the note
/// under the search box; first as loaded, then after the search box picks a unit whose
/// derivation the page holds, one it does not hold, and after a click on layer 3's block.
const UNIT_PROBE: &str = r#"<script>
window.addEventListener("load", function () {
  function visible(pattern, keep) {
    return Array.prototype.filter.call(document.querySelectorAll("h2"), function (h) { return !h.hidden && pattern.test(h.textContent) === keep; })
      .map(function (h) { return h.textContent; });
  }
  function state() {
    return { chosen: document.body.getAttribute("data-chosen"), unit: document.body.getAttribute("data-unit"),
             layers: visible(/layer \d+/i, true), derivations: visible(/layer \d+/i, false),
             found: (document.querySelector("p.unit-found") || {}).textContent,
             offered: Array.prototype.map.call(document.querySelectorAll("datalist option"), function (o) { return o.value; }) };
  }
  var search = document.querySelector("input.unit-search");
  function pick(unit) { search.value = unit; search.dispatchEvent(new Event("change")); return state(); }
  var result = { start: state(), offered: pick("w2_1_3"), elsewhere: pick("w2_30_784") };
  document.querySelector("g.node.layer[data-layer='3']").dispatchEvent(new MouseEvent("click", { bubbles: true }));
  result.layer = state();
  document.title = "PROBE" + JSON.stringify(result);
});
</script>"#;

/// Issue 21: on the page of a network too wide to draw, choosing a unit shows that unit's own
/// derivation, not only its layer: the page holds the derivations of `--wrt` and of each
/// layer's first units, and names the command that writes any other unit's.
#[test]
fn a_unit_chosen_on_a_wide_networks_page_shows_its_own_derivation() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = html(&["graph", "examples/mnist_784_30_10.bp", "--wrt", "w3_2_5"]);
    assert!(page.len() < 400_000, "{} bytes", page.len());
    let result = probe_with(&browser, &page, dir.path(), "mnist_unit.html", UNIT_PROBE);
    // MathML's text of ∂C/∂w3_2_5 reads `w`, its indices `2,5`, then the layer `(3)`.
    let only = |state: &Value, wanted: &str| {
        let shown: Vec<&str> = state["derivations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .filter(|d| d.contains("(parameter)"))
            .collect();
        assert_eq!(shown.len(), 1, "{state}");
        assert!(shown[0].contains(wanted), "{wanted}: {state}");
    };
    // Loaded with `--wrt w3_2_5`: its layer and its derivation.
    let start = &result["start"];
    assert_eq!(start["chosen"], "layer-3", "{result}");
    assert_eq!(start["unit"], "w3_2_5", "{result}");
    assert_eq!(start["layers"].as_array().unwrap().len(), 1, "{start}");
    only(start, "w2,5(3)");
    let offered: Vec<&str> = start["offered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    for unit in ["w3_2_5", "w2_1_1", "w2_1_4", "b2_1", "w3_1_1", "b3_1"] {
        assert!(offered.contains(&unit), "{unit}: {offered:?}");
    }
    // A first unit of layer 2, from the search box: layer 2, and its own derivation.
    let picked = &result["offered"];
    assert_eq!(picked["chosen"], "layer-2", "{result}");
    assert_eq!(picked["unit"], "w2_1_3", "{result}");
    only(picked, "w1,3(2)");
    assert!(
        picked["found"]
            .as_str()
            .unwrap()
            .contains("its derivation is below"),
        "{picked}"
    );
    // A unit the page does not derive: its layer, no derivation, and the command.
    let elsewhere = &result["elsewhere"];
    assert_eq!(elsewhere["chosen"], "layer-2", "{result}");
    assert!(elsewhere["unit"].is_null(), "{elsewhere}");
    assert!(
        elsewhere["derivations"].as_array().unwrap().is_empty(),
        "{elsewhere}"
    );
    assert!(
        elsewhere["found"]
            .as_str()
            .unwrap()
            .contains("`chainrule derive examples/mnist_784_30_10.bp --wrt w2_30_784`"),
        "{elsewhere}"
    );
    // A layer's block: the layer alone.
    let layer = &result["layer"];
    assert_eq!(layer["chosen"], "layer-3", "{result}");
    assert!(
        layer["derivations"].as_array().unwrap().is_empty(),
        "{layer}"
    );
}
