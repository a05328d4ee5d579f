"""Computation-graph drawing (draw_graph, render, save_source) and explain()."""
import ast
import io
import pathlib
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import viz
from tinygrad_edu.viz import GraphTooLargeError, GraphvizNotFoundError
from tinygrad_edu.viz.graphwalk import walk

# ---- reading the DOT text ----------------------------------------------------------------
# Node ids: t<id> for tensors, f<id> for ops, c<id>_<i> for constants, more_nodes for the
# marker of nodes left out.

def nodes(g, kind):
    return re.findall(rf"^\t({kind}\d+(?:_\d+)?) \[", g.source, flags=re.MULTILINE)


def edges(g):
    return re.findall(r"^\t(\S+) -> (\S+)", g.source, flags=re.MULTILINE)


def label_of(g, node_id):
    """The text of a node's (HTML) label, without the tags."""
    line = next(ln for ln in g.source.splitlines() if ln.lstrip("\t").startswith(f"{node_id} ["))
    label = re.search(r"label=<(.*)> tooltip=", line).group(1)
    return re.sub(r"<[^>]*>", " ", label)


def tid(t):
    return f"t{id(t)}"


def logistic_unit():
    x = tg.Tensor([1.0, 2.0])
    w = tg.Tensor([0.5, -0.3], requires_grad=True)
    b = tg.Tensor(0.1, requires_grad=True)
    z = x @ w + b
    y = z.sigmoid()
    loss = -(y.log())
    return x, w, b, z, y, loss


# ---- structure -----------------------------------------------------------------------------

def test_draw_graph_returns_a_digraph_that_shows_in_jupyter():
    import graphviz
    *_, loss = logistic_unit()
    g = viz.draw_graph(loss)
    assert isinstance(g, graphviz.Digraph)
    assert hasattr(g, "_repr_mimebundle_") and hasattr(g, "render")
    assert g.source.startswith("digraph")


def test_logistic_unit_counts_tensors_ops_and_edges():
    *_, loss = logistic_unit()
    g = viz.draw_graph(loss)
    # tensors x, w, x@w, b, z, y, log y, loss; ops MatMul, Add, Sigmoid, Log, Neg
    assert len(nodes(g, "t")) == 8
    assert len(nodes(g, "f")) == 5
    assert nodes(g, "c") == []
    # inputs: MatMul 2, Add 2, Sigmoid 1, Log 1, Neg 1; one edge from each op to its output
    assert len(edges(g)) == 7 + 5


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    a = tg.Tensor(2.0, requires_grad=True)
    b = a + a
    g = viz.draw_graph(b)
    assert len(nodes(g, "t")) == 2 and len(nodes(g, "f")) == 1
    add = f"f{id(b.grad_fn)}"
    assert edges(g).count((tid(a), add)) == 2
    assert edges(g).count((add, tid(b))) == 1
    assert len(edges(g)) == 3


def test_reused_interior_tensor():
    a = tg.Tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    g = viz.draw_graph(c)
    assert len(nodes(g, "t")) == 3 and len(nodes(g, "f")) == 2
    assert edges(g).count((tid(b), f"f{id(c.grad_fn)}")) == 2
    assert len(edges(g)) == 6


def test_identity_not_value_two_equal_tensors_are_two_nodes():
    a1 = tg.Tensor(2.0, requires_grad=True)
    a2 = tg.Tensor(2.0, requires_grad=True)
    b = a1 + a2
    g = viz.draw_graph(b)
    assert set(nodes(g, "t")) == {tid(a1), tid(a2), tid(b)}
    assert len(edges(g)) == 3


def test_edges_follow_the_data_flow():
    _x, _w, _b, z, y, loss = logistic_unit()
    g = viz.draw_graph(loss)
    e = edges(g)
    sig = f"f{id(y.grad_fn)}"
    assert (tid(z), sig) in e and (sig, tid(y)) in e
    assert (tid(y), sig) not in e


def test_op_nodes_show_the_local_derivative_and_constants():
    w = tg.Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], requires_grad=True)
    out = (w * 2.5).reshape(2, 3).sum(axis=1)
    g = viz.draw_graph(out)
    mul = label_of(g, f"f{id(out.grad_fn.parents[0].grad_fn.parents[0].grad_fn)}")
    assert "Mul" in mul and "da = g * b" in mul and "db = g * a" in mul
    consts = nodes(g, "c")
    assert len(consts) == 1 and "2.5" in label_of(g, consts[0])   # drawn small
    reshape = label_of(g, f"f{id(out.grad_fn.parents[0].grad_fn)}")
    assert "Reshape" in reshape and "(2, 3)" in reshape             # folded into the op
    assert "axis=1" in label_of(g, f"f{id(out.grad_fn)}")


def test_tensor_labels_show_shape_dtype_and_values():
    _x, w, _b, _z, y, loss = logistic_unit()
    big = tg.Tensor(np.arange(100.0).reshape(10, 10), requires_grad=True)
    g = viz.draw_graph(loss, names={"w": w, "y": y})
    lw = label_of(g, tid(w))
    assert "w" in lw and "2 · float64" in lw and "[0.5, -0.3]" in lw
    assert "0.5" in label_of(g, tid(y)) and "scalar" in label_of(g, tid(y))
    assert "0.6931" in label_of(g, tid(loss))       # 4 significant digits
    g2 = viz.draw_graph(big.sum())
    lbig = label_of(g2, tid(big))
    assert "10×10" in lbig and "min 0" in lbig and "mean 49.5" in lbig and "max 99" in lbig
    g3 = viz.draw_graph(loss, show_data=False)
    assert "[0.5, -0.3]" not in label_of(g3, tid(w))


# ---- names ---------------------------------------------------------------------------------

def test_names_from_locals():
    x, w, b, z, y, loss = logistic_unit()
    _ = loss   # IPython-style history names lose to real names
    g = viz.draw_graph(loss, names=locals())
    for name, t in [("x", x), ("w", w), ("b", b), ("z", z), ("y", y), ("loss", loss)]:
        assert f"<b>{name}</b>" in next(ln for ln in g.source.splitlines()
                                       if ln.startswith(f"\t{tid(t)} ["))


def test_names_from_named_parameters_are_grouped_by_prefix():
    X = tg.Tensor(np.ones((4, 2)))
    W1 = tg.Tensor(np.full((2, 3), 0.1), requires_grad=True)
    b1 = tg.Tensor(np.zeros(3), requires_grad=True)
    W2 = tg.Tensor(np.full(3, 0.2), requires_grad=True)
    b2 = tg.Tensor(0.0, requires_grad=True)
    loss = ((X @ W1 + b1).tanh() @ W2 + b2).mean()
    params = [("0.weight", W1), ("0.bias", b1), ("2.weight", W2), ("2.bias", b2)]
    g = viz.draw_graph(loss, names=params)
    clusters = re.findall(r"subgraph (cluster_\d+) \{(.*?)\n\t\}", g.source, flags=re.DOTALL)
    assert len(clusters) == 2
    first = clusters[0][1]
    assert "label=0" in first and tid(W1) in first and tid(b1) in first
    assert "<b>0.weight</b>" in g.source and "<b>2.bias</b>" in g.source

    class Model:  # anything with named_parameters() names its parameters
        def named_parameters(self):
            return iter(params)

    g2 = viz.draw_graph(loss, names={"model": Model(), "X": X})
    assert "<b>model.0.weight</b>" in g2.source and "<b>X</b>" in g2.source
    assert "<b>0.weight</b>" in viz.draw_graph(loss, names=Model()).source


def test_bad_names_argument_is_a_clear_error():
    *_, loss = logistic_unit()
    with pytest.raises(TypeError, match="names"):
        viz.draw_graph(loss, names=42)
    with pytest.raises(TypeError, match="pairs"):
        viz.draw_graph(loss, names=[("w", 1.0)])


# ---- gradients -----------------------------------------------------------------------------

def test_gradients_not_computed_before_backward_and_numbers_after():
    x, w, b, z, y, loss = logistic_unit()
    before = viz.draw_graph(loss, names=locals())
    assert label_of(before, tid(w)).count("grad: not computed") == 1
    assert "grad: not computed" in label_of(before, tid(b))
    assert not re.search(r"grad -?\d", before.source)         # never a made-up 0
    assert "grad" not in label_of(before, tid(x))             # x needs no gradient
    loss.backward()
    after = viz.draw_graph(loss, names=locals())
    assert "not computed" not in after.source
    assert "grad [-0.5, -1]" in label_of(after, tid(w))
    assert "grad -0.5" in label_of(after, tid(b))
    assert "show_grad='all'" in after.source                  # why interior ones are blank
    hidden = viz.draw_graph(loss, show_grad=False)
    assert all("grad" not in label_of(hidden, n) for n in nodes(hidden, "t"))


def test_show_grad_all_computes_every_gradient_without_touching_grad():
    _x, w, b, z, y, loss = logistic_unit()
    g = viz.draw_graph(loss, show_grad="all")
    assert w.grad is None and b.grad is None
    assert "grad -0.5" in label_of(g, tid(z))                 # dloss/dz = y - 1
    assert "grad -2" in label_of(g, tid(y))
    assert "grad 1" in label_of(g, tid(loss))
    assert "grad [-0.5, -1]" in label_of(g, tid(w))
    with pytest.raises(ValueError, match="one-element"):
        viz.draw_graph(z * tg.Tensor([1.0, 2.0]), show_grad="all")


def test_retained_interior_gradient_is_shown():
    _x, _w, _b, z, _y, loss = logistic_unit()
    z.retain_grad()
    assert "grad: not computed" in label_of(viz.draw_graph(loss), tid(z))
    loss.backward()
    assert "grad -0.5" in label_of(viz.draw_graph(loss), tid(z))


# ---- size ----------------------------------------------------------------------------------

def chain(n):
    x = tg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0001
    return x, y


def test_max_nodes_marker_says_how_many_were_left_out():
    x, y = chain(50)                      # 51 tensors + 50 ops = 101 nodes
    g = viz.draw_graph(y, max_nodes=10)
    assert len(nodes(g, "t")) + len(nodes(g, "f")) == 10
    assert "91 more nodes not shown" in g.source and "max_nodes=10" in g.source
    assert tid(y) in nodes(g, "t")        # the nodes nearest the output are kept
    assert tid(x) not in g.source
    assert any(src == "more_nodes" for src, _ in edges(g))
    full = viz.draw_graph(y, max_nodes=None)
    assert "more_nodes" not in full.source and len(nodes(full, "t")) == 51


def test_a_5000_op_chain_draws():
    _x, y = chain(5000)
    g = viz.draw_graph(y)
    assert len(nodes(g, "t")) + len(nodes(g, "f")) == 200
    assert "9,801 more nodes not shown" in g.source
    full = viz.draw_graph(y, max_nodes=None)
    assert len(nodes(full, "t")) == 5001 and len(nodes(full, "f")) == 5000


# ---- output files --------------------------------------------------------------------------

def test_render_svg_and_png_with_dot(tmp_path, dot):
    *_, loss = logistic_unit()
    g = viz.draw_graph(loss)
    svg = viz.render(g, tmp_path / "graph.svg")
    assert svg == tmp_path / "graph.svg"
    text = svg.read_text()
    assert text.startswith("<?xml") or "<svg" in text
    assert "MatMul" in text
    png = viz.render(g, tmp_path / "graph.png")        # the format follows the extension
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plain = viz.render(g, tmp_path / "graph")          # no extension: svg is added
    assert plain.name == "graph.svg" and "<svg" in plain.read_text()
    assert list(tmp_path.glob("*.gv")) == []           # only the pictures


def test_save_source_writes_dot_text(tmp_path):
    *_, loss = logistic_unit()
    g = viz.draw_graph(loss)
    path = viz.save_source(g, tmp_path / "graph.dot")
    assert path.read_text(encoding="utf-8") == g.source
    assert path.read_text(encoding="utf-8").startswith("digraph")


def test_missing_dot_is_a_clear_error(tmp_path, monkeypatch):
    *_, loss = logistic_unit()
    g = viz.draw_graph(loss)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError) as info:
        viz.render(g, tmp_path / "graph.svg")
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert not (tmp_path / "graph.svg").exists()
    assert "apt-get install graphviz" in g._repr_mimebundle_()["text/plain"]   # Jupyter


# ---- explain -------------------------------------------------------------------------------

def test_explain_scalar_chain_reads_like_the_chain_rule():
    w = tg.Tensor(0.5, requires_grad=True)
    x = tg.Tensor(3.0)
    z = w * x
    L = z * 0.25
    text = viz.explain(L, names=locals())
    assert "dL/dw = dL/dz * dz/dw = 0.25 * 3 = 0.75" in text
    assert "z = w * x" in text and "local derivative  dz/dw = x = 3" in text
    L.backward()
    assert f"dL/dw = {w.grad.item():.4g}" in text.splitlines()[-1]


def test_explain_logistic_unit_numbers_equal_backward():
    x, w, b, z, y, loss = logistic_unit()
    e = viz.explain(loss, names=locals())
    assert w.grad is None and b.grad is None            # explain touches no .grad
    loss.backward()
    np.testing.assert_allclose(e.grad(w), w.grad.data, rtol=1e-12)
    np.testing.assert_allclose(e.grad(b), b.grad.data, rtol=1e-12)
    np.testing.assert_allclose(e.gradients["w"], w.grad.data, rtol=1e-12)
    assert e.grad(x) is None                              # a constant has no gradient
    assert "dloss/dw = dloss/dt1 * dt1/dw = -0.5 * [1, 2] = [-0.5, -1]" in e
    assert "dloss/dz = dloss/dy * dy/dz = -2 * 0.25 = -0.5" in e
    summary = e.split("Gradients")[1]
    assert "dloss/dw = [-0.5, -1]" in summary and "dloss/db = -0.5" in summary


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_explain_and_draw_show_the_reduction_of_a_fused_loss(reduction):
    z = tg.Tensor([[2.0, 0.0], [0.0, 1.0]], requires_grad=True)
    L = tg.functional.cross_entropy(z, [0, 0], reduction=reduction)
    e = viz.explain(L, names=locals())
    assert f"L = {reduction}(logsumexp(z) - z[k] per row)" in e
    local = e.split("local derivative  dL/dz = ")[1].split(" = ")[0]
    assert local == "(softmax(z) - onehot(k))" + (" / 2" if reduction == "mean" else "")
    L.backward()
    np.testing.assert_allclose(e.grad(z), z.grad.data, rtol=1e-12)
    assert f"reduction=&#x27;{reduction}&#x27;" in viz.draw_graph(L).source


def test_explain_sums_the_paths_of_a_reused_tensor():
    a = tg.Tensor(1.5, requires_grad=True)
    b = a * a
    c = a + 2
    L = b * c
    e = viz.explain(L, names=locals())
    assert "dL/da = (path via c) + (path via b, as input a) + (path via b, as input b)" in e
    assert "= 2.25 * 1 + 3.5 * 1.5 + 3.5 * 1.5" in e
    L.backward()
    assert e.grad(a) == pytest.approx(a.grad.item(), rel=1e-12)
    assert f"= {a.grad.item():.4g}" in e          # 12.75


def test_explain_interior_reuse_ladder():
    a = tg.Tensor(2.0, requires_grad=True)
    b = a + a
    c = b + b
    e = viz.explain(c, names=locals())
    assert e.grad(b) == 2 and e.grad(a) == 4
    assert "dc/da = (path via b, as input a) + (path via b, as input b)" in e


def test_explain_interior_tensor_reached_late_gets_every_path():
    # c = b * a with b = 3a: the walk meets a (interior) through c before through b
    x = tg.Tensor(2.0, requires_grad=True)
    a = x * 1.0
    b = a * 3
    c = b * a
    e = viz.explain(c, names=locals())
    c.backward()
    assert e.grad(a) == 12 and e.grad(x) == pytest.approx(x.grad.item()) == 12
    order = [ln.split("=")[0].strip() for ln in e.split("Backward")[0].splitlines()[2:] if ln]
    assert order == ["x", "a", "b", "c"]
    g = viz.draw_graph(c)
    assert g.source.index(f"\t{tid(a)} [") < g.source.index(f"\t{tid(b)} [")


def test_explain_arrays_broadcast_and_many_ops_match_backward():
    X = tg.Tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    t = tg.Tensor([1.0, 0.0, 1.0])
    w = tg.Tensor([0.5, -0.3], requires_grad=True)
    b = tg.Tensor(0.1, requires_grad=True)
    p = (X @ w + b).sigmoid()
    loss = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
    e = viz.explain(loss, names=locals())
    assert "summed over the axes where b was broadcast" in e
    assert "shape 3×2" in e
    loss.backward()
    np.testing.assert_allclose(e.grad(w), w.grad.data, rtol=1e-12)
    np.testing.assert_allclose(e.grad(b), b.grad.data, rtol=1e-12)

    v = tg.Tensor(np.arange(6.0).reshape(2, 3) / 4, requires_grad=True)
    a = v.reshape(3, 2)
    c = a.clip(None, 1).T.sum(axis=0)
    d = a[1:, 0].sum() + c.sum() + tg.where(np.array([True, False, True]), c, 0.0).sum()
    s = (tg.stack([d, d]).max() + v.softmax().sum() + (v ** 2).sum()
         + tg.maximum(v, 1.0).sum() + v.astype(np.float32).sum())
    e2 = viz.explain(s, max_nodes=None)
    s.backward()
    np.testing.assert_allclose(e2.grad(v), v.grad.data, rtol=1e-6)


def test_explain_matches_backward_on_random_graphs_with_reuse():
    rs = np.random.RandomState(0)
    unary = [lambda t: t.tanh(), lambda t: t.sigmoid(), lambda t: t * 0.5, lambda t: -t]
    binary = [lambda s, t: s + t, lambda s, t: s * t, lambda s, t: s - t]
    for _ in range(25):
        leaves = [tg.Tensor(rs.randn(3), requires_grad=True) for _ in range(3)]
        pool = list(leaves)
        for _ in range(12):          # new tensors reuse earlier ones, interior ones too
            if rs.rand() < 0.4:
                pool.append(unary[rs.randint(4)](pool[rs.randint(len(pool))]))
            else:
                i, j = rs.randint(len(pool), size=2)
                pool.append(binary[rs.randint(3)](pool[i], pool[j]))
        loss = sum(pool[-3:], pool[-4]).sum()
        e = viz.explain(loss, max_nodes=None)
        loss.backward()
        for leaf in leaves:
            if leaf.grad is not None:
                np.testing.assert_allclose(e.grad(leaf), leaf.grad.data, rtol=1e-10, atol=1e-12)


def test_explain_refuses_large_graphs_politely():
    x, y = chain(30)
    with pytest.raises(GraphTooLargeError, match="max_nodes=50") as info:
        viz.explain(y)
    assert isinstance(info.value, ValueError) and "draw_graph" in str(info.value)
    e = viz.explain(y, max_nodes=None)
    assert e.grad(x) == pytest.approx(1.0001 ** 30)


def test_explain_output_options(capsys):
    *_, loss = logistic_unit()
    e = viz.explain(loss)
    assert capsys.readouterr().out == ""                  # returns the text, prints nothing
    assert isinstance(e, str) and repr(e) == str(e)       # shows as text in the REPL
    viz.explain(loss, print=True)
    assert capsys.readouterr().out == str(e)
    buf = io.StringIO()
    viz.explain(loss, file=buf)
    assert buf.getvalue() == str(e) and capsys.readouterr().out == ""
    assert re.search(r"^  L = -t\d+ ", e, flags=re.MULTILINE)   # an unnamed output is L


def test_explain_errors():
    with pytest.raises(TypeError):
        viz.explain(1.0)
    with pytest.raises(ValueError, match="does not require grad"):
        viz.explain(tg.Tensor(1.0) * 2)
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        viz.explain(w * 2)


# ---- one set of names for the picture and the text -----------------------------------------

def drawn_names(g):
    """{node id: name} of every tensor box (its bold first line), wherever it is nested."""
    return dict(re.findall(r"^\s*(t\d+) \[label=<<b>([^<]*)</b>", g.source, flags=re.MULTILINE))


def edge_labels(g):
    """{(source, destination): label} of the labelled edges."""
    found = re.findall(r'^\s*(\S+) -> (\S+) \[label=" (\S+) "', g.source, flags=re.MULTILINE)
    return {(src, dst): label for src, dst, label in found}


def test_draw_graph_and_explain_name_every_tensor_alike():
    x = tg.Tensor([1.0, 2.0])
    w = tg.Tensor([0.5, -0.3], requires_grad=True)
    b = tg.Tensor(0.1, requires_grad=True)
    y = (x @ w + b).sigmoid()          # x @ w and x @ w + b have no name of their own
    loss = -(y.log())                  # nor has log(y)
    text = viz.explain(loss, names=locals())
    g = viz.draw_graph(loss, names=locals())
    drawn = drawn_names(g)
    assert set(drawn.values()) == set(text.names) == {"x", "w", "b", "y", "loss", "t1", "t2",
                                                      "t3"}
    for name, t in text.names.items():         # the same tensor under the same name
        assert drawn[tid(t)] == name
        assert re.search(rf"^  {name} += ", text, flags=re.MULTILINE)
    assert drawn[tid(loss.grad_fn.parents[0])] == "t3"     # numbered in the walk's order


def test_unnamed_tensors_get_the_same_numbers_in_both():
    *_, loss = logistic_unit()
    text, g = viz.explain(loss), viz.draw_graph(loss)
    drawn = drawn_names(g)
    assert {drawn[tid(t)] for t in text.names.values()} == set(text.names)
    assert {name: tid(t) for name, t in text.names.items()} == {n: i for i, n in drawn.items()}
    assert text.names["L"] is loss and "L" in drawn.values()
    assert sorted(n for n in drawn.values() if n != "L") == [f"t{k}" for k in range(1, 8)]


def test_generated_names_skip_the_users_own():
    t1 = tg.Tensor(2.0, requires_grad=True)
    L = t1 * 3.0 + 1.0                       # the user took t1 and L
    text, g = viz.explain(L, names={"t1": t1}), viz.draw_graph(L, names={"t1": t1})
    assert set(drawn_names(g).values()) == set(text.names) == {"t1", "t2", "L"}


def test_op_edges_keep_the_formulas_letters_when_nothing_clashes():
    p = tg.Tensor(2.0, requires_grad=True)
    q = tg.Tensor(3.0, requires_grad=True)
    r = p - q
    g = viz.draw_graph(r, names=locals())
    sub = f"f{id(r.grad_fn)}"
    assert edge_labels(g) == {(tid(p), sub): "a", (tid(q), sub): "b"}
    assert "da = g" in label_of(g, sub) and "db = -g" in label_of(g, sub)


def test_op_edges_never_use_a_letter_that_names_another_tensor():
    a = tg.Tensor(2.0, requires_grad=True)
    b = tg.Tensor(3.0, requires_grad=True)
    d = b - a                          # Sub calls its inputs a and b: here the other way round
    g = viz.draw_graph(d, names=locals())
    sub = f"f{id(d.grad_fn)}"
    labels = edge_labels(g)
    assert labels.get((tid(b), sub)) != "a" and labels.get((tid(a), sub)) != "b"
    rules = label_of(g, sub)           # the rules speak of the user's tensors instead
    assert "db = g" in rules and "da = -g" in rules

    w = tg.Tensor(0.5, requires_grad=True)
    x = tg.Tensor(3.0)
    a = w * x                          # Mul's 'a' is w, but the user's a is the product
    g = viz.draw_graph(a, names=locals())
    mul = f"f{id(a.grad_fn)}"
    assert "a" not in edge_labels(g).values()
    assert "dw = g * x" in label_of(g, mul) and "dx = g * w" in label_of(g, mul)
    assert "da = g * b" not in label_of(g, mul)
    drawn = drawn_names(g)             # every tensor box still says which tensor it is
    assert drawn == {tid(w): "w", tid(x): "x", tid(a): "a"}


# ---- wrapping long chains ------------------------------------------------------------------

def rows_of(g):
    """{node id: row} from the wrapped graph's row subgraphs."""
    rows = {}
    for r, body in re.findall(r"subgraph row_(\d+) \{(.*?)\n\t\}", g.source, flags=re.DOTALL):
        for node in re.findall(r"^\s*(\w+) \[label=", body, flags=re.MULTILINE):
            rows[node] = int(r)
    return rows


def test_wrap_starts_a_new_row_after_every_n_ops():
    x, y = chain(20)
    g = viz.draw_graph(y, wrap=6, names=locals())
    rows = rows_of(g)
    vertex = [v for v in walk(y)]                   # x, op 1, t1, op 2, t2, ...
    for k, v in enumerate(vertex):
        node = tid(v) if isinstance(v, tg.Tensor) else f"f{id(v)}"
        assert rows[node] == max(k - 1, 0) // 12, k  # 6 ops and their outputs a row
    assert max(rows.values()) == 3                  # 20 ops: rows of 6, 6, 6 and 2
    for src, dst in edges(g):                       # nothing runs across rows ...
        if src in rows and dst in rows:
            assert rows[src] == rows[dst], (src, dst)
    ghosts = [n for n in rows if n.startswith("r")]  # ... a row begins with its first input again
    assert len(ghosts) == 3
    assert all(label_of(g, n).strip().startswith("↪") for n in ghosts)
    unwrapped = viz.draw_graph(y, names=locals())
    assert "row_" not in unwrapped.source and "↪" not in unwrapped.source


def test_a_parameter_used_again_rows_later_appears_there_again():
    w = tg.Tensor(0.5, requires_grad=True)
    y = w * 2.0
    for _ in range(8):
        y = y.tanh()
    L = y * w                                       # w is used in the first and the last op
    g = viz.draw_graph(L, wrap=4, names=locals())
    rows = rows_of(g)
    last = f"f{id(L.grad_fn)}"
    assert rows[tid(w)] == 0 and rows[last] == 2
    assert (tid(w), last) not in edges(g)
    (ghost,) = [src for src, dst in edges(g) if dst == last and src.startswith("r")
                and "w" in label_of(g, src)]
    assert rows[ghost] == 2 and "↪ w" in label_of(g, ghost)
    assert label_of(g, ghost).count("0.5") == 0     # a reminder, not a second copy


def test_wrap_checks_its_argument():
    *_, loss = logistic_unit()
    for bad in (1, 0, 2.5, "4", True):
        with pytest.raises(ValueError, match="wrap"):
            viz.draw_graph(loss, wrap=bad)
    assert viz.draw_graph(loss, wrap=None).source == viz.draw_graph(loss).source


def node_boxes(g):
    """{node: (x, y)} of the laid-out picture, from dot's plain output (inches)."""
    boxes = {}
    for line in g.pipe(format="plain").decode().splitlines():
        parts = line.split()
        if parts[0] == "node":
            boxes[parts[1].strip('"')] = (float(parts[2]), float(parts[3]))
    return boxes


def picture_size(g):
    head = g.pipe(format="plain").decode().splitlines()[0].split()
    return float(head[2]), float(head[3])           # graph scale width height


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_wrapped_rows_are_laid_out_one_after_another(rankdir, dot):
    _x, y = chain(24)
    g = viz.draw_graph(y, wrap=8, rankdir=rankdir)
    rows, at = rows_of(g), node_boxes(g)
    across = 1 if rankdir == "LR" else 0            # rows stack downwards (LR) or rightwards (TB)
    sign = -1 if rankdir == "LR" else 1              # (plain output's y grows upwards)
    for r in range(max(rows.values())):
        this = [sign * at[n][across] for n, k in rows.items() if k == r]
        after = [sign * at[n][across] for n, k in rows.items() if k == r + 1]
        assert np.mean(this) < np.mean(after), r
        if rankdir == "LR":                          # flat rows: not even one box overlaps
            assert max(this) < min(after), r
    along = 0 if rankdir == "LR" else 1
    long_side = picture_size(viz.draw_graph(y, rankdir=rankdir))[along]
    assert picture_size(g)[along] < long_side / 2.5  # three rows: about a third as long


# ---- layering ------------------------------------------------------------------------------

def test_viz_imports_only_the_core_at_import_time():
    """nn, train and models import viz's drawings later, never the other way round."""
    allowed = {"autograd", "errors", "modes", "kernels", "random", "tensor", "function", "ops",
               "reference", "engine", "transforms", "creation", "functional"}  # the core
    for path in pathlib.Path(viz.__file__).parent.glob("*.py"):
        for stmt in ast.parse(path.read_text()).body:       # module level only
            if isinstance(stmt, ast.ImportFrom) and stmt.level == 2:
                mods = [stmt.module] if stmt.module else [a.name for a in stmt.names]
                assert {m.split(".")[0] for m in mods} <= allowed, (path.name, mods)
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in stmt.names] + [getattr(stmt, "module", None) or ""]
                assert not any(n.startswith("tinygrad_edu") for n in names), path.name
