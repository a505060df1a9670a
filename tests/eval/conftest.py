"""Eval-suite fixtures: ragas analytics off (the CLI does the same), small hand-made sets."""

from __future__ import annotations

import os

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
