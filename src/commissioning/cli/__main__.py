"""``python -m commissioning.cli``: the same as the ``commissioning`` command."""

from commissioning.cli.main import app

app()
