"""Make ``tests/medical/medical_support.py`` importable from the medical tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
