"""The house: which module may import which, and a clean lint.

The core's rooms import only downwards: the leaves (errors, modes, kernels) import no
other module of the package but errors; the cycle between tensor.py and the modules that
build Tensors is closed at one place, the last lines of tensor.py; nothing in the core
imports the learning stack or the pictures.
"""
import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import tinygrad_edu

PACKAGE = pathlib.Path(tinygrad_edu.__file__).parent
LEAVES = {"errors": set(), "modes": {"errors"}, "kernels": {"errors"}, "random": set()}
CORE = {"autograd", "errors", "modes", "kernels", "random", "tensor", "function", "ops",
        "reference", "engine", "transforms", "creation", "functional", "testing"}


def package_imports(path):
    """{module: line} for the module-level and function-level imports of this package."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            for name in names:
                found.setdefault(name.split(".")[0], node.lineno)
    return found


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaf_modules_import_nothing_of_the_package_but_errors(leaf):
    assert set(package_imports(PACKAGE / f"{leaf}.py")) <= LEAVES[leaf]


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_never_imports_the_learning_stack_or_the_pictures(module):
    imported = set(package_imports(PACKAGE / f"{module}.py"))
    assert imported <= CORE, sorted(imported - CORE)


def test_no_import_hides_inside_a_function_in_the_core():
    for module in sorted(CORE):
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n for n in ast.walk(fn) if isinstance(n, ast.ImportFrom) and n.level]
                assert not inner, f"{module}.{fn.name} imports {inner[0].module} at call time"


def test_the_one_cycle_is_closed_at_the_bottom_of_tensor_py():
    """tensor.py imports the modules that build Tensors only after the class exists."""
    tree = ast.parse((PACKAGE / "tensor.py").read_text())
    classes = [n.lineno for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor"]
    late = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.level
            and {"engine", "ops", "function"} & {n.module or "", *(a.name for a in n.names)}]
    assert late and all(n.lineno > classes[0] for n in late)
    for module in ("function", "engine", "ops", "reference", "transforms"):
        assert "tensor" in package_imports(PACKAGE / f"{module}.py") or module == "ops"


def test_no_module_writes_into_another_module():
    """No patched globals (``othermodule.Name = value``) anywhere in the package."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {a.asname or a.name for n in ast.walk(tree)
                   if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id in modules and target.value.id != "np"):
                        pytest.fail(f"{path.name}:{node.lineno} assigns {target.value.id}."
                                    f"{target.attr}")


def test_ruff_check_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is missing in CI: it is in the dev extra")
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    root = PACKAGE.parent
    run = subprocess.run([ruff, "check", "--no-cache", "."], cwd=root, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]


def test_the_reference_engine_fits_one_sitting():
    lines = (PACKAGE / "reference.py").read_text().splitlines()
    assert 60 <= len(lines) <= 150, len(lines)


def test_import_of_the_package_needs_no_optional_dependency():
    code = ("import sys; sys.modules.update({m: None for m in ('scipy', 'matplotlib', 'tqdm', "
            "'sklearn', 'torch', 'pandas')}); import tinygrad_edu as tg; "
            "print(tg.Tensor([1.0]).sum().item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "1.0", out.stderr[-2000:]
