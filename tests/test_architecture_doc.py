"""docs/architecture.md stays true: every file, folder and module it names exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
TOP = ("ecoute", "webapp", "worker", "kiosk", "migrations", "tests", "bin", "docs", "infra", "benchmarks")


def _named() -> tuple[list[str], list[str]]:
    """The paths (``webapp/db.py``, ``worker/speech/``) and dotted names (``webapp.jobs.claim``) in backticks."""
    spans = re.findall(r"`([^`\s]+)`", DOC.read_text(encoding="utf-8"))
    paths = [s for s in spans if "/" in s and s.split("/")[0] in TOP]
    dotted = [s for s in spans if "/" not in s and s.split(".")[0] in TOP and "." in s]
    return paths, dotted


def _resolves(name: str) -> bool:
    """A dotted module, or a module's attribute (``webapp.auth.access``)."""
    module, _, attribute = name.rpartition(".")
    if importlib.util.find_spec(name.split(".")[0]) is None:
        return False
    for candidate, attr in ((name, ""), (module, attribute)):
        try:
            spec = importlib.util.find_spec(candidate)
        except ModuleNotFoundError:
            continue
        if spec is None or spec.origin is None:
            continue
        if not attr:
            return True
        return re.search(rf"^(def|class) {re.escape(attr)}\b|^{re.escape(attr)}\b", Path(spec.origin).read_text(
            encoding="utf-8"), re.MULTILINE) is not None
    return False


def test_the_architecture_page_names_only_what_exists() -> None:
    paths, dotted = _named()
    assert len(paths) >= 30, "the page names the modules a newcomer needs"
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"
    unresolved = [d for d in dotted if not _resolves(d)]
    assert not unresolved, f"docs/architecture.md names modules or functions that do not exist: {unresolved}"


def test_the_check_would_catch_a_stale_name() -> None:
    assert not (ROOT / "worker/tagging.py").exists()
    assert not _resolves("webapp.jobs.no_such_function")
    assert _resolves("webapp.jobs.claim")
