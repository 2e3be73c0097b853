"""Make ``tests/benchmarks/bench_support.py`` importable from the benchmark tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
