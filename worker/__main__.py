"""``python -m worker [--concurrency N] [--once]``: the same as ``ecoute worker`` (see webapp.cli)."""

from webapp.cli import worker

worker(prog_name="python -m worker")
