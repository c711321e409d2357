"""The CLI reference in docs/cli.md, generated from the command line itself, and the
Python API reference in docs/api.md, generated from the docstrings of commissioning.api.

Regenerate after changing a command::

    python -c "from commissioning.cli.reference import write_cli_reference; write_cli_reference()"
    python -c "from commissioning.cli.reference import write_api_reference; write_api_reference()"
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


def _signature(func: Any, skip_self: bool = False) -> str:
    """``(a: int, b: str = 'x') -> T`` with annotations as written in the source."""
    import inspect

    parts = []
    star = False
    for p in inspect.signature(func).parameters.values():
        if skip_self and p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = p.name if p.annotation is p.empty else f"{p.name}: {p.annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        parts.append(text)
    returns = inspect.signature(func).return_annotation
    tail = "" if returns is inspect.Signature.empty else f" -> {returns}"
    return f"({', '.join(parts)}){tail}"


def api_reference_markdown() -> str:
    """Every function and class of :mod:`commissioning.api`, in the order of the module:
    its signature and docstring."""
    import inspect

    from commissioning import api

    def line(name: str) -> int:
        return inspect.getsourcelines(getattr(api, name))[1]

    blocks = []
    for name in sorted(api.__all__, key=line):
        obj = getattr(api, name)
        if inspect.isclass(obj):
            blocks.append(f"### class `{name}`\n\n{inspect.getdoc(obj)}\n")
            for member, value in vars(obj).items():
                target = value.fget if isinstance(value, property) else value
                if member.startswith("_") or not callable(target) or not target.__doc__:
                    continue
                sig = "" if isinstance(value, property) else _signature(target, skip_self=True)
                blocks.append(f"#### `{name}.{member}{sig}`\n\n{inspect.getdoc(target)}\n")
        else:
            blocks.append(f"### `{name}{_signature(obj)}`\n\n{inspect.getdoc(obj)}\n")
    return "\n".join(blocks)


def write_api_reference(path: Path = Path("docs/api.md")) -> None:
    """Replace the generated part of ``docs/api.md``."""
    text = path.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n\n{api_reference_markdown()}\n{END}{tail}")
