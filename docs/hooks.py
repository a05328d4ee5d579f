"""What the docs site adds to MkDocs (mkdocs.yml: ``hooks: [docs/hooks.py]``).

1. Files from outside docs/. The lesson notebooks live in notebooks/ and the example of
   the custom-op guide in examples/, and MkDocs only builds files from docs_dir. Copies
   or symlinks would drift or break; instead ``on_files`` adds the committed files
   themselves, under the path a page in docs/ links to them by in the repository
   (``../notebooks/01_logistic_unit.ipynb``). So one link works both in the repository
   and on the site, and strict mode checks it like any other: a link to a notebook that
   does not exist fails the build. On the site the ``../`` goes: the page of
   ``../notebooks/01_logistic_unit.ipynb`` is ``notebooks/01_logistic_unit/``.
   mkdocs-jupyter renders and runs each notebook straight from notebooks/, in a fresh
   kernel whose working directory is notebooks/.

2. Quotes that stay true. docs/reference_engine.md quotes tinygrad_edu/reference.py in
   blocks fenced as ```` ```python title="reference.py" ````. ``on_page_markdown`` finds
   each quote in the source and numbers its lines as the file does; a quote that is no
   longer a run of lines of the file is a warning, so a strict build fails on it.

3. Code colours: ``on_files`` adds css/pygments.css, Pygments' stylesheet for the code
   that pymdownx.highlight and mkdocstrings colour at build time (the readthedocs theme
   ships none), so the site needs no stylesheet from the network.

4. Search without the notebooks' stylesheets: a notebook page carries its own CSS and
   scripts, which MkDocs's search would index as text (600 kB of it per notebook). The
   two ``on_page_context`` handlers hide them from the search plugin, which indexes the
   page in between, and put them back before the page is written.

5. Two griffe extensions that mkdocs.yml gives mkdocstrings, for the API pages.
   ``UndocumentedSpecialMembers``: the pages show every public function and method,
   with or without a docstring (``Tensor.sum`` shows its signature), but a special member
   without a docstring (``__add__``, ``__repr__``, ``__slots__``) says nothing its class
   does not, so it is left out; ``__init__`` stays, its signature is the class's.
   ``PlainTextLessThan``: the docstrings are plain text, read as Markdown, and Markdown
   takes ``<v>_data`` or ``sum_k <g_k, y_k>`` for HTML tags, which a browser hides; so a
   ``<`` outside code is written as ``&lt;`` and shows as itself.
"""
from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

import griffe
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import File, InclusionLevel
from pygments.formatters import HtmlFormatter

log = logging.getLogger("mkdocs.hooks.tinygrad_edu")

ROOT = Path(__file__).resolve().parent.parent
# The files from outside docs/ that the site shows, as globs relative to the repository.
# (notebooks/00_smoke.ipynb is a fixture of the test suite, not part of the lesson.)
OUTSIDE_DOCS = ["notebooks/0[1-9]_*.ipynb", "notebooks/exercises.ipynb", "examples/custom_op.py"]
# Pages that quote a source file: {page: the file, relative to the repository}.
QUOTING = {"reference_engine.md": "tinygrad_edu/reference.py"}


# ------------------------------------------------------------------ 1 and 3: the files
@event_priority(100)  # before mkdocs-jupyter's on_files, which makes notebooks pages
def _add_files(files, config):
    docs = Path(config.docs_dir).resolve()
    up = Path(posixpath.relpath(ROOT.as_posix(), docs.as_posix())).as_posix()  # "..": docs/
    for pattern in OUTSIDE_DOCS:
        found = sorted(ROOT.glob(pattern))
        if not found:
            log.warning("docs/hooks.py: no file of the repository matches %r", pattern)
        for path in found:
            files.append(File(f"{up}/{path.relative_to(ROOT).as_posix()}", src_dir=str(docs),
                              dest_dir=config.site_dir,
                              use_directory_urls=config.use_directory_urls))
    files.append(File.generated(config, "css/pygments.css",
                                content=HtmlFormatter().get_style_defs(".highlight")))
    return files


@event_priority(-100)  # after mkdocs-jupyter has set where each notebook page goes
def _bring_outside_files_inside_the_site(files, config):
    for file in files:
        if file.src_uri.startswith("../"):
            # MkDocs leaves out paths that start with a dot, "../" among them: let it in
            file.inclusion = InclusionLevel.INCLUDED
            file.dest_uri = re.sub(r"^(\.\./)+", "", file.dest_uri)
            file.abs_dest_path = str(Path(config.site_dir, file.dest_uri))
            file.url = file._get_url()
    return files


on_files = CombinedEvent(_add_files, _bring_outside_files_inside_the_site)


# ------------------------------------------------------------------ 2: the quotes
def _line_of(quote, lines):
    """The line number (from 1) where ``quote`` starts as a run of ``lines``, or None.
    Lines are compared without their indentation (a quote may be dedented)."""
    quote, lines = [q.strip() for q in quote], [s.strip() for s in lines]
    for start in range(len(lines) - len(quote) + 1):
        if lines[start:start + len(quote)] == quote:
            return start + 1
    return None


def on_page_markdown(markdown, page, config, files):
    path = QUOTING.get(page.file.src_uri)
    if path is None:
        return markdown
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    fence = re.compile(rf'^(```python title="{re.escape(Path(path).name)}")([^\n]*)\n(.*?)^```',
                       re.MULTILINE | re.DOTALL)

    def numbered(match):
        head, rest, body = match.groups()
        quote = body.rstrip("\n").split("\n")
        start = _line_of(quote, lines)
        if start is None:
            log.warning("%s quotes lines that %s does not have (as a run of lines):\n%s",
                        page.file.src_uri, path, body.rstrip())
            return match.group(0)
        return f'{head} linenums="{start}"{rest}\n{body}```'

    return fence.sub(numbered, markdown)


# ------------------------------------------------------------------ 4: search
NOT_TEXT = re.compile(r"<(style|script)\b.*?</\1>", re.DOTALL | re.IGNORECASE)


@event_priority(100)  # before the search plugin indexes the page
def _hide_styles_and_scripts(context, page, config, nav):
    if page.file.src_uri.endswith(".ipynb"):
        page.content_with_styles = page.content
        page.content = NOT_TEXT.sub("", page.content)
    return context


@event_priority(-100)  # after it, before the page is written
def _put_styles_and_scripts_back(context, page, config, nav):
    if hasattr(page, "content_with_styles"):
        page.content = page.content_with_styles
        del page.content_with_styles
    return context


on_page_context = CombinedEvent(_hide_styles_and_scripts, _put_styles_and_scripts_back)


# ------------------------------------------------------------------ 5: the API pages
class UndocumentedSpecialMembers(griffe.Extension):
    """Leave out of the API pages the special members (``__x__``) without a docstring."""

    def on_class_members(self, *, cls, **kwargs):
        for name, member in list(cls.members.items()):
            special = name.startswith("__") and name.endswith("__") and name != "__init__"
            if special and not member.is_alias and member.docstring is None:
                del cls.members[name]


def _less_than_as_text(text):
    """``text`` with each ``<`` outside code (indented blocks, fences, backticks) as ``&lt;``."""
    lines, code, fenced, blank_before = [], False, False, True
    for line in text.split("\n"):
        blank = not line.strip()
        fence = line.lstrip().startswith("```")
        if fence:
            fenced = not fenced
        elif not blank:  # an indented block starts after a blank line, and runs on
            code = line.startswith("    ") and (blank_before or code)
        if not (fence or fenced or code or blank):
            parts = re.split(r"(`+.*?`+)", line)  # (the odd parts are code spans)
            line = "".join(part if i % 2 else part.replace("<", "&lt;")
                           for i, part in enumerate(parts))
        lines.append(line)
        blank_before = blank
    return "\n".join(lines)


class PlainTextLessThan(griffe.Extension):
    """Show a ``<`` of a docstring as itself, not as the start of an HTML tag."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and "<" in obj.docstring.value:
            obj.docstring.value = _less_than_as_text(obj.docstring.value)
