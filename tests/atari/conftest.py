"""Make ``tests/atari/atari_support.py`` importable from the Atari tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
