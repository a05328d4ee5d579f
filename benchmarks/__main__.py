"""``python -m benchmarks``: run the benchmark suite."""
import sys

from benchmarks.run import main

sys.exit(main())
