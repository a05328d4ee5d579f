"""The one-file HTML lessons: python -m tinygrad_edu --html DIR."""
import base64
import html
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

from tinygrad_edu import lesson_html, tour
from tinygrad_edu.__main__ import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
HAS_DOT = shutil.which("dot") is not None
PAGES = ["index.html"] + [f"part{k}.html" for k in range(1, len(lesson_html.PARTS) + 1)]


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.fixture(scope="module")
def lessons(tmp_path_factory):
    """The lessons written once by the command line, with how long that took."""
    out = tmp_path_factory.mktemp("lessons")
    start = time.perf_counter()
    assert main(["--html", str(out)]) == 0
    return out, time.perf_counter() - start


@pytest.fixture(scope="module")
def headings(tmp_path_factory):
    """The step headings as the printed tour gives them."""
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tour.run(tmp_path_factory.mktemp("tour"))
    found = re.findall(r"^\d\. .*$", buffer.getvalue(), flags=re.MULTILINE)
    assert len(found) == len(tour.STEPS)
    return found


def read(out, name):
    return (out / name).read_text(encoding="utf-8")


def test_index_and_one_page_per_part(lessons):
    out, seconds = lessons
    assert sorted(p.name for p in out.iterdir()) == sorted(PAGES)
    assert seconds < 60, seconds
    index = read(out, "index.html")
    for name in PAGES[1:]:
        assert f'href="{name}"' in index, name
    for k, (title, _) in enumerate(lesson_html.PARTS, 1):
        assert html.escape(title) in index and html.escape(title) in read(out, f"part{k}.html")


def test_pages_are_self_contained(lessons):
    out, _ = lessons
    for name in PAGES:
        text = read(out, name)
        assert text.startswith("<!DOCTYPE html>"), name
        assert "http://" not in text and "https://" not in text, name
        assert "<script" not in text.lower(), name
        assert not re.search(r'(?:src|href)="(?!data:|#|part\d+\.html|index\.html)', text), name
        assert '<meta charset="utf-8">' in text


def test_every_step_heading_is_on_its_page(lessons, headings):
    out, _ = lessons
    pages = {name: read(out, name) for name in PAGES}
    names = [step.__name__ for step in tour.STEPS]
    for heading, step_name in zip(headings, names):
        k = next(k for k, (_, steps) in enumerate(lesson_html.PARTS, 1) if step_name in steps)
        assert f">{html.escape(heading)}</h2>" in pages[f"part{k}.html"], heading
        assert html.escape(heading) in pages["index.html"], heading
    # and the text under them: the hand-made weights' table, the 517,000 weights
    assert "[−0.5, 1, 1, −2]" in pages["part2.html"]
    assert "517,000 weights" in pages["part4.html"]
    assert "&lt;hv&gt;_data" in pages["part5.html"]                       # escaped


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz `dot`")
def test_graphs_are_inline_svg_that_scale(lessons):
    out, _ = lessons
    part3 = read(out, "part3.html")                                     # network and graph
    tags = re.findall(r"<svg\b[^>]*>", part3)
    assert len(tags) == 2, tags
    for tag in tags:
        assert "viewBox=" in tag
        assert not re.search(r"\s(width|height)=", tag), tag
    assert "figure svg { width: 100%; height: auto; max-height: 85vh; }" in part3
    assert "<?xml" not in part3 and "<!DOCTYPE svg" not in part3
    ids = re.findall(r'\bid="([^"]*)"', part3)
    assert len(ids) == len(set(ids))                                    # two graphs, no clash
    assert "digraph" not in part3
    assert '<figure class="wide">' not in part3   # graph.svg is drawn in rows: it fits a page


def test_a_graph_much_wider_than_a_page_keeps_legible_labels_and_scrolls(tmp_path):
    wide, narrow = tmp_path / "wide.svg", tmp_path / "narrow.svg"
    for path, width in ((wide, 1743), (narrow, 873)):
        path.write_text(f'<svg width="{width}pt" height="200pt" viewBox="0 0 {width} 200">'
                        "<g/></svg>", encoding="utf-8")
    assert lesson_html._figure(wide, "w").startswith('<figure class="wide">')
    assert 'style="min-width:' in lesson_html._figure(wide, "w")
    assert lesson_html._figure(narrow, "n").startswith("<figure>\n")


@pytest.mark.skipif(not has_matplotlib(), reason="needs matplotlib")
def test_plots_are_embedded_pngs(lessons):
    out, _ = lessons
    counts = {}
    for name in PAGES[1:]:
        found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', read(out, name))
        counts[name] = len(found)
        for data in found:
            png = base64.b64decode(data, validate=True)
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    # activations; boundary and loss; the RBM's filters
    assert counts == {"part1.html": 1, "part2.html": 0, "part3.html": 2, "part4.html": 0,
                      "part5.html": 1}, counts


def test_without_dot_the_graph_is_its_dot_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")                                      # no `dot` anywhere
    pictures = tmp_path / "pictures"
    pages = lesson_html.write_lessons(tmp_path / "html", steps=(tour.cross_entropy,
                                      tour.backpropagation), pictures_dir=pictures)
    assert [p.name for p in pages] == ["index.html", "part1.html", "part2.html"]
    assert (pictures / "graph.dot").is_file()                           # kept when asked
    part2 = pages[2].read_text(encoding="utf-8")
    assert "<svg" not in part2
    assert "<pre>digraph" in part2 and "dot -Tsvg graph.dot -o graph.svg" in part2
    assert "was not found" in part2
    assert ">2. Backpropagation is the chain rule" in part2             # numbered as run
    assert "http://" not in part2 and "https://" not in part2


def test_a_step_outside_the_parts_gets_a_part_of_its_own(tmp_path):
    def extra(t):
        t.heading("An extra step <with> markup & more.")
        tour.say("   its text")

    pages = lesson_html.write_lessons(tmp_path, steps=(tour.capacity, extra))
    assert [p.name for p in pages] == ["index.html", "part1.html", "part2.html"]
    text = pages[2].read_text(encoding="utf-8")
    assert "2. An extra step &lt;with&gt; markup &amp; more." in text
    assert "<pre>   its text</pre>" in text
    assert "Capacity" in pages[1].read_text(encoding="utf-8")
    assert not list(tmp_path.glob("*.png"))                             # pictures not kept


def test_inline_svg_strips_what_html_does_not_need():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n '
           '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<!-- by graphviz -->\n'
           '<svg width="62pt" height="44pt" xmlns="http://www.w3.org/2000/svg" '
           'xmlns:xlink="http://www.w3.org/1999/xlink"><g id="graph0"><text>see '
           'https://example.org</text></g></svg>')
    out = lesson_html.inline_svg(svg, "p")
    assert out.startswith('<svg viewBox="0 0 62 44" role="img">')
    assert 'id="p-graph0"' in out and "http://" not in out and "https://" not in out
    with pytest.raises(ValueError):
        lesson_html.inline_svg("<p>no picture</p>", "p")


def test_help_names_html_and_out(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--html DIR" in text and "--out FOLDER" in text


def test_the_command_says_what_it_wrote(tmp_path, capsys):
    assert main(["--html", str(tmp_path), "--out", str(tmp_path / "pictures")]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Wrote 6 HTML pages to {tmp_path}: index.html, part1.html")
    assert "1. A logistic unit" not in text                             # the lesson is in the pages
    assert (tmp_path / "pictures" / "graph.svg").is_file() or not HAS_DOT


# --------------------------------------------------------------------- a real browser
try:                                   # tests/browser.py: Chromium over the DevTools protocol
    from browser import open_browser, png_size
except ImportError:                    # without it: Chromium's own --screenshot, below
    open_browser = None


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI: apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.mark.skipif(open_browser is None, reason="tests/browser.py is not there")
def test_a_lesson_in_headless_chromium(lessons, tmp_path):
    out, _ = lessons
    with open_browser(width=1280, height=900) as browser:
        page = browser.open(out / "part3.html")
        png = page.screenshot(tmp_path / "shot.png")
        width, height = png_size(png)                    # the window, give or take a bar
        assert width >= 800 and height >= 500 and len(png) > 20_000, (width, height)
        assert page.errors == []
        # the pictures are there and drawn, and the page fits the width of the window
        assert page.evaluate("document.querySelectorAll('figure svg').length") == 2
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("document.images.length") == 2
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        widths = page.evaluate("[...document.querySelectorAll('figure:not(.wide) svg, img')]"
                               ".map(e => e.getBoundingClientRect().width)")
        assert widths and all(0 < w <= 1280 for w in widths), widths
        assert page.evaluate("document.querySelector('h2').textContent").startswith("6. ")


@pytest.mark.skipif(open_browser is not None, reason="tests/browser.py does it with DevTools")
def test_a_lesson_in_headless_chromium_screenshot(lessons, tmp_path):
    browser = chromium()
    out, _ = lessons
    shot = tmp_path / "shot.png"
    page = (out / "part3.html").resolve().as_uri()
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", f"--screenshot={shot}", "--window-size=1280,2000", page],
        capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file(), result.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, len(png)   # not blank
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
