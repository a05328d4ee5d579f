"""A custom op: Swish (also called SiLU), y = x * sigmoid(x), written as a tg.Function.

Run it with ``python examples/custom_op.py``. It checks the op three ways:

1. gradcheck:      backward agrees with central finite differences;
2. gradgradcheck:  the gradient's own gradient agrees too (backward is written with
                   Tensor operations, so it can be differentiated again);
3. a property test with hypothesis: gradcheck on arrays of random shapes and values.

See docs/custom_ops.md for the walk-through.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import arrays, gradcheck, gradgradcheck, shapes


class Swish(tg.Function):
    """y = x * sigmoid(x);  dx = g * s * (1 + x * (1 - s))  with s = sigmoid(x)"""

    @staticmethod
    def forward(ctx, x):            # x is a numpy array
        ctx.save_for_backward(x)    # comes back in backward as the input Tensor
        s = 0.5 * (1.0 + np.tanh(0.5 * x))  # sigmoid(x) without overflow at |x| = 1000
        return x * s

    @staticmethod
    def backward(ctx, g):           # g and the saved x are Tensors
        x, = ctx.saved_tensors
        s = x.sigmoid()
        return g * s * (1.0 + x * (1.0 - s))


def swish(x):
    return Swish.apply(x)


def check_against_builtin_ops(x):
    """The same function built from existing ops gives the same value and gradient."""
    a = tg.Tensor(x, requires_grad=True)
    b = tg.Tensor(x, requires_grad=True)
    swish(a).sum().backward()
    (b * b.sigmoid()).sum().backward()
    return (np.allclose(swish(a).data, (b * b.sigmoid()).data, rtol=1e-13, atol=0)
            and np.allclose(a.grad.data, b.grad.data, rtol=1e-13, atol=1e-15))


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, size=(3, 4))  # float64: finite differences need it

    y = swish(tg.Tensor([-1000.0, -2.0, 0.0, 2.0, 1000.0]))
    print("swish([-1000, -2, 0, 2, 1000]) =",
          np.array2string(y.data + 0.0, precision=4, suppress_small=True))
    print("matches x * x.sigmoid() (values and gradients):", check_against_builtin_ops(x))
    print("gradcheck:    ", gradcheck(swish, x, seed=1))
    print("gradgradcheck:", gradgradcheck(swish, x, seed=2))

    # second derivative at 0 by hand: y'' = s'(x) (2 + x (1 - 2 s)) -> 2 * 1/4 = 0.5
    d2 = tg.grad(tg.grad(lambda t: swish(t)))(0.0)
    print("d2/dx2 swish(0) =", d2.item(), "(by hand: 0.5)")

    examples = []

    @settings(max_examples=40, deadline=None, derandomize=True)
    @given(st.data())
    def property_test(data):
        x = data.draw(arrays(data.draw(shapes(max_dims=2)), low=-5.0, high=5.0))
        examples.append(x.shape)
        assert gradcheck(swish, x)

    property_test()
    print(f"property test: gradcheck passed on {len(examples)} random arrays "
          f"of {len(set(examples))} different shapes")


if __name__ == "__main__":
    main()
