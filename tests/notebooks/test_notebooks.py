"""Every notebook runs top to bottom in a real kernel (small sizes), and the what-if widgets answer in it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SMALL_LEADS = "1500"
"""SCOREBENCH_NOTEBOOK_LEADS for tests: leads over the scenario's history (the default scenario has ~12,000)."""


def _executed(name: str, extra_cells: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """The notebook run top to bottom in the venv's python3 kernel from notebooks/, plus `extra_cells`."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    client = NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return notebook


def _shown(cell: nbformat.NotebookNode) -> set[str]:
    return {kind for output in cell.get("outputs", []) for kind in output.get("data", {})}


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_top_to_bottom(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each notebook executes without an error and its last code cell shows something."""
    monkeypatch.setenv("SCOREBENCH_NOTEBOOK_LEADS", SMALL_LEADS)
    began = time.perf_counter()
    notebook = _executed(name)
    print(f"{name}: {time.perf_counter() - began:.1f} s")
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and _shown(code[-1]), f"{name}: the last code cell shows nothing"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_notebook_cells_hold_no_logic() -> None:
    """STYLE 16: cells import, call and show; no def, class, loop or branch."""
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            lines = [line.strip() for line in cell.source.splitlines()]
            bad = [line for line in lines if line.split(" ")[0] in {"def", "class", "for", "while", "if", "with"}]
            assert not bad, f"{path.name}: {bad}"


_SLIDER_PROBE = """
import json
_before = app.result
_image, _readout = app.image.value, app.readout.value
app.controls["mql"].value = app.controls["mql"].value + 10
app.controls["sdr_reps"].value = 1
_fewer_reps = app.result
app.controls["sdr_reps"].value = 20
print(json.dumps({
    "mql": [_before.settings.mql, app.result.settings.mql],
    "mqls": [_before.mqls, app.result.mqls],
    "breach": [_fewer_reps.sla.set_index("motion").at["all", "breach_rate"],
               app.result.sla.set_index("motion").at["all", "breach_rate"]],
    "image_changed": app.image.value != _image, "readout_changed": app.readout.value != _readout,
    "error": app.error, "refreshes": app.refreshes, "seconds": app.seconds,
}))
"""


def test_what_if_slider_recomputes_in_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the notebook's own kernel, moving the MQL slider re-simulates, redraws and updates the readout."""
    monkeypatch.setenv("SCOREBENCH_NOTEBOOK_LEADS", SMALL_LEADS)
    notebook = _executed("01_what_if.ipynb", (_SLIDER_PROBE,))
    assert "application/vnd.jupyter.widget-view+json" in _shown(notebook.cells[-2])
    stream = "".join(o.get("text", "") for o in notebook.cells[-1].outputs if o.get("output_type") == "stream")
    probe = json.loads(stream.strip().splitlines()[-1])
    assert probe["mql"][1] == probe["mql"][0] + 10
    assert probe["mqls"][1] < probe["mqls"][0]
    assert probe["image_changed"] and probe["readout_changed"] and probe["error"] is None
    assert probe["refreshes"] == 4  # the first draw, then one per control change
    assert probe["seconds"] < 2.0
