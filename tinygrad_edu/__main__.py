"""The command line of the tour: from one logistic unit to a network that learns its own features.

    python -m tinygrad_edu [--out FOLDER]      (or the console script: tinygrad-edu)
    python -m tinygrad_edu --html DIR [--out FOLDER]

Runs the lesson (`tinygrad_edu.tour`) in a few seconds and writes its pictures into
FOLDER (default ./tinygrad_edu_out). With --html it writes the lesson instead as
self-contained HTML pages, DIR/index.html and one page per part
(`tinygrad_edu.lesson_html`); the pictures are then kept only when --out is given.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

from .tour import DEFAULT_OUT, run


def main(argv=None):
    """Run the tour; returns 0."""
    name = pathlib.Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    parser = argparse.ArgumentParser(
        prog=name if name.startswith("tinygrad-edu") else "python -m tinygrad_edu",
        description="A short tour of the lesson: how a logistic unit grows into a neural "
                    "network that learns its own features, and how backpropagation trains it.")
    parser.add_argument("--out", default=None, metavar="FOLDER",
                        help=f"folder for the pictures (default: ./{DEFAULT_OUT}; with --html, "
                             "pictures are kept only when this is given)")
    parser.add_argument("--html", default=None, metavar="DIR",
                        help="write the lesson as one self-contained HTML page per part, and "
                             "DIR/index.html, instead of printing it")
    args = parser.parse_args(argv)
    if args.html is None:
        run(DEFAULT_OUT if args.out is None else args.out)
        return 0
    from .lesson_html import write_lessons

    start = time.perf_counter()
    pages = write_lessons(args.html, pictures_dir=args.out)
    print(f"Wrote {len(pages)} HTML pages to {args.html}: {', '.join(p.name for p in pages)} "
          f"({time.perf_counter() - start:.1f} s); open {pages[0]} in a browser.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
