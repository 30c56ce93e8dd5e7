"""The example notebook run as a reader would: executed headless by nbclient, its outputs
asserted, then exported to HTML by nbconvert and opened in headless Chromium, where every
formula must be laid out as MathML with no error element.

Under CI (any CI value but empty, false or 0) a missing Chromium fails the test, as the Rust
browser tests do; elsewhere it is skipped with the reason.
"""

import ast
import json
import os
import pathlib
import shutil
import subprocess

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip() not in ("", "false", "0")


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    assert not in_ci(), "CI is set but Chromium is missing: .ci/run installs Debian's `chromium`"
    pytest.skip("Chromium is not installed here")


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(EXAMPLES / "chainrule.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()
    return notebook


def outputs(cell):
    """Every MIME bundle a cell displayed, merged (later ones win)."""
    merged = {}
    for output in cell.get("outputs", []):
        assert output.get("output_type") != "error", "".join(output.get("traceback", []))
        merged.update(output.get("data", {}))
    return merged


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_every_cell_runs_and_shows_what_it_should(executed):
    cells = code_cells(executed)
    derived, report, facts, checked, verdict, run, costs, picture = (outputs(c) for c in cells)
    assert "<math" in derived["text/html"] and "w_{3}" in derived["text/latex"]
    assert "<math" in report["text/html"]
    kinds, float64, reference = ast.literal_eval(facts["text/plain"])
    assert "saturation" in kinds and float64 == 0.0 and 2e-20 < float(reference) < 3e-20
    assert "incorrect" in checked["text/html"]
    verdict_text, kind = ast.literal_eval(verdict["text/plain"])
    assert verdict_text == "incorrect" and kind
    assert "<svg" in run["text/html"]
    first, last = ast.literal_eval(costs["text/plain"])
    assert last < first
    assert picture["image/svg+xml"].lstrip().startswith("<svg")


def test_the_exported_page_lays_out_every_formula_in_chromium(executed, tmp_path):
    browser = chromium()
    html, _ = HTMLExporter().from_notebook_node(executed)
    probe = """<script>
window.addEventListener("load", function () {
  var maths = Array.prototype.slice.call(document.querySelectorAll(".chainrule math"));
  var flat = maths.filter(function (m) { var r = m.getBoundingClientRect(); return !(r.width > 0 && r.height > 0); });
  document.title = "PROBE" + JSON.stringify({ math: maths.length, flat: flat.length,
    errors: document.querySelectorAll("merror, .math-error").length });
});
</script>"""
    page = tmp_path / "notebook.html"
    page.write_text(html.replace("</body>", probe + "\n</body>"), encoding="utf-8")
    run = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1400",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    dom = run.stdout
    assert "PROBE" in dom, run.stderr[-2000:]
    start = dom.index("PROBE") + len("PROBE")
    measured = json.loads(dom[start:dom.index("</title>", start)].replace("&quot;", '"'))
    assert measured["math"] > 20, measured
    assert measured["flat"] == 0 and measured["errors"] == 0, measured
