"""The README's Python examples work when pasted: each ```python block runs, from the
repository's root, and every `print(...)  # shown` comment is what that line prints."""

import contextlib
import io
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_blocks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", readme, flags=re.S)


def test_every_python_block_of_the_readme_runs_and_prints_what_it_says(monkeypatch):
    blocks = python_blocks()
    assert blocks, "the README has a Python example"
    monkeypatch.chdir(ROOT)
    for block in blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, "README.md", "exec"), {})
        lines = printed.getvalue().splitlines()
        # A print whose comment shows a value: that value is the first line it printed.
        shown = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.+)$", block, flags=re.M)]
        exact = [s for s in shown if not s.startswith(("a ", "the ", "one "))]
        for value in exact:
            assert any(line.strip() == value for line in lines), (value, lines)
