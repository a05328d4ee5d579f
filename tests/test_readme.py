"""The README stays true: its Python blocks run, and its commands are the ones CI runs."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_block_runs(index, capsys):
    exec(compile(BLOCKS[index], f"README block {index}", "exec"), {"__name__": "readme"})  # noqa: S102  (the README is ours)


def test_first_block_prints_the_gradients_it_promises(capsys):
    exec(compile(BLOCKS[0], "README block 0", "exec"), {"__name__": "readme"})  # noqa: S102  (the README is ours)
    out = capsys.readouterr().out
    assert "Tensor([-0.5, -1. ])" in out and "Tensor(-0.5)" in out


def test_ci_runs_the_readme_test_command():
    command = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]" && python -m pytest'
    assert f"    {command}\n" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"\n{command}\n" in ci  # exactly the README's command
    assert re.search(r"apt-get install[^#\n]*graphviz", ci)
