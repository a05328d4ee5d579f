"""The layers past the MLP: convolution, pooling, flatten, dropout, batch and layer norm,
embeddings, containers and loss modules.

Each is checked by finite differences (gradcheck and gradgradcheck, float64, random
upstream gradients, hypothesis-drawn shapes) and, when PyTorch is installed, against
PyTorch's values and gradients in float64.
"""
import gc
import os
import re
import subprocess
import sys
import time
import warnings
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn
from tinygrad_edu.nn import ops2d
from tinygrad_edu.testing import arrays, gradcheck, gradgradcheck
from tinygrad_edu.viz.formula import Formula

try:
    import torch
except ImportError:  # the comparisons are skipped; the gradient checks always run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
ROOT = Path(__file__).resolve().parents[1]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def ours_and_torch(f_ours, f_torch, *arrays_, seed=1):
    """Outputs and input gradients (random upstream gradient) of the same function of
    float64 arrays, ours and PyTorch's, as numpy arrays."""
    xs = [tg.Tensor(a, requires_grad=True) for a in arrays_]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays_]
    y, ty = f_ours(*xs), f_torch(*ts)
    u = np.random.default_rng(seed).standard_normal(y.shape)
    (y * u).sum().backward()
    (ty * torch.tensor(u)).sum().backward()
    return ([y.data] + [x.grad.data for x in xs],
            [ty.detach().numpy()] + [t.grad.numpy() for t in ts])


def assert_same(ours, theirs, rtol=1e-10, atol=1e-12):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------- conv2d
@st.composite
def conv_cases(draw):
    """Small convolutions: batch <= 2, channels <= 3, images up to 5x5, kernel 1-3,
    stride 1-2, padding 0-1, with or without a bias."""
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.sampled_from([1, 2, (1, 2)])), draw(st.sampled_from([0, 1, (1, 0)]))
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    assume(kh <= h + 2 * ph and kw <= w + 2 * pw)
    x = draw(arrays((n, c, h, w)))
    weight = draw(arrays((o, c, kh, kw)))
    bias = draw(st.one_of(st.none(), arrays((o,))))
    return x, weight, bias, stride, padding


def conv_fn(stride, padding, with_bias):
    if with_bias:
        return lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding)
    return lambda x, w: F.conv2d(x, w, stride=stride, padding=padding)


def check_conv(check, case):
    x, w, b, stride, padding = case
    return check(conv_fn(stride, padding, b is not None), *((x, w) if b is None else (x, w, b)))


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_gradients_match_finite_differences(case):
    assert check_conv(gradcheck, case)


@settings(max_examples=20, deadline=None)
@given(conv_cases())
def test_conv2d_second_derivatives_match_finite_differences(case):
    assert check_conv(gradgradcheck, case)


CONV_SETTINGS = [(1, 0), (1, 1), (2, 0), (2, 1), ((1, 2), (1, 0))]


@needs_torch
@pytest.mark.parametrize("stride,padding", CONV_SETTINGS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_matches_pytorch(stride, padding, with_bias):
    x, w, b = rand(2, 3, 7, 6, seed=0), rand(4, 3, 3, 2, seed=1), rand(4, seed=2)
    args = (x, w, b) if with_bias else (x, w)
    ours, theirs = ours_and_torch(
        conv_fn(stride, padding, with_bias),
        lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding), *args)
    assert_same(ours, theirs)


@needs_torch
def test_conv2d_second_derivative_matches_pytorch():
    """A gradient penalty: d/dw of |dL/dx|^2, through the gradient of a convolution."""
    x, w = rand(2, 2, 5, 5, seed=3), rand(3, 2, 3, 3, seed=4)
    X, W = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    gx, = tg.gradients((F.conv2d(X, W, stride=2, padding=1) ** 2).sum(), [X], create_graph=True)
    (gx * gx).sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tgx, = torch.autograd.grad((torch.nn.functional.conv2d(tx, tw, stride=2, padding=1) ** 2)
                               .sum(), [tx], create_graph=True)
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(W.grad.data, tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(X.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_conv2d_layer_matches_pytorchs_layer_with_the_same_weights():
    ours = nn.Conv2d(3, 5, 3, stride=2, padding=1, random_state=0)
    theirs = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1).double()
    assert tuple(theirs.weight.shape) == ours.weight.shape
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = rand(2, 3, 8, 8)
    y = ours(tg.Tensor(x))
    y.sum().backward()
    ty = theirs(torch.tensor(x))
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), rtol=1e-10)


def test_conv2d_initialisation_is_pytorchs_kaiming_uniform_and_seeded():
    layer = nn.Conv2d(4, 16, (3, 2), random_state=0)
    bound = 1 / np.sqrt(4 * 3 * 2)  # gain sqrt(2 / (1 + 5)) * sqrt(3 / fan_in)
    assert layer.weight.shape == (16, 4, 3, 2) and layer.bias.shape == (16,)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # uniform over the whole range
    np.testing.assert_array_equal(layer.weight.data,
                                  nn.Conv2d(4, 16, (3, 2), random_state=0).weight.data)
    gen = np.random.default_rng(5)
    a, b = nn.Conv2d(1, 2, 3, random_state=gen), nn.Conv2d(1, 2, 3, random_state=gen)
    assert not np.array_equal(a.weight.data, b.weight.data)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    if torch is not None:
        torch.manual_seed(0)
        t = torch.nn.Conv2d(4, 16, (3, 2))
        assert t.weight.abs().max().item() <= bound
        assert t.bias.abs().max().item() <= bound


def test_conv2d_output_shape_and_repr():
    layer = nn.Conv2d(3, 8, 3, stride=2, padding=1, random_state=0)
    assert layer(tg.Tensor(rand(2, 3, 9, 8))).shape == (2, 8, 5, 4)
    assert repr(layer) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_conv2d_keeps_float32():
    layer = nn.Conv2d(1, 2, 3, random_state=0, dtype=np.float32)
    x = tg.Tensor(rand(2, 1, 5, 5), dtype=np.float32)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == np.float32 and layer.weight.grad.dtype == np.float32


@pytest.mark.parametrize("x_shape,message", [
    ((2, 3, 8, 8), (r"Conv2d\(1, 4, .*\): input of shape \(2, 3, 8, 8\) has 3 channels, "
                    r"but the weight of shape \(4, 1, 3, 3\) expects 1")),
    ((2, 1, 2, 8), (r"Conv2d\(1, 4, .*\): kernel 3x3 is larger than the input 2x8 "
                    r"\(input shape \(2, 1, 2, 8\)")),
    ((1, 8, 8), (r"Conv2d\(1, 4, .*\): expected a 4-D input \(N, C, H, W\), got shape "
                 r"\(1, 8, 8\) \(add the batch axis")),
    ((64,), r"expected a 4-D input \(N, C, H, W\), got shape \(64,\)"),
])
def test_conv2d_bad_input_names_the_layer_and_the_shapes(x_shape, message):
    layer = nn.Conv2d(1, 4, 3, random_state=0)
    with pytest.raises(tg.ShapeError, match=message):
        layer(tg.Tensor(np.zeros(x_shape)))


def test_conv2d_kernel_larger_than_the_padded_input_is_refused():
    with pytest.raises(tg.ShapeError, match=r"conv2d: kernel 5x5 is larger than the padded "
                                            r"input 4x4 .*padding \(1, 1\)"):
        F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 5, 5)), padding=1)
    assert F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 4, 4)), padding=1).shape == \
        (1, 1, 1, 1)


@pytest.mark.parametrize("kwargs,message", [
    (dict(stride=0), r"stride must be an integer >= 1"),
    (dict(padding=-1), r"padding must be an integer >= 0"),
    (dict(kernel_size=(3, 3, 3)), r"kernel_size must be an integer >= 1 or a pair"),
])
def test_conv2d_bad_settings_are_named(kwargs, message):
    with pytest.raises(tg.ArgumentError, match=message):
        nn.Conv2d(1, 1, **{"kernel_size": 3, **kwargs})


def test_conv2d_bad_weight_and_bias_shapes():
    with pytest.raises(tg.ShapeError, match=r"4-D weight .* got shape \(3, 3\)"):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((3, 3)))
    with pytest.raises(tg.ShapeError, match=r"bias of shape \(3,\) does not fit 2 output"):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(3))


def test_conv2d_formula_gives_the_forward_the_rules_and_the_roles():
    f = Formula(ops2d.Conv2d)
    assert f.forward == "y = conv(x, w) + b"
    assert f.rules == ["dx = conv_transpose(g, w)", "dw = conv_weight(x, g)", "db = sum(g)"]
    assert f.roles == ["x", "w", "b"]
    for op in (ops2d.Conv2dInputGrad, ops2d.Conv2dWeightGrad, ops2d.MaxPool2d,
               ops2d.AvgPool2d, ops2d.WindowSum, ops2d.Unpool2d):
        f = Formula(op)
        assert f.forward.startswith("y = ") and f.rules and all(f.roles), op.__name__


def tiny_conv_graph():
    conv = nn.Conv2d(1, 2, 2, random_state=0)
    x = tg.Tensor(rand(1, 1, 3, 3))
    y = conv(x)
    return conv, x, y, nn.MaxPool2d(2)(y.relu()).sum()


def test_explain_writes_out_a_convolution():
    conv, x, y, L = tiny_conv_graph()
    text = tg.viz.explain(L, names={"x": x, "W": conv.weight, "b": conv.bias, "y": y})
    assert "y  = conv(x, W) + b" in text and "(Conv2d, shape 1×2×2×2)" in text
    assert "dW = conv_weight(x, g)" in text and "(MaxPool2d" in text
    L.backward()
    np.testing.assert_allclose(text.grad(conv.weight), conv.weight.grad.data)


def test_draw_graph_names_the_conv_op_and_labels_its_inputs():
    conv, x, _, L = tiny_conv_graph()
    source = tg.viz.draw_graph(L, names={"x": x, "W": conv.weight}).source
    assert "<b>Conv2d</b>" in source and "<b>MaxPool2d</b>" in source
    assert 'label=" x "' in source and 'label=" w "' in source and 'label=" b "' in source
    assert "dw = conv_weight(x, g)" in source


# --------------------------------------------------------------------------- pooling
@st.composite
def pool_cases(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    k = draw(st.sampled_from([1, 2, 3, (2, 1), (1, 3)]))
    kh, kw = (k, k) if isinstance(k, int) else k
    assume(kh <= h and kw <= w)
    stride = draw(st.sampled_from([None, 1, 2, (1, 2)]))
    return draw(arrays((n, c, h, w))), k, stride


@settings(max_examples=40, deadline=None)
@given(pool_cases(), st.sampled_from(["max", "avg"]))
def test_pool_gradients_of_first_and_second_order(case, kind):
    x, k, stride = case
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    if kind == "max":  # away from ties: finite differences straddle no kink
        assume(tg.testing.distinct(x, min_gap=1e-2))
    assert gradcheck(lambda t: pool(t, k, stride), x)
    assert gradgradcheck(lambda t: pool(t, k, stride), x)


@needs_torch
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,stride", [(2, None), (3, 1), (2, 1), ((2, 3), (1, 2)), (3, 2)])
def test_pools_match_pytorch(kind, k, stride):
    ours = F.max_pool2d if kind == "max" else F.avg_pool2d
    theirs = getattr(torch.nn.functional, f"{kind}_pool2d")
    got, want = ours_and_torch(lambda t: ours(t, k, stride), lambda t: theirs(t, k, stride),
                               rand(2, 3, 7, 6))
    assert_same(got, want)


def test_max_pool_splits_the_gradient_of_a_tie_evenly():
    x = tg.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((1, 1, 2, 2), 0.25))


def test_overlapping_max_pool_windows_add_up_at_a_shared_maximum():
    x = tg.Tensor(np.array([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]),
                  requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    assert x.grad.data[0, 0, 1, 1] == 4.0 and x.grad.data.sum() == 4.0


def test_pool_layers_default_stride_repr_and_shapes():
    pool = nn.MaxPool2d(2)
    assert repr(pool) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"
    assert pool(tg.Tensor(rand(2, 3, 7, 6))).shape == (2, 3, 3, 3)
    avg = nn.AvgPool2d(3, stride=1)
    assert repr(avg) == "AvgPool2d(kernel_size=(3, 3), stride=(1, 1))"
    np.testing.assert_allclose(avg(tg.Tensor(np.ones((1, 1, 4, 4)))).data, np.ones((1, 1, 2, 2)))
    assert pool.parameters() == []


def test_pool_bad_input_names_the_layer_and_the_shapes():
    with pytest.raises(tg.ShapeError, match=r"MaxPool2d\(kernel_size=\(3, 3\), .*kernel 3x3 "
                                            r"is larger than the input 2x2"):
        nn.MaxPool2d(3)(tg.Tensor(np.zeros((1, 1, 2, 2))))
    with pytest.raises(tg.ShapeError, match=r"avg_pool2d: expected a 4-D input .* \(4, 4\)"):
        F.avg_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(tg.ArgumentError, match=r"MaxPool2d: kernel_size must be"):
        nn.MaxPool2d(0)


def test_flatten_keeps_the_batch_axis_and_passes_the_gradient_back():
    x = tg.Tensor(rand(2, 3, 4, 5), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(start_dim=2)(x).shape == (2, 3, 20)
    u = rand(2, 60, seed=3)
    (y * u).sum().backward()
    np.testing.assert_array_equal(x.grad.data, u.reshape(2, 3, 4, 5))
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


@needs_torch
def test_a_small_cnn_matches_pytorch_end_to_end():
    """Conv-ReLU-MaxPool-Flatten-Linear, the example's shape, with the same weights."""
    conv, lin = nn.Conv2d(1, 4, 3, padding=1, random_state=0), nn.Linear(16, 3, random_state=1)
    model = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), lin)
    tconv = torch.nn.Conv2d(1, 4, 3, padding=1).double()
    tlin = torch.nn.Linear(16, 3).double()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.data))
        tconv.bias.copy_(torch.tensor(conv.bias.data))
        tlin.weight.copy_(torch.tensor(lin.weight.data.T))  # ours is (in, out)
        tlin.bias.copy_(torch.tensor(lin.bias.data))
    tmodel = torch.nn.Sequential(tconv, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), tlin)
    x, labels = rand(5, 1, 4, 4), np.array([0, 2, 1, 1, 0])
    loss = nn.CrossEntropyLoss()(model(tg.Tensor(x)), labels)
    loss.backward()
    tloss = torch.nn.CrossEntropyLoss()(tmodel(torch.tensor(x)), torch.tensor(labels))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(conv.weight.grad.data, tconv.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(lin.weight.grad.data, tlin.weight.grad.numpy().T, rtol=1e-9)


# --------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5", True])
def test_dropout_refuses_p_outside_0_1(p):
    with pytest.raises(tg.ArgumentError, match=r"p must be in \[0, 1\)"):
        F.dropout(np.ones(3), p)
    with pytest.raises(tg.ArgumentError, match=r"Dropout: the drop probability"):
        nn.Dropout(p)


def test_inverted_dropout_scales_the_kept_units_and_drops_about_p():
    x = tg.Tensor(np.ones((200, 500)), requires_grad=True)
    y = F.dropout(x, 0.3, random_state=0)
    values = np.unique(y.data)
    np.testing.assert_allclose(values, [0.0, 1 / 0.7])
    assert abs((y.data == 0).mean() - 0.3) < 0.01
    assert abs(y.data.mean() - 1.0) < 0.02  # E[y] = x
    u = rand(200, 500)
    (y * u).sum().backward()
    np.testing.assert_allclose(x.grad.data, u * y.data)  # the same mask, the same scale


def test_dropout_is_the_identity_in_eval_mode_and_for_p_0():
    x = tg.Tensor(rand(4, 5))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    layer = nn.Dropout(0.5, random_state=0)
    assert not np.array_equal(layer(x).data, x.data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x.data)
    layer.train()
    assert not np.array_equal(layer(x).data, x.data)


def test_dropout_masks_are_seeded_and_new_at_each_call():
    x = tg.Tensor(np.ones(50))
    a, b = nn.Dropout(0.5, random_state=3), nn.Dropout(0.5, random_state=3)
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)
    np.testing.assert_array_equal(F.dropout(x, 0.5, random_state=7).data,
                                  F.dropout(x, 0.5, random_state=7).data)


def test_dropout_gradients_are_exact_of_every_order():
    x = rand(3, 4)
    f = lambda t: F.dropout(t, 0.4, random_state=np.random.default_rng(0))
    assert gradcheck(lambda t: f(t) * t, x)  # the same mask at every evaluation
    assert gradgradcheck(lambda t: f(t) * t, x)


# ------------------------------------------------------------------------ batch norm
def torch_batchnorm(cls, c, ours):
    theirs = cls(c).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    return theirs


@needs_torch
@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 5, 2))])
def test_batch_norm_matches_pytorch_in_training_and_in_eval(name, shape):
    ours = getattr(nn, name)(3)
    ours.weight.data = rand(3, seed=7) + 1.0
    ours.bias.data = rand(3, seed=8)
    theirs = torch_batchnorm(getattr(torch.nn, name), 3, ours)
    for step in range(3):  # training steps move the running statistics
        x = rand(*shape, seed=step) * 2 + 0.5
        for m in (ours.weight, ours.bias):
            m.grad = None
        theirs.zero_grad()
        got, want = ours_and_torch(ours, theirs, x, seed=step)
        assert_same(got, want, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    got, want = ours_and_torch(ours, theirs, rand(*shape, seed=9))
    assert_same(got, want)


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (4, 2)), (nn.BatchNorm2d, (2, 2, 3, 2))])
def test_batch_norm_gradients_of_first_and_second_order(cls, shape):
    bn = cls(2)

    def f(x, w, b):
        bn.weight, bn.bias = w, b
        return bn(x)

    args = (rand(*shape, seed=1), rand(2, seed=2), rand(2, seed=3))
    assert gradcheck(f, *args)
    assert gradgradcheck(f, *args)
    bn.eval()
    assert gradcheck(f, *args)


def test_batch_norm_running_statistics_are_plain_arrays_that_keep_no_graph_alive():
    bn = nn.BatchNorm1d(3)
    x = tg.Tensor(rand(8, 3), requires_grad=True)
    y = bn(x)
    node = weakref.ref(y.grad_fn)
    assert type(bn.running_mean) is np.ndarray and type(bn.running_var) is np.ndarray
    y.sum().backward()
    del y
    gc.collect()
    assert node() is None  # the running statistics held nothing of the step's graph
    # the unbiased variance moves running_var, the biased one normalises
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.data.var(axis=0, ddof=1))
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.data.mean(axis=0))


def test_batch_norm_buffers_are_in_the_state_dict_and_round_trip():
    bn = nn.BatchNorm2d(2)
    bn(tg.Tensor(rand(3, 2, 2, 2)))
    state = bn.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var"]
    other = nn.BatchNorm2d(2).load_state_dict(state)
    np.testing.assert_array_equal(other.running_var, bn.running_var)
    state["running_mean"][:] = 99.0  # a copy: the layer's buffer is untouched
    assert not np.any(bn.running_mean == 99.0)
    with pytest.raises(tg.ShapeError, match=r"running_var: expected \(2,\), got \(3,\)"):
        other.load_state_dict({**bn.state_dict(), "running_var": np.ones(3)})


def test_batch_norm_bad_input_names_the_layer_and_the_shapes():
    with pytest.raises(tg.ShapeError, match=r"BatchNorm2d\(3, .*\): expected a 4-D input "
                                            r"with 3 channels on axis 1, got shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(tg.Tensor(np.zeros((2, 4, 5, 5))))
    with pytest.raises(tg.ShapeError, match=r"expected a 2-D or 3-D input .* \(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(tg.Tensor(np.zeros((2, 3, 4, 4))))
    with pytest.raises(tg.ShapeError, match=r"more than one value per channel"):
        nn.BatchNorm1d(3)(tg.Tensor(np.zeros((1, 3))))
    nn.BatchNorm1d(3).eval()(tg.Tensor(np.zeros((1, 3))))  # fine with running statistics
    with pytest.raises(tg.ArgumentError, match=r"eps must be a positive number"):
        nn.BatchNorm1d(3, eps=0)


def test_train_and_eval_switch_every_dropout_and_batch_norm_inside():
    model = nn.Sequential(nn.Linear(4, 4, random_state=0), nn.BatchNorm1d(4), nn.Dropout(0.5),
                          nn.Sequential(nn.Dropout(0.2)))
    model.eval()
    assert not any(m.training for _, m in model.named_modules())
    x = tg.Tensor(rand(3, 4))
    np.testing.assert_array_equal(model(x).data, model(x).data)  # deterministic in eval
    before = model[1].running_mean.copy()
    model(x)
    np.testing.assert_array_equal(model[1].running_mean, before)  # eval: no update
    model.train()
    assert all(m.training for _, m in model.named_modules())


# ------------------------------------------------------------------------ layer norm
@needs_torch
@pytest.mark.parametrize("normalized_shape,shape", [(5, (3, 5)), ((4, 5), (2, 3, 4, 5))])
def test_layer_norm_matches_pytorch(normalized_shape, shape):
    ours = nn.LayerNorm(normalized_shape)
    ours.weight.data = rand(*ours.normalized_shape, seed=5) + 1
    ours.bias.data = rand(*ours.normalized_shape, seed=6)
    theirs = torch.nn.LayerNorm(normalized_shape).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    got, want = ours_and_torch(ours, theirs, rand(*shape) * 3)
    assert_same(got, want, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-9)


def test_layer_norm_gradients_and_bad_shapes():
    ln = nn.LayerNorm(3)
    assert gradcheck(lambda x: ln(x), rand(2, 3))
    assert gradgradcheck(lambda x: ln(x), rand(2, 3))
    with pytest.raises(tg.ShapeError, match=r"LayerNorm\(\(3,\), .*\): the last axes of an "
                                            r"input of shape \(2, 4\) must be \(3,\)"):
        ln(tg.Tensor(np.zeros((2, 4))))
    assert nn.LayerNorm(3, elementwise_affine=False).parameters() == []


# ------------------------------------------------------------------------- embedding
def test_embedding_looks_up_rows_and_accumulates_repeated_indices():
    emb = nn.Embedding(5, 3, random_state=0)
    idx = np.array([[1, 1], [4, 1]])
    y = emb(idx)
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.data, emb.weight.data[idx])
    u = rand(2, 2, 3)
    (y * u).sum().backward()
    want = np.zeros((5, 3))
    want[1] = u[0, 0] + u[0, 1] + u[1, 1]  # three uses of row 1
    want[4] = u[1, 0]
    np.testing.assert_allclose(emb.weight.grad.data, want)
    np.testing.assert_array_equal(emb(tg.Tensor([4, 0])).data, emb.weight.data[[4, 0]])


@needs_torch
def test_embedding_matches_pytorch():
    ours = nn.Embedding(6, 4, random_state=1)
    theirs = torch.nn.Embedding(6, 4).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    idx = np.array([0, 5, 5, 2, 0, 0])
    u = rand(6, 4)
    (ours(idx) * u).sum().backward()
    (theirs(torch.tensor(idx)) * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12)


def test_embedding_bad_indices_are_named():
    emb = nn.Embedding(5, 2)
    with pytest.raises(tg.DTypeError, match=r"Embedding\(5, 2\): indices must be integers"):
        emb(np.array([0.5]))
    with pytest.raises(IndexError, match=r"index 5 is outside \[0, 5\)"):
        emb(np.array([0, 5]))
    with pytest.raises(IndexError, match=r"index -1 is outside"):
        emb(np.array([-1]))


# ------------------------------------------------------------------------ containers
class Tower(nn.Module):
    def __init__(self):
        self.layers = nn.ModuleList([nn.Linear(2, 3, random_state=0),
                                     nn.Linear(3, 3, random_state=1)])
        self.heads = nn.ModuleDict({"left": nn.Linear(3, 1, random_state=2),
                                    "right": nn.Linear(3, 1, bias=False, random_state=3)})

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).tanh()
        return self.heads["left"](x) + self.heads["right"](x)


def test_module_list_and_dict_parameters_are_found_and_named():
    names = [n for n, _ in Tower().named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "heads.left.weight", "heads.left.bias", "heads.right.weight"]
    assert len(Tower().parameters()) == 7


def test_module_containers_state_dict_round_trip_and_training():
    a, b = Tower(), Tower()
    for p in b.parameters():
        p.data = p.data + 1.0
    b.load_state_dict(a.state_dict())
    x = tg.Tensor(rand(4, 2))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    loss = a(x).sum()
    loss.backward()
    assert all(p.grad is not None for p in a.parameters())
    a.eval()
    assert not a.layers[0].training and not a.heads["left"].training


def test_module_list_behaves_as_a_list():
    ml = nn.ModuleList()
    ml.append(nn.ReLU()).extend([nn.Tanh(), nn.Sigmoid()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "ReLU", "Tanh", "Sigmoid"]
    assert len(ml) == 4 and isinstance(ml[-1], nn.Sigmoid)
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    ml[0] = nn.Linear(1, 1)
    del ml[1]
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias"]
    assert [type(m).__name__ for m in ml] == ["Linear", "Tanh", "Sigmoid"]
    with pytest.raises(TypeError, match=r"ModuleList.append: expected a Module, got int"):
        ml.append(3)


def test_module_dict_behaves_as_a_dict():
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Linear(2, 2)
    assert md.keys() == ["a", "b"] and "b" in md and "c" not in md and len(md) == 2
    assert [k for k, _ in md.items()] == list(md) == ["a", "b"]
    del md["a"]
    assert md.keys() == ["b"]
    with pytest.raises(KeyError):
        md["nope"]
    for bad in ("training", "keys", "a.b", 3):
        with pytest.raises(KeyError, match="a key must be a name"):
            md[bad] = nn.ReLU()


def test_layers_in_a_plain_list_are_reported_not_silently_dropped():
    class Net(nn.Module):
        def __init__(self):
            self.layers = [nn.Linear(2, 2), nn.Linear(2, 1)]

    with pytest.warns(UserWarning, match=r"Net\.layers is a plain list of Modules: "
                                         r"parameters\(\) does not look inside it.*nn\.ModuleList"):
        net = Net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.parameters()  # warned once for this list: not again at every call

    class Later(nn.Module):
        def __init__(self):
            self.blocks = []
            self.blocks.append(nn.Linear(2, 2))  # filled after the assignment
            self.heads = {"out": nn.Linear(2, 1)}

    with pytest.warns(UserWarning, match=r"Later\.heads is a plain dict .*nn\.ModuleDict"):
        later = Later()
    with pytest.warns(UserWarning, match=r"Later\.blocks is a plain list .*nn\.ModuleList"):
        assert later.parameters() == []


def test_lists_of_other_things_do_not_warn():
    class Net(nn.Module):
        def __init__(self):
            self.sizes = [1, 2]
            self.names = ("a",)
            self.layers = nn.ModuleList([nn.Linear(1, 1)])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(Net().parameters()) == 2


# ---------------------------------------------------------------------------- losses
LOSS_CASES = {
    "MSELoss": (lambda: (rand(4, 3), rand(4, 3, seed=1)), F.mse_loss),
    "BCELoss": (lambda: (np.random.default_rng(0).uniform(0.05, 0.95, (4, 3)),
                         np.random.default_rng(1).integers(0, 2, (4, 3)).astype(float)),
                F.binary_cross_entropy),
    "BCEWithLogitsLoss": (lambda: (rand(4, 3), np.random.default_rng(1).uniform(0, 1, (4, 3))),
                          F.binary_cross_entropy_with_logits),
    "CrossEntropyLoss": (lambda: (rand(4, 3), np.array([0, 2, 1, 2])), F.cross_entropy),
    "NLLLoss": (lambda: (np.log(np.random.default_rng(0).dirichlet(np.ones(3), 4)),
                         np.array([0, 2, 1, 2])), F.nll_loss),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSS_CASES))
def test_loss_modules_are_their_functions_and_match_pytorch(name, reduction):
    make, fn = LOSS_CASES[name]
    x, t = make()
    module = getattr(nn, name)(reduction=reduction)
    assert repr(module) == f"{name}(reduction={reduction!r})"
    X = tg.Tensor(x, requires_grad=True)
    y = module(X, t)
    np.testing.assert_array_equal(y.data, fn(tg.Tensor(x), t, reduction=reduction).data)
    if torch is None:
        return
    tx = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    ty = getattr(torch.nn, name)(reduction=reduction)(tx, tt)
    u = rand(*y.shape, seed=4)
    (y * u).sum().backward()
    (ty * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(X.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_loss_modules_refuse_an_unknown_reduction():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: reduction must be 'mean', 'sum' "
                                         r"or 'none', got 'avg'"):
        nn.CrossEntropyLoss(reduction="avg")


# --------------------------------------------------------------------------- example
def test_the_convnet_example_reaches_98_percent_on_held_out_digits(tmp_path):
    pytest.importorskip("sklearn")
    script = ROOT / "examples" / "10_convnet_digits.py"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), "--out", str(tmp_path), "--seconds", "40"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    accuracy = float(re.search(r"held-out accuracy ([\d.]+)%", proc.stdout).group(1))
    assert accuracy >= 98.0, proc.stdout
    assert seconds < 60, proc.stdout
    for name in re.findall(r"wrote (.*) to", proc.stdout)[0].split(", "):
        assert (tmp_path / name).exists()
