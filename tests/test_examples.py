"""Every script in examples/ runs to the end and prints the numbers that make its point.

Each script is run as a user runs it (``python examples/NAME.py``, in a subprocess), with
``--out DIR`` when it accepts one, so that the pictures are written too. A new example
is picked up automatically; if it has no entry in CHECKS, only its exit code is checked.
"""
import contextlib
import importlib.util
import inspect
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TIMEOUT = 120  # seconds per script; each takes well under 30 s


def numbers(pattern, out):
    """The float groups of the first match of ``pattern`` (percent signs stripped)."""
    m = re.search(pattern, out, re.MULTILINE)
    assert m, f"no match for {pattern!r} in:\n{out}"
    return [float(g.replace(",", "")) for g in m.groups()]


def check_01(out):
    assert "separable blobs: gradient-descent accuracy 100.0%" in out
    assert "separable blobs: LogisticRegression accuracy 100.0%" in out
    low, = numbers(r"overlapping blobs: gradient-descent accuracy ([\d.]+)%", out)
    assert 60 < low < 95
    low_lr, = numbers(r"overlapping blobs: LogisticRegression accuracy ([\d.]+)%", out)
    assert abs(low_lr - low) < 2  # a convex problem: both find (nearly) the same line


def check_02(out):
    acc, = numbers(r"logistic regression accuracy on XOR: (\d+)%", out)
    assert acc <= 75
    assert "best of 20,000 random lines: 75%" in out
    assert "accuracy with the x3 feature: 100%" in out
    assert "-0.5 + 1*1 + 1*1 - 2*1 = -0.5" in out  # the arithmetic for the point (1, 1)
    assert "hand-set network accuracy: 100%" in out
    assert "trained MLP accuracy on XOR: 100%" in out
    assert len(re.findall(r"^\s+z\d: b = .* W = \[", out, re.MULTILINE)) == 3


def check_03(out):
    if "needs scikit-learn" in out:
        pytest.skip("the digits ship with scikit-learn, which is not installed")
    held_out, = numbers(r"held-out accuracy ([\d.]+)%", out)
    assert held_out > 90
    total, = numbers(r"^total\s+([\d,]+)$", out)
    assert total == 64 * 32 + 32 + 32 * 10 + 10
    assert "Confusion matrix" in out and "most often confused" in out


def check_04(out):
    gd = numbers(r"gradient descent: w = \[w0, w1\] = \[([-\d.]+), ([-\d.]+)\]", out)
    exact = numbers(r"least squares:    w = \[w0, w1\] = \[([-\d.]+), ([-\d.]+)\]", out)
    np.testing.assert_allclose(gd, exact, atol=2e-4)
    line, = numbers(r"a straight line: held-out R\^2 = ([-\d.]+)", out)
    mlp, = numbers(r"MLPRegressor held-out R\^2 = ([-\d.]+)", out)
    assert line < 0.2 and mlp > 0.9


def check_05(out):
    rows = {}
    for rule in ("none", "GradientNormBelow", "LossPlateau", "EarlyStopping", "all three"):
        m = re.search(rf"^\s+{rule}\S*(?: \S+)* +(\S+) +(\d+) +([\d.]+) +([\d.]+) +([\d.]+)%$",
                      out, re.MULTILINE)
        assert m, (rule, out)
        rows[rule] = m.groups()
    assert rows["none"][0] == "-" and rows["none"][1] == "1000"
    for rule in ("GradientNormBelow", "LossPlateau", "EarlyStopping"):
        fired, epochs = rows[rule][:2]
        assert fired == rule and int(epochs) < 1000, rows[rule]
    # early stopping leaves a lower held-out loss than training to the end
    assert float(rows["EarlyStopping"][3]) < float(rows["none"][3])
    assert "cross-validation picks learning rate" in out
    assert len(re.findall(r"^\s+[\d.]+\s+\d+\s+(?:[\d.]+%\s+){3}\s*[\d.]+%$", out,
                          re.MULTILINE)) == 9


def check_06(out):
    losses = {}
    for name in ("gradient descent", "momentum 0.9", "Adam", "L-BFGS", "conjugate gradient"):
        m = re.search(rf"^{name} +\S+ +(\d+) +(\d+) +([-\d.e+]+) ", out, re.MULTILINE)
        if m is None and name in ("L-BFGS", "conjugate gradient"):
            assert "scipy is not installed" in out
            continue
        assert m, (name, out)
        iterations, evaluations, losses[name] = int(m[1]), int(m[2]), float(m[3])
        assert 1 <= iterations <= 300 and evaluations >= iterations
    if "L-BFGS" in losses:
        assert losses["L-BFGS"] < losses["gradient descent"]


def check_07(out):
    assert "517,000" in out and "517,510" in out
    assert "5,170,000 samples" in out and "5.17 million" in out
    total, = numbers(r"^total\s+([\d,]+)$", out)
    assert total == 517_000


def check_08(out):
    assert out.count("hand and engine agree: True") == 2
    assert "Gradients (what L.backward() stores in .grad):" in out
    assert "dL/dW = [[-0.06481, 0.06392]" in out


def check_logistic_unit(out):
    assert "dL/dw =" in out


CHECKS = {"01_logistic_regression": check_01, "02_xor": check_02, "03_digits": check_03,
          "04_regression": check_04, "05_stopping_and_cv": check_05,
          "06_optimizers": check_06, "07_parameter_count": check_07,
          "08_backprop_by_hand": check_08, "logistic_unit": check_logistic_unit}


def run(script, *args, cwd=ROOT):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    return proc, time.perf_counter() - start


def test_the_numbered_examples_are_all_here():
    names = {p.stem for p in EXAMPLES}
    assert {name for name in CHECKS if name[0].isdigit()} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_prints_its_numbers(script, tmp_path):
    takes_out = '"--out"' in script.read_text()
    out_dir = tmp_path / "pictures"
    proc, seconds = run(script, *(["--out", str(out_dir)] if takes_out else []))
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    check = CHECKS.get(script.stem)
    if check is not None:
        check(proc.stdout)
    if takes_out:
        written = sorted(p.name for p in out_dir.glob("*")) if out_dir.exists() else []
        skipped = "is not installed" in proc.stdout
        assert written or skipped, f"{script.name} --out wrote nothing:\n{proc.stdout}"
        for name in written:
            assert name in proc.stdout, f"{name} written but not reported"
    assert seconds < TIMEOUT


def load(stem):
    """Import examples/STEM.py as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{stem}",
                                                  ROOT / "examples" / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore:.*max_iter")
def test_the_k_fold_loop_by_hand_agrees_with_gridsearchcv(monkeypatch):
    pytest.importorskip("sklearn")
    cv = load("05_stopping_and_cv")
    monkeypatch.setattr(cv, "LEARNING_RATES", (0.3,))
    monkeypatch.setattr(cv, "HIDDEN_SIZES", (1, 4))
    X, y = cv.data.xor(noise=0.35, n_repeats=6, random_state=0)
    folds = cv.k_fold_indices(len(X), 3)
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(len(X)))
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == len(X)
    by_hand, with_sklearn = cv.cv_by_hand(X, y, folds), cv.cv_with_sklearn(X, y, folds)
    assert by_hand.keys() == with_sklearn.keys() == {(0.3, 1), (0.3, 4)}
    for key in by_hand:
        np.testing.assert_allclose(by_hand[key], with_sklearn[key])


@pytest.mark.parametrize("stem", ["01_logistic_regression", "03_digits", "04_regression",
                                  "05_stopping_and_cv", "06_optimizers"])
def test_pictures_are_skipped_politely_without_matplotlib(stem, tmp_path, monkeypatch):
    module = load(stem)
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    params = list(inspect.signature(module.write_pictures).parameters)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module.write_pictures(tmp_path / "pictures", *[None] * (len(params) - 1))
    assert "matplotlib is not installed" in printed.getvalue()
    assert "pip install matplotlib" in printed.getvalue()
    assert not (tmp_path / "pictures").exists() or not any((tmp_path / "pictures").iterdir())


def test_without_out_nothing_is_written(tmp_path):
    script = ROOT / "examples" / "08_backprop_by_hand.py"
    proc, _ = run(script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == []
    assert "wrote" not in proc.stdout
