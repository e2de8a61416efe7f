from __future__ import annotations

import sys
from pathlib import Path

# bench/ modules import shared helpers from tests/ (the reference books and fixtures).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
