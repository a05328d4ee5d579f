"""The docs site (mkdocs.yml, docs/) builds in strict mode and shows what it promises: the
lesson notebooks run, with their pictures; the API reference from the docstrings; the
custom-op guide; the reference engine annotated. And strict mode does fail: on a broken
link, on a notebook cell that raises, on a quote that no longer matches the source."""
import contextlib
import html
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import tinygrad_edu as tg

ROOT = Path(__file__).resolve().parents[1]
LESSON = sorted((ROOT / "notebooks").glob("0[1-9]_*.ipynb")) + [ROOT / "notebooks" / "exercises.ipynb"]
NEEDED = {"mkdocs": "mkdocs", "mkdocstrings_handlers.python": "mkdocstrings-python",
          "mkdocs_jupyter": "mkdocs-jupyter"}


def absent(module):
    try:
        return importlib.util.find_spec(module) is None
    except ImportError:  # (its parent package is missing)
        return True


def need_mkdocs():
    """The docs tools: a learner without them skips, CI (CI=true) fails."""
    missing = [pip for module, pip in NEEDED.items() if absent(module)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing in CI: the docs extra is part of dev")
        pytest.skip(f"the docs site needs {' '.join(missing)} (pip install -e '.[docs]')")


def mkdocs_build(config, site, timeout):
    """``mkdocs build --strict`` of ``config`` into ``site``, the notebooks run (as far as
    ``config`` says) with one BLAS thread (the suite shares 2 cores). The finished process."""
    env = dict(os.environ, DOCS_EXECUTE="true", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--config-file", str(config), "--site-dir", str(site)],
                          cwd=config.parent, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def words(text):
    """The words of ``text``, markup and punctuation aside (a docstring against its page)."""
    return " ".join(re.findall(r"[A-Za-z0-9]+", text))


def page_text(page):
    """The text of a built page, tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once from the repository's mkdocs.yml, notebooks executed."""
    need_mkdocs()
    out = tmp_path_factory.mktemp("site")
    run = mkdocs_build(ROOT / "mkdocs.yml", out, timeout=600)
    assert run.returncode == 0, run.stderr[-6000:]
    return out


def test_the_strict_build_passes_without_a_warning(site):
    assert (site / "index.html").is_file() and (site / "sitemap.xml").is_file()


# ------------------------------------------------------------------ the lesson
@pytest.mark.parametrize("notebook", LESSON, ids=lambda path: path.stem)
def test_each_lesson_notebook_is_a_page_run_with_its_pictures(site, notebook):
    page = site / "notebooks" / notebook.stem / "index.html"
    assert page.is_file(), f"no page for {notebook.name}"
    text = page.read_text(encoding="utf-8")
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ")
    assert words(title) in words(page_text(page))
    # committed without outputs: a picture on the page was drawn when the site was built
    assert "data:image/png;base64," in text or "<svg" in text, "no picture on the page"


def test_the_home_page_links_every_lesson_notebook_and_page(site):
    home = (site / "index.html").read_text(encoding="utf-8")
    for notebook in LESSON:
        assert f'href="notebooks/{notebook.stem}/"' in home, notebook.name
    for page in ("reference_engine/", "custom_ops/", "api/tensor/"):
        assert f'href="{page}"' in home, page


# ------------------------------------------------------------------ the API reference
# {page: the objects whose docstring it shows, by dotted name under tinygrad_edu}
API = {"tensor": ["tensor", "tensor.Tensor", "creation", "transforms"],
       "ops": ["function", "function.Function", "ops", "ops.Mul"],
       "functional": ["functional", "nn.functional"], "nn": ["nn", "nn.Linear"],
       "optim": ["optim", "lr_scheduler"], "models": ["models"],
       "train": ["train", "data", "io"], "rbm": ["rbm"], "viz": ["viz"],
       "exercises": ["exercises"], "engine": ["autograd", "reference", "reference.backward",
                                              "engine"],
       "errors_modes": ["errors", "modes"], "testing": ["testing"]}


def resolve(dotted):
    """tinygrad_edu's module or object of that dotted name ("tensor" is the module)."""
    try:
        return importlib.import_module(f"tinygrad_edu.{dotted}")
    except ModuleNotFoundError:
        module, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(f"tinygrad_edu.{module}"), attr)


@pytest.mark.parametrize("name", sorted(API))
def test_the_api_pages_show_the_docstrings(site, name):
    text = words(page_text(site / "api" / name / "index.html"))
    for dotted in API[name]:
        first = resolve(dotted).__doc__.strip().split("\n\n")[0]   # the first paragraph
        assert words(first) in text, f"{dotted}: {first[:80]!r}"


def test_the_ops_page_shows_the_source_of_each_op(site):
    text = page_text(site / "api" / "ops" / "index.html")
    ops = [name for name, obj in vars(tg.ops).items()
           if isinstance(obj, type) and issubclass(obj, tg.Function)
           and obj.__module__ == "tinygrad_edu.ops" and not name.startswith("_")]
    assert len(ops) > 40
    for name in ops:
        assert re.search(rf"class\s+{name}\s*\(", text), name


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


HTML_TAGS = {"a", "abbr", "b", "blockquote", "body", "br", "button", "code", "dd", "details",
             "div", "dl", "dt", "em", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
             "head", "header", "hr", "html", "i", "img", "input", "kbd", "label", "li", "link",
             "meta", "nav", "ol", "p", "pre", "script", "section", "small", "span", "strong",
             "style", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "title",
             "tr", "ul"}


@pytest.mark.parametrize("name", sorted(API))
def test_no_docstring_text_becomes_an_html_tag(site, name):
    """A docstring's <v>_data or sum_k <g_k, y_k> shows as text, not as a hidden tag."""
    parser = _Tags()
    parser.feed((site / "api" / name / "index.html").read_text(encoding="utf-8"))
    assert parser.tags <= HTML_TAGS, sorted(parser.tags - HTML_TAGS)


def test_a_less_than_sign_of_a_docstring_shows_as_itself(site):
    text = page_text(site / "api" / "rbm" / "index.html")
    assert "<h v^T>_data" in text and "<v>_model" in text


# ------------------------------------------------------------------ the other pages
def test_the_custom_op_guide_and_its_example_are_on_the_site(site):
    page = site / "custom_ops" / "index.html"
    assert "Writing your own op" in page_text(page)
    assert 'href="../examples/custom_op.py"' in page.read_text(encoding="utf-8")
    example = site / "examples" / "custom_op.py"
    assert example.read_bytes() == (ROOT / "examples" / "custom_op.py").read_bytes()


def test_the_reference_engine_page_shows_the_whole_file(site):
    text = page_text(site / "reference_engine" / "index.html")
    compact = "".join(text.split())  # (Pygments splits each line into tokens)
    source = (ROOT / "tinygrad_edu" / "reference.py").read_text(encoding="utf-8")
    for line in source.splitlines():
        assert "".join(line.split()) in compact, line
    for part in ("toposort", "pending", "vjp", "unbroadcast", ".grad", "register_hook"):
        assert part in text, part


def python_blocks(markdown):
    """The Python blocks of a page that are not quotes of a file (no title=)."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", ["index.md", "reference_engine.md"])
def test_the_python_blocks_of_the_pages_run(page):
    markdown = (ROOT / "docs" / page).read_text(encoding="utf-8")
    blocks = python_blocks(markdown)
    assert blocks
    for i, block in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, f"docs/{page}[block {i}]", "exec"), {"__name__": "docs"})  # noqa: S102  (the docs are ours)
    if page == "reference_engine.md":  # the page shows what its last block prints
        shown = re.search(r"^prints\n\n((?:    .*\n)+)", markdown, flags=re.MULTILINE)
        assert shown, "no 'prints' block after the last example"
        expected = [line[4:] for line in shown.group(1).splitlines()]
        assert out.getvalue().splitlines() == expected


# ------------------------------------------------------------------ strict mode fails
@pytest.fixture
def copy_of_the_site(tmp_path):
    """A copy of mkdocs.yml and docs/ in tmp_path (the package, the notebooks and the
    examples linked in), building without running the notebooks unless told to:
    (config, docs folder)."""
    need_mkdocs()
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for name in ("tinygrad_edu", "notebooks", "examples"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    config = tmp_path / "mkdocs.yml"
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "execute: !ENV [DOCS_EXECUTE, true]" in text
    config.write_text(text.replace("execute: !ENV [DOCS_EXECUTE, true]", "execute: false"),
                      encoding="utf-8")
    return config, tmp_path / "docs"


def warnings_of(run):
    return [line for line in run.stderr.splitlines() if line.startswith("WARNING")]


def test_a_broken_link_fails_the_strict_build(copy_of_the_site, tmp_path):
    config, docs = copy_of_the_site
    with (docs / "index.md").open("a", encoding="utf-8") as f:
        f.write("\nSee [the missing page](no_such_page.md).\n")
    run = mkdocs_build(config, tmp_path / "site", timeout=300)
    assert run.returncode != 0
    (warning,) = warnings_of(run)                     # that link, and nothing else
    assert "no_such_page.md" in warning, run.stderr[-3000:]


def test_a_quote_that_left_the_source_fails_the_strict_build(copy_of_the_site, tmp_path):
    config, docs = copy_of_the_site
    page = docs / "reference_engine.md"
    text = page.read_text(encoding="utf-8")
    head = '```python title="reference.py"\n'
    first_line = text.index(head) + len(head)     # the first quote: its first line changed
    page.write_text(text[:first_line] + "#" + text[first_line:], encoding="utf-8")
    run = mkdocs_build(config, tmp_path / "site", timeout=300)
    assert run.returncode != 0
    (warning,) = warnings_of(run)
    assert "reference_engine.md quotes lines" in warning, run.stderr[-3000:]


def test_a_notebook_cell_that_raises_fails_the_strict_build(copy_of_the_site, tmp_path):
    config, _ = copy_of_the_site
    (tmp_path / "notebooks").unlink()                 # the lesson, as one-cell notebooks
    (tmp_path / "notebooks").mkdir()
    for notebook in LESSON:
        source = "1 / 0" if notebook.name.startswith("01") else "print('fine')"
        cells = [{"cell_type": "markdown", "id": "title", "metadata": {},
                  "source": f"# {notebook.stem}"},
                 {"cell_type": "code", "id": "cell", "metadata": {}, "execution_count": None,
                  "outputs": [], "source": source}]
        book = json.loads(notebook.read_text(encoding="utf-8"))
        book["cells"] = cells
        (tmp_path / "notebooks" / notebook.name).write_text(json.dumps(book), encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("execute: false", "execute: true"), encoding="utf-8")
    run = mkdocs_build(config, tmp_path / "site", timeout=300)
    assert run.returncode != 0
    assert "ZeroDivisionError" in run.stdout + run.stderr, run.stderr[-3000:]
