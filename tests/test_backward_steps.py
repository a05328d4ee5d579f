"""tg.viz.backward_steps: the backward pass one step a frame, checked against explain(),
the reference walk, its files (SVGs, one HTML page) and the page in a real browser."""
import html
import io
import itertools
import re
import time

import browser  # tests/browser.py: headless Chromium over the DevTools protocol
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import reference, viz
from tinygrad_edu.viz.fmt import fmt_array


def logistic_unit():
    x = tg.Tensor([1.0, 2.0])
    w = tg.Tensor([0.5, -0.3], requires_grad=True)
    b = tg.Tensor(0.1, requires_grad=True)
    y = (x @ w + b).sigmoid()
    loss = -(1.0 * y.log() + (1 - 1.0) * (1 - y).log())
    return loss, {"x": x, "w": w, "b": b, "y": y, "loss": loss}


def reused():
    """b = a + a; c = b * a: a reaches c along three paths."""
    a = tg.Tensor(3.0, requires_grad=True)
    b = a + a
    c = b * a
    return c, {"a": a, "b": b, "c": c}


def processed_in_order(loss):
    """The tensors whose op sends gradients, in the order the reference engine runs them."""
    order = []

    def record(out, node, index, g, grad, broadcast):
        if not any(t is out for t in order):
            order.append(out)

    reference.backward(loss, inputs=[loss], on_send=record)
    return order


def label_of(frame, tensor_name):
    """The DOT statement that gives ``tensor_name`` its label in a frame (the last one)."""
    head = f"<b>{html.escape(tensor_name)}</b>"
    return [line for line in frame.digraph.body if head in line and "label=" in line][-1]


# ---- against explain() and the reference walk ----------------------------------------------
@pytest.mark.parametrize("make", [logistic_unit, reused], ids=["logistic", "reused"])
def test_frames_follow_the_walk_with_explains_names_and_numbers(make):
    loss, names = make()
    e = viz.explain(loss, names=names)
    steps = viz.backward_steps(loss, names=names)
    L = steps.loss_name
    assert L == next(n for n, t in e.names.items() if t is loss)
    # one frame per tensor the walk reaches, plus the first: the loss, dL/dL = 1
    assert len(steps) == len(e.gradients) + 1
    assert steps[0].node is loss and steps[0].caption.startswith(f"The loss: d{L}/d{L} = 1")
    assert steps[0].gradients == {L: 1.0}
    assert {f.node_name for f in steps[1:]} == set(e.gradients)
    # the frames run the ops in the order of the reference engine
    walked = [f.node for f in steps[1:] if f.node.grad_fn is not None]
    assert [id(t) for t in walked] == [id(t) for t in processed_in_order(loss)]
    for f in steps[1:]:
        assert f.node is e.names[f.node_name]
        assert f.caption.startswith(f"Step {f.index} of {len(steps) - 1}: d{L}/d{f.node_name} = "
                                    f"{fmt_array(e.gradients[f.node_name])} is complete")
        # the paragraph under the picture is explain's own, word for word
        paragraph = f.caption.split("\n\n", 1)[1]
        assert paragraph.startswith(f"d{L}/d{f.node_name} = ") and paragraph in e
    # the last frame has every gradient, exactly explain's, drawn with explain's numbers
    final = steps[-1]
    assert final.gradients.keys() == e.gradients.keys()
    for name, value in e.gradients.items():
        assert np.array_equal(final.gradients[name], value), name
        assert html.escape(fmt_array(value)) in label_of(final, name)
        assert html.escape(f"d{L}/d{name} = ") in label_of(final, name)
    assert all(t.grad is None for t in names.values() if t.is_leaf)  # touches no .grad


def test_default_names_are_explains():
    m = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    v = tg.Tensor([1.0, -1.0], requires_grad=True)
    out = ((m * m + v).tanh()).sum()
    e = viz.explain(out)
    steps = viz.backward_steps(out)
    assert steps.loss_name == "L" and [f.node_name for f in steps][:2] == ["L", "L"]
    assert set(steps[-1].gradients) == set(e.gradients) == {"L", "t1", "t2", "t3", "t4", "t5"}
    out.backward()
    assert np.array_equal(steps[-1].gradients[next(n for n, t in e.names.items() if t is m)],
                          m.grad.data)


def test_gradients_fill_in_as_they_arrive():
    loss, names = logistic_unit()
    steps = viz.backward_steps(loss, names=names)
    L = steps.loss_name
    assert "dloss/dw" not in label_of(steps[0], "w")          # not reached: no gradient
    assert html.escape(f"d{L}/d{L} = 1") in label_of(steps[0], "loss")
    for before, after in itertools.pairwise(steps):
        assert set(before.gradients) <= set(after.gradients)  # reached ones stay
        # what arrives in a step is what the op of that step's tensor sends
        new = set(after.gradients) - set(before.gradients)
        node = after.node.grad_fn
        inputs = {n for n, t in names.items() if node and any(p is t for p in node.parents)}
        assert new <= inputs | {f"t{i}" for i in range(1, 9)}
        for name in set(names) - set(after.gradients):
            if names[name].requires_grad:
                assert f"d{L}/d{name} =" not in label_of(after, name)
    assert "dloss/dw = [-0.5, -1]" in label_of(steps[-1], "w")


def test_the_highlight_moves_from_node_to_node():
    loss, names = reused()
    steps = viz.backward_steps(loss, names=names)
    ids = [f.highlighted for f in steps]
    assert all(a != b for a, b in itertools.pairwise(ids))
    for f in steps:
        current = [ln for ln in f.digraph.body if 'class="tg-current"' in ln]
        assert len(current) == 1 and current[0].startswith(f"\t{f.highlighted} [")
    # frame 0 highlights the loss; then the op that runs; a leaf highlights itself
    assert steps[0].highlighted in label_of(steps[0], "c")
    assert "Mul" in "".join(ln for ln in steps[1].digraph.body if steps[1].highlighted in ln)
    assert steps[-1].node is names["a"] and steps[-1].highlighted in label_of(steps[-1], "a")
    assert "a is a leaf: c.backward() stores it in a.grad" in steps[-1].caption


def test_the_op_note_gives_g_and_the_local_derivatives():
    loss, names = reused()
    steps = viz.backward_steps(loss, names=names)
    mul = steps[1].digraph.source
    assert "g = dc/dc = 1" in mul and "local dc/db = 3" in mul and "local dc/da = 6" in mul
    add = steps[2].digraph.source
    assert "g = dc/db = 3" in add and "local db/da (as a) = 1" in add
    assert "local db/da (as b) = 1" in add


def test_fan_out_sums_for_a_reused_tensor():
    loss, names = reused()            # b = a + a; c = b * a
    steps = viz.backward_steps(loss, names=names)
    assert [f.node_name for f in steps] == ["c", "c", "b", "a"]
    assert "dc/da = 6" in label_of(steps[1], "a")            # the first path
    assert "dc/da = 6 + 3 + 3 = 12" in label_of(steps[2], "a")  # two more, summed
    assert "Fan-out: another path reaches a, and the shares add up: dc/da = 6 + 3 + 3 = 12" \
        in steps[2].caption
    assert steps[2].gradients["a"] == 12 == viz.explain(loss, names=names).gradients["a"]

    a = tg.Tensor(1.5, requires_grad=True)
    L = a * a                         # one op, both of its inputs a
    steps = viz.backward_steps(L, names={"a": a, "L": L})
    assert len(steps) == 3
    assert "dL/da = 1.5 + 1.5 = 3" in label_of(steps[1], "a")
    assert "Fan-out: another path reaches a" in steps[1].caption

    a = tg.Tensor(2.0, requires_grad=True)
    L = a * 1.5 + a * 3               # two ops (the walk takes the second one first)
    steps = viz.backward_steps(L, names={"a": a, "L": L})
    texts = [label_of(f, "a") for f in steps]
    assert any("dL/da = 3 + 1.5 = 4.5" in t for t in texts)
    first = next(i for i, t in enumerate(texts) if "dL/da = " in t)
    assert "dL/da = 3 + 1.5" not in texts[first]  # the sum appears when the second path does


def test_matrix_gradients_are_written_one_row_a_line():
    m = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    L = (m * m).sum()
    steps = viz.backward_steps(L, names={"m": m, "L": L})
    label = label_of(steps[-1], "m")
    assert "dL/dm = [[1, 2]" in label and "+ [[1, 2]" in label and "= [[2, 4]" in label


def test_errors_are_explains():
    with pytest.raises(TypeError, match=r"^backward_steps: expected a Tensor, got float"):
        viz.backward_steps(1.0)
    cases = [tg.Tensor(1.0) * 2, tg.Tensor([1.0, 2.0], requires_grad=True) * 2]
    for loss in cases:
        with pytest.raises(ValueError) as ours:
            viz.backward_steps(loss)
        with pytest.raises(ValueError) as theirs:
            viz.explain(loss)
        assert str(ours.value) == "backward_steps: " + str(theirs.value).removeprefix("explain: ")
    y = tg.Tensor(1.0, requires_grad=True)
    for _ in range(30):
        y = y * 1.01
    with pytest.raises(viz.GraphTooLargeError, match=r"^backward_steps: this graph has 61 nodes"):
        viz.backward_steps(y)
    assert len(viz.backward_steps(y, max_nodes=None)) == 32
    leaf = tg.Tensor(2.0, requires_grad=True)  # a loss without a graph: itself, and its leaf
    steps = viz.backward_steps(leaf)
    assert [f.node_name for f in steps] == ["L", "L"]
    assert "L is a leaf" in steps[1].caption


# ---- files: SVGs and one HTML page ---------------------------------------------------------
def test_save_writes_numbered_svgs_with_one_layout(dot, tmp_path):
    loss, names = logistic_unit()
    steps = viz.backward_steps(loss, names=names)
    paths = steps.save(tmp_path / "frames")
    assert [p.name for p in paths] == [f"frame_{i:03d}.svg" for i in range(len(steps))]
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]
    boxes = set()
    for p in paths:
        svg = p.read_text(encoding="utf-8")
        assert svg.count("<svg") == 1
        boxes.add(re.search(r'viewBox="([^"]*)"', svg).group(1))
    assert len(boxes) == 1  # every frame has the same layout: only the highlight moves


def test_without_dot_the_files_say_how_to_install_it(monkeypatch, tmp_path):
    loss, names = reused()
    steps = viz.backward_steps(loss, names=names)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        steps.save(tmp_path / "frames")
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        steps.to_html(tmp_path / "steps.html")
    assert "apt-get install graphviz" in steps._repr_html_()  # a notebook shows the hint


def test_to_html_is_one_self_contained_page(dot, tmp_path):
    loss, names = logistic_unit()
    steps = viz.backward_steps(loss, names=names)
    path = steps.to_html(tmp_path / "steps.html")
    page = path.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert page.count("<svg") == len(steps) == page.count('class="tgs-frame"')
    assert '<input type="range"' in page and "Previous" in page and "Next" in page
    assert "ArrowRight" in page and "ArrowLeft" in page
    assert not re.search(r"<(script|img|link|iframe)[^>]*\b(src|href)=", page)
    for f in steps:
        assert html.escape(f.caption.rstrip()) in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the SVGs' ids made unique on the page


def test_in_a_notebook_it_is_the_slider(dot):
    loss, names = reused()
    steps = viz.backward_steps(loss, names=names)
    first, second = steps._repr_html_(), steps._repr_html_()
    assert first.count("<svg") == len(steps) and '<input type="range"' in first
    assert "<script>" in first and "http" not in first
    uid = re.search(r'<div class="tgs" id="([^"]+)"', first).group(1)
    assert uid not in second  # two displays on one page drive their own frames
    assert steps[1]._repr_mimebundle_()["image/svg+xml"].count("<svg") == 1


# ---- the page in a real browser ------------------------------------------------------------
def test_the_page_in_headless_chromium(dot, tmp_path):
    """Open the page, look at it, press the right arrow and click Next: the step and the
    highlighted node change, and the page logs no error."""
    started = time.monotonic()
    loss, names = reused()
    steps = viz.backward_steps(loss, names=names)
    path = steps.to_html(tmp_path / "steps.html")
    state = ("[document.body.dataset.step, document.body.dataset.highlighted,"
             " document.querySelector('.tgs-frame.tgs-active g.tg-current title').textContent,"
             " document.querySelectorAll('.tgs-frame').length,"
             " getComputedStyle(document.querySelector('.tgs-frame:not(.tgs-active)')).display]")
    with browser.open_browser(width=1280, height=800) as chromium:
        page = chromium.open(path)
        png = page.screenshot(tmp_path / "step0.png")
        assert browser.png_size(png) == (1280, 800) and len(png) > 20_000
        image = pytest.importorskip("matplotlib.image").imread(io.BytesIO(png))[..., :3]
        yellow = (image[..., 0] > 0.9) & (image[..., 1] > 0.8) & (image[..., 2] < 0.45)
        assert yellow.sum() > 500                       # the highlighted node is drawn
        assert (image.min(axis=2) < 0.5).mean() > 0.01  # and so is the graph with its text
        assert page.errors == []
        assert page.evaluate(state) == ["0", steps[0].highlighted, steps[0].highlighted,
                                        len(steps), "none"]
        page.press("ArrowRight")
        assert page.evaluate(state)[:3] == ["1", steps[1].highlighted, steps[1].highlighted]
        page.click(".tgs-next")
        assert page.evaluate(state)[:3] == ["2", steps[2].highlighted, steps[2].highlighted]
        page.press("ArrowLeft")
        assert page.evaluate("document.body.dataset.step") == "1"
        assert page.evaluate("document.querySelector('.tgs-slider').value") == "1"
        page.screenshot(tmp_path / "step1.png")
        assert page.errors == []

        # as in a notebook: two displays on one page, each a slider of its own
        cells = [steps._repr_html_(), steps._repr_html_()]
        uids = [re.search(r'<div class="tgs" id="([^"]+)"', c).group(1) for c in cells]
        (tmp_path / "cells.html").write_text(
            "<!DOCTYPE html><html><body>" + "<hr>".join(cells) + "</body></html>",
            encoding="utf-8")
        page = chromium.open(tmp_path / "cells.html")
        steps_of = f"[{', '.join(f'document.getElementById({u!r}).dataset.step' for u in uids)}]"
        page.click(f"#{uids[1]} .tgs-next")
        assert page.evaluate(steps_of) == ["0", "1"]
        page.press("ArrowRight")                    # the keys move the slider in focus
        assert page.evaluate(steps_of) == ["0", "2"]
        page.click(f"#{uids[0]} .tgs-next")
        assert page.evaluate(steps_of) == ["1", "2"]
        assert page.errors == []
    assert time.monotonic() - started < 30
