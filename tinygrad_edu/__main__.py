"""The command line of the tour: from one logistic unit to a network that learns its own features.

    python -m tinygrad_edu [--out FOLDER]      (or the console script: tinygrad-edu)

Runs the lesson (`tinygrad_edu.tour`) in a few seconds and writes its pictures into
FOLDER (default ./tinygrad_edu_out).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from .tour import DEFAULT_OUT, run


def main(argv=None):
    """Run the tour; returns 0."""
    name = pathlib.Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    parser = argparse.ArgumentParser(
        prog=name if name.startswith("tinygrad-edu") else "python -m tinygrad_edu",
        description="A short tour of the lesson: how a logistic unit grows into a neural "
                    "network that learns its own features, and how backpropagation trains it.")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="FOLDER",
                        help=f"folder for the pictures (default: ./{DEFAULT_OUT})")
    args = parser.parse_args(argv)
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
