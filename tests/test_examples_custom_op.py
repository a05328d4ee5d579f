"""examples/custom_op.py runs and reports its checks; the code in docs/custom_ops.md runs."""
import contextlib
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_custom_op_example_runs_and_reports_its_checks():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "examples/custom_op.py"], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "matches x * x.sigmoid() (values and gradients): True" in out
    assert re.search(r"^gradcheck:\s+True$", out, re.MULTILINE), out
    assert re.search(r"^gradgradcheck:\s+True$", out, re.MULTILINE), out
    assert "d2/dx2 swish(0) = 0.5 " in out  # exactly 0.5: 2 * sigmoid'(0)
    m = re.search(r"property test: gradcheck passed on (\d+) random arrays of (\d+) different", out)
    assert m and int(m.group(1)) == 40 and int(m.group(2)) > 1, out
    values = re.search(r"swish\(\[-1000, -2, 0, 2, 1000\]\) = \[(.*)\]", out)
    assert values, out
    np.testing.assert_allclose([float(v) for v in values.group(1).split()],
                               [0.0, -2 / (1 + np.exp(2)), 0.0, 2 / (1 + np.exp(-2)), 1000.0],
                               atol=1e-4)
    assert "Traceback" not in proc.stderr
    assert elapsed < 10, f"the example took {elapsed:.1f} s"


def test_custom_op_example_swish_is_checked_for_real():
    # The example's op, imported: a wrong backward must make its checks fail.
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import custom_op
    finally:
        sys.path.remove(str(ROOT / "examples"))
    import tinygrad_edu as tg
    from tinygrad_edu.testing import GradcheckError, gradcheck, gradgradcheck

    x = np.linspace(-3, 3, 7)
    assert gradcheck(custom_op.swish, x) and gradgradcheck(custom_op.swish, x)

    class WrongSwish(custom_op.Swish):
        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x.sigmoid()  # forgets the x * s * (1 - s) term

    with pytest.raises(GradcheckError):
        gradcheck(WrongSwish.apply, x)
    assert isinstance(custom_op.Swish.apply(tg.Tensor(x)), tg.Tensor)


def python_blocks(markdown):
    return re.findall(r"^```python\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE)


def test_every_code_block_of_the_custom_ops_page_runs():
    text = (ROOT / "docs" / "custom_ops.md").read_text()
    blocks = python_blocks(text)
    assert len(blocks) >= 10
    namespace = {"__name__": "custom_ops_doc"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, block in enumerate(blocks):
            exec(compile(block, f"docs/custom_ops.md[block {i}]", "exec"), namespace)  # noqa: S102
    printed = out.getvalue()
    for expected in ["Tensor(0.5)", "Tensor([12.])", "Tensor([0.1, 1. ])", "(4,)",
                     "Forgot.backward returned 1 gradient(s) for 2 input(s)",
                     "BadShape.backward returned a gradient of shape (1,) for an input of shape (3,)",
                     ("NoSave.backward reads saved_tensors, but forward never called "
                      "ctx.save_for_backward"),
                     "FastSwish is first-order only"]:
        assert expected in printed, (expected, printed)
