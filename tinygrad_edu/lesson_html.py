"""The tour as one-file HTML lessons: one self-contained page per part, and an index.

    python -m tinygrad_edu --html DIR         (or tinygrad_edu.lesson_html.write_lessons(DIR))

Runs the tour's steps (`tinygrad_edu.tour.STEPS`) once, capturing what each step prints
and noting which pictures it wrote, and writes DIR/index.html and one page per part:

    part1.html  The logistic unit and its limits          steps 1-3
    part2.html  Gradient descent and hand-made features   steps 4-5
    part3.html  The hidden layer and backpropagation      steps 6-7
    part4.html  Capacity                                  step 8
    part5.html  Restricted Boltzmann machines             step 9

Each page holds its steps' headings and text, the graphs as inline SVG scaled to the
page width (to fit a projector), and the plots as embedded PNG images. Nothing is
loaded from anywhere else: no network, no scripts, no Python on the reader's side;
the pages link to each other and to the index only. Without Graphviz's ``dot`` program
a graph is shown as its DOT source, with a note on how to draw it.
"""
from __future__ import annotations

import base64
import contextlib
import html
import io
import pathlib
import re
import tempfile
import warnings

from . import models, tour

# (title, names of the tour's step functions); a step not listed here (a step added to
# the tour, or a custom `steps`) gets a part of its own at the end.
PARTS = (
    ("The logistic unit and its limits", ("logistic_unit", "only_a_line", "cross_entropy")),
    ("Gradient descent and hand-made features", ("gradient_descent", "hand_made_feature")),
    ("The hidden layer and backpropagation", ("hidden_layer", "backpropagation")),
    ("Capacity", ("capacity",)),
    ("Restricted Boltzmann machines", ("boltzmann_machine",)),
)

TITLE = "tinygrad_edu: from one logistic unit to a network that learns its own features"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; font-size: 1.25rem; line-height: 1.45; margin: 0 auto; padding: 1rem 2rem;
       max-width: 1400px; color: #111; background: #fff; }
h1 { font-size: 2rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.5rem; margin: 2rem 0 0.5rem; border-top: 2px solid #ccc; padding-top: 1rem; }
pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 1.1rem;
      white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: 0.75rem 1rem;
      border-radius: 6px; }
figure { margin: 1rem 0; text-align: center; }
figure svg { width: 100%; height: auto; max-height: 85vh; }
figure img { max-width: 100%; height: auto; max-height: 85vh; }
figure.wide { overflow-x: auto; }
figcaption { font-size: 1rem; color: #555; }
nav { display: flex; gap: 2rem; font-size: 1.1rem; margin: 0.5rem 0; }
.note { background: #fff4d6; padding: 0.5rem 1rem; border-radius: 6px; }
ol.parts li { margin: 0.75rem 0; }
"""


class Step:
    """One step as the tour ran it: its number, heading, text lines and pictures (paths)."""

    def __init__(self, number, name, heading, lines, pictures):
        self.number, self.name, self.heading = number, name, heading
        self.lines, self.pictures = lines, pictures


def run_steps(pictures_dir, steps=tour.STEPS):
    """Run ``steps`` as `tour.run` does (numbered from 1, pictures into ``pictures_dir``),
    each with its printing captured; returns a list of `Step`."""
    pictures_dir = pathlib.Path(pictures_dir)
    pictures_dir.mkdir(parents=True, exist_ok=True)
    the_tour = tour.Tour(pictures_dir)
    done = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=models.ConvergenceWarning)
        for number, step in enumerate(steps, 1):
            the_tour.number = number
            before = len(the_tour.pics.written)
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                step(the_tour)
            lines = buffer.getvalue().rstrip("\n").split("\n")
            prefix = f"{number}. "
            at = next((k for k, line in enumerate(lines) if line.startswith(prefix)), None)
            if at is None:          # a step without a heading: its name stands in
                heading, body = f"{number}. {step.__name__.replace('_', ' ')}", lines
            else:
                heading, body = lines[at], lines[:at] + lines[at + 1:]
            while body and not body[-1].strip():
                body.pop()
            pictures = [pictures_dir / name for name in the_tour.pics.written[before:]]
            done.append(Step(number, step.__name__, heading, body, pictures))
    return done


def group_parts(done):
    """Group the run steps into parts: a list of (title, [Step, ...]) in the tour's order."""
    of_name = {name: k for k, (_, names) in enumerate(PARTS) for name in names}
    groups, extra = {}, []
    for step in done:
        if step.name in of_name:
            groups.setdefault(of_name[step.name], []).append(step)
        else:
            extra.append((step.heading.split(". ", 1)[-1], [step]))
    return [(PARTS[k][0], groups[k]) for k in sorted(groups)] + extra


# ------------------------------------------------------------------------- the pictures
_SVG_PROLOGUE = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)


def inline_svg(text, prefix):
    """An SVG file's text made fit to sit inside an HTML page: no XML prologue, DOCTYPE
    or comments, no namespace declarations (HTML knows them), no fixed width and height
    on the outer <svg> (the page's CSS scales it by its viewBox), and its ids prefixed
    with ``prefix`` so that two graphs on one page do not share an id."""
    text = _SVG_PROLOGUE.sub("", text).strip()
    start = text.find("<svg")
    end = text.find(">", start)
    if start < 0 or end < 0:
        raise ValueError("not an SVG picture")
    tag = text[start:end + 1]
    size = {k: v for k, v in re.findall(r'\s(width|height)="([^"]*)"', tag)}
    tag = re.sub(r'\s(?:width|height|xmlns(?::\w+)?)="[^"]*"', "", tag)
    if "viewBox" not in tag and {"width", "height"} <= set(size):
        w, h = (re.sub(r"[^\d.]", "", size[k]) for k in ("width", "height"))
        tag = tag[:-1] + f' viewBox="0 0 {w} {h}">'
    body = tag[:-1] + ' role="img">' + text[end + 1:]
    body = re.sub(r'\bid="([^"]*)"', rf'id="{prefix}-\1"', body)
    body = re.sub(r"url\(#([^)]*)\)", rf"url(#{prefix}-\1)", body)
    body = re.sub(r'href="#([^"]*)"', rf'href="#{prefix}-\1"', body)
    # no address may remain, not even in a label: an entity reads the same in a browser
    return body.replace("http://", "http&#58;//").replace("https://", "https&#58;//")


def _min_width(text, page=1300, keep=0.55):
    """For an SVG much wider than a page (drawn at more than twice its width), the width
    in CSS pixels below which its labels would get too small to read; else None."""
    m = re.search(r'<svg[^>]*\swidth="([\d.]+)(pt|px)?"', text)
    if not m:
        return None
    px = float(m.group(1)) * (4 / 3 if m.group(2) in (None, "pt") else 1)
    return round(keep * px) if px > 1.5 * page else None


def _figure(path, prefix):
    name = html.escape(path.name)
    if path.suffix == ".svg":
        text = path.read_text(encoding="utf-8")
        svg = inline_svg(text, prefix)
        wide = _min_width(text)
        if wide:        # a long chain: keep its labels legible, scroll sideways if need be
            svg = svg.replace("<svg", f'<svg style="min-width:{wide}px"', 1)
        opening = '<figure class="wide">' if wide else "<figure>"
        return (f"{opening}\n{svg}\n"
                f"<figcaption>{name}</figcaption>\n</figure>")
    if path.suffix == ".png":
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return (f'<figure>\n<img src="data:image/png;base64,{data}" alt="{name}">\n'
                f"<figcaption>{name}</figcaption>\n</figure>")
    if path.suffix == ".dot":
        source = html.escape(path.read_text(encoding="utf-8"))
        return (f'<figure>\n<p class="note">Graphviz\'s <code>dot</code> program was not found '
                f"when this page was written, so the graph is shown as its DOT source. To draw "
                f"it, install Graphviz (for example <code>apt-get install graphviz</code>), save "
                f"the text below as <code>{name}</code> and run <code>dot -Tsvg {name} -o "
                f"{html.escape(path.stem)}.svg</code>.</p>\n<pre>{source}</pre>\n"
                f"<figcaption>{name}</figcaption>\n</figure>")
    return f"<p>({name})</p>"


# ---------------------------------------------------------------------------- the pages
def _page(title, body):
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def _nav(k, n):
    links = [f'<a href="part{k - 1}.html">&larr; part {k - 1}</a>' if k > 1 else "",
             '<a href="index.html">all parts</a>',
             f'<a href="part{k + 1}.html">part {k + 1} &rarr;</a>' if k < n else ""]
    return "<nav>" + " ".join(link for link in links if link) + "</nav>"


def _part_page(k, n, title, part_steps):
    out = [_nav(k, n), f"<h1>Part {k}: {html.escape(title)}</h1>"]
    for step in part_steps:
        out.append(f'<h2 id="step{step.number}">{html.escape(step.heading)}</h2>')
        if step.lines:
            out.append("<pre>" + html.escape("\n".join(step.lines)) + "</pre>")
        for j, picture in enumerate(step.pictures):
            out.append(_figure(picture, f"s{step.number}p{j}"))
    out.append(_nav(k, n))
    return _page(f"Part {k}: {title}", "\n".join(out))


def _index_page(parts):
    items = []
    for k, (title, part_steps) in enumerate(parts, 1):
        heads = "".join(f"<li>{html.escape(s.heading)}</li>" for s in part_steps)
        items.append(f'<li><a href="part{k}.html">Part {k}: {html.escape(title)}</a>'
                     f"<ul>{heads}</ul></li>")
    body = (f"<h1>{html.escape(TITLE)}</h1>\n<p>The lesson in {len(parts)} parts, one page "
            f"each. Every page stands alone: its pictures are inside it.</p>\n"
            f'<ol class="parts">\n' + "\n".join(items) + "\n</ol>")
    return _page(TITLE, body)


def write_lessons(out_dir, steps=tour.STEPS, pictures_dir=None):
    """Run the tour's ``steps`` and write ``out_dir``/index.html and one page per part
    (part1.html, part2.html, ...); returns the paths written, index.html first.

    The pictures are drawn into ``pictures_dir`` (kept), or into a temporary folder
    (removed) when it is None; the pages do not need them, they carry their own copies."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if pictures_dir is None:
            pictures_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tg_lesson_"))
        parts = group_parts(run_steps(pictures_dir, steps))
        written = [out_dir / "index.html"]
        written[0].write_text(_index_page(parts), encoding="utf-8")
        for k, (title, part_steps) in enumerate(parts, 1):
            path = out_dir / f"part{k}.html"
            path.write_text(_part_page(k, len(parts), title, part_steps), encoding="utf-8")
            written.append(path)
    return written
