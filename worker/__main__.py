"""``python -m worker [--concurrency N] [--once]``: the same as ``ecoute worker`` (see ecoute/cli.py).

Starting a worker builds the web app (its settings, database and mail) and hands it to the claim loops:
that wiring is the ``ecoute`` command's, which the worker never imports (pyproject.toml's import
contracts). So this process becomes ``python -m ecoute worker`` (same process id, same signals).
"""

import os
import sys

os.execv(sys.executable, [sys.executable, "-m", "ecoute", "worker", *sys.argv[1:]])  # noqa: S606 - our own command
