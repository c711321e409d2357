"""The reference docs are current: generated text matches the code, and every command,
option, setting and calibration target is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel

from commissioning.cli.config import Settings
from commissioning.cli.main import app
from commissioning.core.docs import REGENERATE, data_model_markdown, generated_part

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _commands() -> dict[str, Any]:
    """The sub-commands of the ``commissioning`` command, by name."""
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _setting_names(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted names of every setting, nested sections included (``store.path``)."""
    names = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names += _setting_names(ann, f"{prefix}{name}.")
        else:
            names.append(prefix + name)
    return names


def test_data_model_reference_is_current() -> None:
    current = generated_part(_read("data-model.md"))
    assert current == data_model_markdown(), (
        f"docs/data-model.md is out of date. From the repository's root folder run: {REGENERATE}"
    )


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_and_option_is_in_the_cli_reference(name: str) -> None:
    text = _read("cli.md")
    assert f"commissioning {name}" in text, f"docs/cli.md does not document the {name} command"
    for param in _commands()[name].params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                assert opt in text, f"docs/cli.md does not document {name} {opt}"


@pytest.mark.parametrize("name", _setting_names(Settings))
def test_every_setting_is_in_the_configuration_reference(name: str) -> None:
    assert f"`{name}`" in _read("configuration.md"), (
        f"docs/configuration.md does not document the setting {name}"
    )


def test_every_calibration_target_is_in_the_synthetic_docs() -> None:
    from commissioning.synthetic.calibration import TARGETS

    text = _read("synthetic.md")
    missing = [t.label for t in TARGETS if t.label not in text]
    assert not missing, f"docs/synthetic.md does not list the calibration targets {missing}"


def test_cli_reference_is_generated_from_the_cli() -> None:
    from commissioning.cli.reference import END, START, cli_reference_markdown

    text = _read("cli.md")
    generated = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert generated == cli_reference_markdown().strip(), (
        "docs/cli.md is out of date. From the repository's root folder run: .venv/bin/python "
        '-c "from commissioning.cli.reference import write_cli_reference; write_cli_reference()"'
    )
