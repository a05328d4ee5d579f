"""Step 7 of the story: backpropagation is the chain rule with total derivatives.

    python examples/08_backprop_by_hand.py [--out DIR]

A tiny network, 2 inputs - 2 hidden units - 1 output, all logistic units, one sample:

    x = [x0 = 1, x1, x2]                      (x0 = 1: the bias input)
    z_j = sigma(sum_i x_i W_ij)               j = 1, 2       W is 3 x 2
    z0 = 1                                    (the hidden layer's bias input)
    y_k = sigma(sum_j z_j V_jk)               k = 1 (P = 1)  V is 3 x 1
    L = -sum_k [t_k log y_k + (1 - t_k) log(1 - y_k)]        (cross-entropy)

The gradients, by the chain rule:

    dL/da_k  = y_k - t_k                      (a_k = sum_j z_j V_jk; sigmoid + cross-entropy)
    dL/dV_jk = (y_k - t_k) z_j                straight from the output error
    dL/dz_j  = sum_k (y_k - t_k) V_jk         W_ij reaches L only through z_j, and z_j
                                              feeds every output y_k: a total derivative,
                                              summed over k
    dL/dW_ij = dL/dz_j * z_j (1 - z_j) * x_i  sigma'(s) = sigma(s) (1 - sigma(s))

We compute these with numpy, by hand, and compare them with what the engine's
`loss.backward()` finds by walking the recorded graph backwards. The same is then
done with P = 2 outputs, where the sum over k has two terms. Finally
`tg.viz.explain(loss)` writes out every step of the engine's backward pass. With
--out DIR the computation graph is drawn with its values and gradients (SVG; needs
Graphviz's `dot`, else the DOT text is saved).
"""
import argparse
import pathlib

import numpy as np

import tinygrad_edu as tg


def sigmoid(s):
    return 1 / (1 + np.exp(-s))


def by_hand(x, W, V, t):
    """Forward and backward pass with numpy only, following the formulas above."""
    z = sigmoid(x @ W)                        # hidden units z_1..z_M
    z_ext = np.concatenate([[1.0], z])        # [z0 = 1, z_1..z_M]
    y = sigmoid(z_ext @ V)                    # outputs y_1..y_P
    loss = -np.sum(t * np.log(y) + (1 - t) * np.log(1 - y))

    delta = y - t                             # dL/da_k: the output error
    dV = np.outer(z_ext, delta)               # dL/dV_jk = z_j * (y_k - t_k)
    M, P = len(z), len(y)
    dz = np.array([sum(delta[k] * V[j + 1, k] for k in range(P))   # the total derivative:
                   for j in range(M)])                              # a sum over the outputs
    dW = np.outer(x, dz * z * (1 - z))        # dL/dW_ij = x_i * sigma'(s_j) * dL/dz_j
    return loss, dW, dV, dz


def by_engine(x, W, V, t):
    """The same network as Tensor operations; the engine finds the gradients."""
    x, t = tg.Tensor(x), tg.Tensor(t)
    W = tg.Tensor(W, requires_grad=True)
    V = tg.Tensor(V, requires_grad=True)
    s = x @ W                                 # the hidden units' inputs s_j
    z = s.sigmoid()
    z_ext = tg.concatenate([tg.Tensor([1.0]), z])
    a = z_ext @ V                             # the output units' inputs a_k
    y = a.sigmoid()
    L = -(t * y.log() + (1 - t) * (1 - y).log()).sum()
    L.backward()                              # fills W.grad and V.grad
    # names for explain() and draw_graph(); unnamed intermediate values become t1, t2, ...
    names = {"x": x, "target": t, "W": W, "V": V, "s": s, "z": z, "z_ext": z_ext, "a": a, "y": y,
             "L": L}
    return L, W, V, names


def compare(x, W, V, t):
    loss, dW, dV, dz = by_hand(x, W, V, t)
    L, W_t, V_t, names = by_engine(x, W, V, t)
    print(f"   loss = {loss:.6f} (numpy) = {L.item():.6f} (engine)")
    print(f"   dL/dz by hand (sum over the {len(t)} output(s)) = {np.round(dz, 6).tolist()}")
    for name, hand, engine in [("W", dW, W_t.grad.data), ("V", dV, V_t.grad.data)]:
        print(f"   dL/d{name} by hand:\n{indent(hand)}")
        print(f"   dL/d{name} by the engine (.backward()):\n{indent(engine)}")
        gap = np.max(np.abs(hand - engine))
        assert gap < 1e-12, gap
        print(f"   largest difference in dL/d{name}: {gap:.1e}")
    return names


def indent(a):
    return "\n".join("      " + line for line in np.array2string(a, precision=6).splitlines())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write the computation graph into DIR")
    args = parser.parse_args(argv)

    x = np.array([1.0, 0.5, -1.0])            # [x0 = 1, x1, x2]
    W = np.array([[0.1, -0.2],                # row 0: the hidden units' biases (from x0)
                  [0.4, 0.3],                 # from x1
                  [-0.5, 0.2]])               # from x2
    V = np.array([[0.05],                     # from z0 = 1: the output's bias
                  [0.7],                      # from z1
                  [-0.6]])                    # from z2
    t = np.array([1.0])

    print("1. A 2-2-1 network, one sample x = [1, 0.5, -1], target t = 1:")
    names = compare(x, W, V, t)
    print("   hand and engine agree: True")

    print("\n2. The same with 2 outputs (a 2-2-2 network): dL/dz_j now sums two paths")
    V2 = np.hstack([V, [[-0.1], [0.3], [0.8]]])
    compare(x, W, V2, np.array([1.0, 0.0]))
    print("   hand and engine agree: True")

    print("\n3. The engine's backward pass of the 2-2-1 network, step by step "
          "(tg.viz.explain):\n")
    tg.viz.explain(names["L"], names=names, print=True)

    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        g = tg.viz.draw_graph(names["L"], names=names, show_grad="all")
        try:
            path = tg.viz.render(g, out / "08_graph.svg")
        except tg.viz.GraphvizNotFoundError:
            path = tg.viz.save_source(g, out / "08_graph.dot")
            print("Graphviz's `dot` program is missing: saved the DOT text instead of SVG")
        print(f"wrote {path.name} to {out}")


if __name__ == "__main__":
    main()
