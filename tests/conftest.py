"""Shared pytest configuration: make ``tests/helpers.py`` importable as ``helpers`` from every folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
