"""The CLI reference in docs/cli.md, generated from the command line itself.

Regenerate after changing a command::

    python -c "from commissioning.cli.reference import write_cli_reference; write_cli_reference()"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from commissioning.cli.main import EXIT_CODES, app

START, END = "<!-- generated: start -->", "<!-- generated: end -->"


def _walk(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    out = [(path, cmd)]
    if hasattr(cmd, "list_commands"):  # a group (typer ships its own copy of click)
        ctx = type(cmd).context_class(cmd) if hasattr(cmd, "context_class") else None
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None:
                out += _walk(sub, [*path, name])
    return out


def exit_codes_markdown() -> str:
    """The exit codes every command uses, as a table."""
    rows = "\n".join(f"| {code} | {meaning} |" for code, meaning in EXIT_CODES.items())
    return f"### Exit codes\n\n| code | meaning |\n| --- | --- |\n{rows}\n"


def cli_reference_markdown() -> str:
    """The exit codes, then every command's ``--help``, plain text, in order."""
    root = typer.main.get_command(app)
    blocks = []
    for path, cmd in _walk(root, []):
        name = " ".join(["commissioning", *path])
        ctx = cmd.context_class(cmd, info_name=name, terminal_width=88, max_content_width=88)
        markup = getattr(cmd, "rich_markup_mode", None)
        cmd.rich_markup_mode = None  # plain text, not colour
        try:
            text = cmd.get_help(ctx)
        finally:
            cmd.rich_markup_mode = markup
        blocks.append(f"### {name}\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join([exit_codes_markdown(), *blocks])


def write_cli_reference(path: Path = Path("docs/cli.md")) -> None:
    """Replace the generated part of ``docs/cli.md``."""
    text = path.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n\n{cli_reference_markdown()}\n{END}{tail}")
