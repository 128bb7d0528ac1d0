"""A report shows itself in Jupyter: a real notebook, executed headless by nbclient on a kernel
of this Python, displays the HTML (verdict first, findings, fix, SVG histogram)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import vaecheck
from vaecheck.formats.html import render_html

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_models"


def test_html_report_verdict_first_with_histogram() -> None:
    report = vaecheck.check(SAMPLES / "tanh_generator.keras", np.load(SAMPLES / "images_uint8.npy"))
    html = render_html(report)
    verdict = html.index('class="vaecheck-verdict"')
    assert verdict < html.index('class="vaecheck-output"') < html.index("<svg")
    assert "✗ 1 error" in html
    assert "(-1, 1)" in html and "[0, 255]" in html
    assert "VC001" in html and "Rescaling(" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'class="codomain"' in svg
    # 8-bit images against tanh: nearly all bars lie beyond 1, where tanh cannot go.
    assert svg.count('class="bar outside"') > 10 and 'class="bar inside"' not in svg
    assert report._repr_html_() == html


def test_clean_report_says_so_in_green() -> None:
    report = vaecheck.check(SAMPLES / "sigmoid_vae.keras", np.load(SAMPLES / "unit.npy"))
    html = report._repr_html_()
    assert "✓" in html and "#2e7d32" in html.split("</div>")[0]
    assert 'class="bar outside"' not in html


def test_names_are_escaped(tmp_path: Path) -> None:
    np.save(tmp_path / "<b>bold.npy", np.load(SAMPLES / "unit.npy"))
    report = vaecheck.check(SAMPLES / "sigmoid_vae.keras", tmp_path / "<b>bold.npy")
    html = report._repr_html_()
    assert "<b>bold" not in html and "&lt;b&gt;bold.npy" in html


NOTEBOOK_CELLS = [
    "import sys, numpy as np, vaecheck\nprint(sys.executable)",
    (
        f"images = np.load({str(SAMPLES / 'images_uint8.npy')!r})\n"
        f"report = vaecheck.check({str(SAMPLES / 'tanh_generator.keras')!r}, images)\n"
        "report"
    ),
]


def test_notebook_displays_the_report(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    printed = notebook.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()
    shown = [o for o in notebook.cells[1].outputs if "text/html" in o.get("data", {})]
    assert len(shown) == 1, notebook.cells[1].outputs
    html = shown[0]["data"]["text/html"]
    assert re.search(r'class="vaecheck-verdict"[^>]*>✗ 1 error<', html)
    assert "<svg" in html and 'class="bar outside"' in html
    assert "x_model = x * 0.00784314 - 1.0" in html or "Rescaling(" in html
    (tmp_path / "executed.ipynb").write_text(nbformat.writes(notebook))
