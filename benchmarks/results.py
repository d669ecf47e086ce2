"""Where benchmarks write their figures: ``benchmarks/results/<name>-<UTC stamp>.json`` and ``<name>-latest.json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def save(name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` under both names; return the stamped file's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamped = RESULTS / f"{name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    for path in (stamped, RESULTS / f"{name}-latest.json"):
        path.write_text(text)
    return stamped
