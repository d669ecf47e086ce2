"""Werkzeug compiles two URL builders per route with ``ast`` and ``compile`` each time an app is made:
about 95 % of ``create_app``'s time, and the suite makes an app per test. The generated code depends only
on the rule's text, its parsed parts and its defaults (the converters are looked up on the rule at call
time), so the tests compile each builder once per process and bind it to every new rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from werkzeug.routing import rules

_installed = False


def install() -> None:
    """Memoise ``Rule._compile_builder`` for this process (idempotent)."""
    global _installed
    original: Callable[..., Any] | None = getattr(rules.Rule, "_compile_builder", None)
    if _installed or original is None:
        return
    compiled: dict[tuple[Any, ...], Callable[..., Any]] = {}

    @functools.wraps(original)
    def _compile_builder(self: rules.Rule, append_unknown: bool = True) -> Callable[..., Any]:
        defaults = self.defaults or {}
        key = (self.rule, append_unknown, tuple(self._trace), repr(sorted(defaults.items())),
               tuple((name, type(self._converters[name]), self._converters[name].to_url(value))
                     for name, value in sorted(defaults.items()) if name in self._converters))
        builder = compiled.get(key)
        if builder is None:
            builder = compiled[key] = original(self, append_unknown)
        return builder

    rules.Rule._compile_builder = _compile_builder  # type: ignore[method-assign]
    _installed = True
