"""Step 8 of the story: capacity costs data.

    python examples/07_parameter_count.py

Between two layers of N1 and N2 units every unit of one is connected to every unit of
the other: N1 * N2 weights (plus N2 biases, the weights of the constant unit x0 = 1).
A 32x32 image has 1024 pixel inputs; with 500 hidden units and 10 outputs that is

    1024 * 500 + 500 * 10 = 517,000 weights      (517,510 with the biases).

A common rule of thumb asks for about ten training samples per parameter, here 5.17
million images. More layers and more units are not free. The counts below come from
Module.summary() of real networks, not from the formula. With --out DIR the network is
drawn, a few units per layer (SVG; needs Graphviz's `dot`, else the DOT text is saved).
"""
import argparse
import itertools
import pathlib

import tinygrad_edu as tg
from tinygrad_edu import nn


def network(sizes, bias=True):
    """Linear layers of the given sizes with sigmoid units between them."""
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if i:
            layers.append(nn.Sigmoid())
        layers.append(nn.Linear(n_in, n_out, bias=bias, random_state=i))
    return nn.Sequential(*layers)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="DIR", help="write the network diagram into DIR")
    args = parser.parse_args(argv)

    print("A 1024-500-10 network without biases (Module.summary()):")
    plain = network([32 * 32, 500, 10], bias=False)
    print(plain.summary())
    n_weights = plain.num_parameters()
    assert n_weights == 1024 * 500 + 500 * 10
    print(f"1024*500 + 500*10 = {1024 * 500:,} + {500 * 10:,} = {n_weights:,} weights")

    print("\nThe same with a bias for every unit:")
    with_bias = network([32 * 32, 500, 10])
    print(with_bias.summary())
    n_params = with_bias.num_parameters()
    print(f"{n_weights:,} weights + 500 + 10 biases = {n_params:,} parameters")

    print(f"\nTen samples per parameter: 10 * {n_weights:,} = {10 * n_weights:,} samples, "
          f"about {10 * n_weights / 1e6:.2f} million images.")

    print("\nEvery layer adds N1*N2 weights:")
    print(f"  {'layer sizes':<26} {'weights':>10} {'parameters':>11} {'10 x params':>12}")
    for sizes in ([64, 10], [64, 32, 10], [1024, 10], [1024, 100, 10], [1024, 500, 10],
                  [1024, 500, 500, 10], [1024, 1000, 1000, 1000, 10]):
        weights = network(sizes, bias=False).num_parameters()
        params = weights + sum(sizes[1:])
        print(f"  {'-'.join(map(str, sizes)):<26} {weights:>10,} {params:>11,} "
              f"{10 * params:>12,}")
    print("For comparison, scikit-learn's 8x8 digits hold 1,797 images "
          "(see examples/03_digits.py).")

    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        g = tg.viz.draw_network(plain, max_units=8, title="1024-500-10: 517,000 weights")
        try:
            path = tg.viz.render(g, out / "07_network.svg")
        except tg.viz.GraphvizNotFoundError:
            path = tg.viz.save_source(g, out / "07_network.dot")
            print("Graphviz's `dot` program is missing: saved the DOT text instead of SVG")
        print(f"wrote {path.name} to {out}")


if __name__ == "__main__":
    main()
