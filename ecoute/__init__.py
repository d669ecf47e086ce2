"""Écoute's composition: the ``ecoute`` operator command, the one package that imports both the web app
(``webapp``) and the worker (``worker``). Neither imports it (pyproject.toml's import contracts)."""
