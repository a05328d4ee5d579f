"""The demo: python -m tinygrad_edu (and the console script tinygrad-edu)."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from tinygrad_edu.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
PICTURES = ["graph.svg", "network.svg", "loss.png", "boundary.png", "rbm_filters.png"]
HAS_DOT = shutil.which("dot") is not None


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def check_story(text):
    """The steps of the story, numbered, with the numbers that tell it."""
    steps = re.findall(r"^(\d)\. ", text, flags=re.MULTILINE)
    assert steps == [str(k) for k in range(1, 10)], steps
    assert re.search(r"XOR:\s+accuracy (50|75)%", text)                 # 2. a line fails
    assert "ln 2" in text                                                # 3. cross-entropy
    assert re.search(r"loss 0\.693 → 0\.0\d\d", text)                    # 4. gradient descent
    assert "[−0.5, 1, 1, −2]" in text                                    # 5. the hand-made weights
    predictions = re.findall(r"^\s+(\d)\s+(\d)\s+(\d)\s+-?0\.5\s+0\.\d\d\s+(\d)\s+(\d)$", text,
                             flags=re.MULTILINE)
    assert [(p[3], p[4]) for p in predictions] == [("0", "0"), ("1", "1"), ("1", "1"), ("0", "0")]
    assert re.search(r"6\. .*\n\s+accuracy 100%", text)                   # 6. the MLP learns it
    assert re.search(r"z1 ≈ .*z2 .*z3 ", text)                           #    its hidden units
    assert "dL/dw = (y − t)·x" in text                                   # 7. backpropagation
    assert "517,000 weights" in text                                     # 8. capacity
    m = re.search(r"9\. Part 3.*\n.*largest difference (\S+)\);\n.*error (\S+) → (\S+) in",
                  text)                                                  # 9. an RBM learns
    assert m and float(m.group(1)) < 1e-12 and float(m.group(3)) < float(m.group(2)), text


@pytest.mark.skipif(not HAS_DOT or not has_matplotlib(), reason="needs Graphviz and matplotlib")
def test_demo_in_process_writes_every_picture(tmp_path, capsys):
    out = tmp_path / "pictures"
    assert main(["--out", str(out)]) == 0
    text = capsys.readouterr().out
    check_story(text)
    for name in PICTURES + ["activations.png"]:
        assert (out / name).stat().st_size > 1000, name
    assert (out / "network.svg").read_text().lstrip().startswith("<?xml")
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob("*.dot"))
    assert "not found" not in text and "skipped" not in text
    assert len(text.splitlines()) < 50                                   # short


def test_demo_as_a_module_in_a_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "--out", "demo"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    check_story(result.stdout)
    assert "Traceback" not in result.stderr
    out = tmp_path / "demo"
    expected = (["graph.svg", "network.svg"] if HAS_DOT else ["graph.dot", "network.dot"]) + \
        (["loss.png", "boundary.png"] if has_matplotlib() else [])
    for name in expected:
        assert (out / name).is_file(), name


def test_demo_default_folder_and_help(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--out" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "")                     # also: no Graphviz, as below
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # and no matplotlib
    assert main([]) == 0
    text = capsys.readouterr().out
    check_story(text)
    folder = tmp_path / "tinygrad_edu_out"
    assert sorted(p.name for p in folder.iterdir()) == ["graph.dot", "network.dot"]
    assert "matplotlib is not installed, so the plots were skipped: pip install matplotlib" in text


def test_demo_without_dot_writes_dot_sources_and_the_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")                     # no `dot` anywhere
    assert main(["--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in ("graph.dot", "network.dot"):
        source = (tmp_path / name).read_text(encoding="utf-8")
        assert source.startswith("digraph")
    assert not list(tmp_path.glob("*.svg"))
    assert "`dot` program was not found" in text
    assert "apt-get install graphviz" in text and "dot -Tsvg graph.dot -o graph.svg" in text
    if has_matplotlib():                               # the plots need no Graphviz
        assert (tmp_path / "loss.png").is_file() and (tmp_path / "boundary.png").is_file()
