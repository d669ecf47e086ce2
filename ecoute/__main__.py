"""``python -m ecoute``: the same as the ``ecoute`` command."""

from ecoute.cli import main

main(prog_name="ecoute")
