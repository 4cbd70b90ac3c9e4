"""Helpers of the battery tests: the loop-based oracles of tests/settlement beside this folder's."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "settlement"))
