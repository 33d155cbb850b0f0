"""The notebooks in notebooks/: committed without outputs, listed in the README, and each runs top to bottom."""

import json
import pathlib
import time

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01_quickstart.ipynb", "02_train_on_your_data.ipynb", "03_export_and_serve.ipynb",
             "04_reproduce_the_paper.ipynb")
CELL_TIMEOUT = 600  # seconds; a notebook is meant to take under 3 minutes on a 2-core AVX2-only CPU


def test_the_notebooks_are_there_and_the_readme_lists_each():
    assert sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb")) == sorted(NOTEBOOKS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in NOTEBOOKS if f"notebooks/{name}" not in readme] == []


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    run = [index for index, cell in enumerate(notebook["cells"])
           if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert run == [], f"{name}: cells {run} keep outputs; clear them (Jupyter: Edit > Clear All Outputs)"


@pytest.mark.notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_runs_top_to_bottom(name, tmp_path):
    """Every cell runs without an error, in a fresh kernel, in an empty working folder."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # a failing cell raises CellExecutionError with its traceback
    print(f"{name}: {time.perf_counter() - start:.0f} s")
