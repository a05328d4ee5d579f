"""What a learner sees in Jupyter: the notebooks run in a real kernel and show their
pictures; a plot, a History and a progress bar each show themselves as they should."""
import base64
import importlib
import io
import json
import os
import pathlib
import pickle
import re
import shutil

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import data, nn, optim, viz
from tinygrad_edu.train import GradientNormBelow, History, fit

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
PNG = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ the notebooks
def test_every_notebook_is_committed_without_outputs():
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert books, "no notebook under notebooks/"
    for path in books:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb["nbformat"] == 4, path.name
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [], (path.name, cell.get("id"))
                assert cell["execution_count"] is None, (path.name, cell.get("id"))


def need(module):
    """Import a module of the dev extra: a learner without it skips, CI (CI=true) fails."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing in CI: .ci/run must pip install -e '.[dev]'")
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """notebooks/00_smoke.ipynb run top to bottom in a fresh python3 kernel (in a temporary
    copy); {tag: outputs of the cell with that tag}."""
    nbformat, nbclient = need("nbformat"), need("nbclient")
    need("ipykernel")
    folder = tmp_path_factory.mktemp("notebooks")
    path = shutil.copy(NOTEBOOKS / "00_smoke.ipynb", folder)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    cells = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, (cell.source, errors)
            for tag in cell.metadata.get("tags", []):
                cells[tag] = cell.outputs
    return cells


def shown(outputs, mime):
    """The data of each displayed output (the cell's value or a display()) of type mime."""
    return [o["data"][mime] for o in outputs
            if o["output_type"] in ("execute_result", "display_data") and mime in o["data"]]


def printed(outputs, stream=None):
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream"
                   and stream in (None, o["name"]))


def test_the_plot_shows_once_as_a_png(smoke):
    (png,) = shown(smoke["plot"], "image/png")            # exactly one picture: no echo
    assert base64.b64decode(png)[:8] == PNG
    assert not any(o["output_type"] == "display_data" for o in smoke["plot"])
    assert "<Figure size" not in printed(smoke["plot"])


def test_the_graph_and_the_network_show_as_svg(smoke, dot):
    for tag in ("graph", "network"):
        (svg,) = shown(smoke[tag], "image/svg+xml")
        assert "<svg" in svg, tag
    graph = shown(smoke["graph"], "image/svg+xml")[0]
    assert all(f">{name}</text>" in graph for name in ("x", "w", "b", "y", "loss", "t1"))


def test_the_explanation_uses_the_graphs_names(smoke):
    (text,) = shown(smoke["explain"], "text/plain")
    assert "dloss/dw = dloss/dt1 * dt1/dw" in text and "Gradients" in text


def test_training_shows_a_bar_and_why_it_stopped(smoke):
    out = printed(smoke["fit"])
    assert re.search(r"stopped after epoch \d+: \S", out), out
    value = [o["data"]["text/plain"] for o in smoke["fit"] if o["output_type"] == "execute_result"]
    assert value == ["1.0"]                                 # the score: XOR is learned
    try:
        import ipywidgets  # noqa: F401
    except ImportError:   # tqdm.auto falls back to the text bar, quietly
        assert "fit:" in printed(smoke["fit"], "stderr")
        assert "IProgress" not in printed(smoke["fit"])
    else:                 # the notebook widget
        assert shown(smoke["fit"], "application/vnd.jupyter.widget-view+json")


def test_the_history_shows_as_one_line(smoke):
    (text,) = shown(smoke["history"], "text/plain")
    assert text.startswith("History(epochs=") and "\n" not in text and len(text) < 160


# ------------------------------------------------------------------------ figures
@pytest.fixture
def mpl():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def every_plot():
    X, y = data.xor()
    model = tg.models.MLPClassifier((3,), activation="tanh", random_state=0).fit(X, y)
    return {"history": lambda: viz.plot_history(model),
            "decision_boundary": lambda: viz.plot_decision_boundary(model, X, y),
            "activations": viz.plot_activations,
            "first_layer": lambda: viz.plot_first_layer(model, shape=(1, 2))}


def test_every_plot_is_a_figure_that_jupyter_shows_as_png(mpl):
    from matplotlib.figure import Figure
    formatter = need("IPython.core.formatters").DisplayFormatter()  # as a fresh kernel has it
    for name, plot in every_plot().items():
        fig = plot()
        assert isinstance(fig, Figure) and isinstance(fig, viz.plots.Figure), name
        data, _ = formatter.format(fig)
        assert data["image/png"][:8] == PNG, name
        assert "image/svg+xml" not in data, name        # one picture, not two kinds


def test_a_plot_still_saves_pickles_and_stays_out_of_pyplot(mpl, tmp_path):
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    fig = viz.plot_history([1.0, 0.5, 0.25])
    assert plt.get_fignums() == before                # pyplot keeps no reference to it
    fig.savefig(tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:8] == PNG
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    assert b"<svg" in buffer.getvalue()
    again = pickle.loads(pickle.dumps(fig))
    assert type(again) is type(fig) and again._repr_png_()[:8] == PNG


def test_a_figure_that_pyplot_shows_is_not_shown_twice(mpl):
    import matplotlib.pyplot as plt
    fig = plt.figure(FigureClass=viz.plots.Figure)    # as a window or widget backend makes it
    try:
        assert fig._repr_png_() is None                 # its backend shows it
    finally:
        plt.close(fig)


# ------------------------------------------------------------- History and progress
def test_history_repr_is_a_one_line_summary():
    h = History(loss=list(np.linspace(0.7, 0.01, 500)) + [0.02], val_loss=[0.8, 0.3, 0.4],
                val_metric=[0.5, 1.0, 0.75], stopped_by="EarlyStopping", best_epoch=1)
    text = repr(h)
    assert "\n" not in text and len(text) < 200
    assert text == ("History(epochs=501, loss=0.7→0.02 (min 0.01), val_loss=0.8→0.4 (min 0.3), "
                    "val_metric=0.5→0.75 (max 1), best_epoch=1, stopped_by='EarlyStopping')")
    assert str(h) == text
    assert repr(History()) == "History(epochs=0)"
    assert repr(History(loss=[0.5], best_epoch=0)) == \
        "History(epochs=1, loss=0.5, best_epoch=0, stopped_by=None)"


@pytest.fixture
def line():
    rs = np.random.RandomState(0)
    X = rs.randn(64, 2)
    return X, X @ np.array([1.5, -2.0]) + 0.5


def test_the_progress_bar_ends_with_why_training_stopped(line, capsys):
    pytest.importorskip("tqdm")
    X, y = line
    mse = lambda out, target: ((out.reshape(-1) - tg.Tensor(target)) ** 2).mean()
    model = nn.Linear(2, 1, random_state=0)
    h = fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=300,
            progress=True, stopping=[GradientNormBelow(1e-3)])
    out, err = capsys.readouterr()
    assert out == "" and h.epochs < 300
    assert err.rstrip().splitlines()[-1] == f"stopped after epoch {h.epochs}: {h.reason}"
    assert "gradient norm" in h.reason
    model = nn.Linear(2, 1, random_state=0)
    fit(model, mse, X, y, optimizer=optim.SGD(model.parameters(), lr=0.01), epochs=5,
        progress=True)
    last = capsys.readouterr().err.rstrip().splitlines()[-1]
    assert last == "stopped after epoch 5: reached the maximum of 5 epochs"
