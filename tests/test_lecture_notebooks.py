"""The lecture notebooks (notebooks/01_*.ipynb onwards) run top to bottom in a real kernel,
each in under a minute, showing pictures; and they are what notebooks/make_notebooks.py
writes."""
import ast
import os
import shutil
import subprocess
import sys
import time

import pytest
from test_notebooks import NOTEBOOKS, need, shown

LECTURES = sorted(NOTEBOOKS.glob("0[1-9]*.ipynb"))
IMAGES = ("image/png", "image/svg+xml")


@pytest.fixture(scope="module", params=LECTURES, ids=lambda path: path.stem)
def lecture(request, tmp_path_factory):
    """(notebook, seconds): the notebook executed in a fresh python3 kernel, in a temporary
    copy, with one BLAS thread (the suite shares 2 cores)."""
    nbformat, nbclient = need("nbformat"), need("nbclient")
    need("ipykernel")
    folder = tmp_path_factory.mktemp(request.param.stem)
    path = shutil.copy(request.param, folder)
    nb = nbformat.read(path, as_version=4)
    with pytest.MonkeyPatch.context() as mp:   # the kernel inherits this environment
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            mp.setenv(var, "1")
        start = time.perf_counter()
        nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(folder)}}).execute()
        seconds = time.perf_counter() - start
    return nb, seconds


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_there_is_a_notebook_per_part():
    assert [p.name[:2] for p in LECTURES] == ["01", "02", "03", "04", "05", "06"]


def test_the_notebook_runs_without_errors(lecture):
    nb, _ = lecture
    for cell in code_cells(nb):
        errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        assert not errors, (cell.source, errors)


def test_the_notebook_shows_a_picture(lecture):
    nb, _ = lecture
    pictures = [data for cell in code_cells(nb) for mime in IMAGES
                for data in shown(cell.outputs, mime)]
    assert pictures, "no image/png or image/svg+xml output"


def draws_last(source):
    """Whether the cell's last statement is a call of tg.viz.draw_graph or draw_network."""
    body = ast.parse(source).body
    return bool(body) and isinstance(body[-1], ast.Expr) and isinstance(body[-1].value, ast.Call) \
        and getattr(body[-1].value.func, "attr", "") in ("draw_graph", "draw_network")


def test_graphs_and_networks_show_as_svg(lecture, dot):
    nb, _ = lecture
    for cell in code_cells(nb):
        if draws_last(cell.source):
            (svg,) = shown(cell.outputs, "image/svg+xml")
            assert "<svg" in svg, cell.source


def test_the_notebook_runs_in_under_a_minute(lecture):
    _, seconds = lecture
    assert seconds < 60, f"{seconds:.1f} s"


def test_the_committed_notebooks_are_what_the_script_writes():
    need("nbformat")
    result = subprocess.run([sys.executable, str(NOTEBOOKS / "make_notebooks.py"), "--check"],
                            check=False, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 notebooks up to date" in result.stdout
