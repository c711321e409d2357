"""``commissioning init``: a working folder to start from.

It writes the settings file with every setting at its default and what it means, a
template for each canonical data file (its header, as the loader expects it), an example
contract, an example priority-setting exercise, business case and record of the
effectiveness measures, and a README of the next steps. Nothing is overwritten.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from commissioning.cli.config import CONFIG_FILE, Settings
from commissioning.contracts.load import example_text
from commissioning.core.csvsafe import csv_text
from commissioning.core.schema import TABLES
from commissioning.decide.files import example as decide_example

NEXT_STEPS = """Next steps

1. Keep the pseudonymisation key out of this folder: ask your information governance
   lead for it and set it in the environment, e.g.
       export COMMISSIONING_PSEUDONYMISATION_KEY='...'
   (commissioning.toml names the variable; it never holds the key).
2. Put your extracts in data/, one file per table, with the headers of the templates
   there (CSV or Parquet). Then:
       commissioning load data/places.csv data/gp_practices.csv data/people.csv data/activity.csv
       commissioning rejects            # rows that failed their checks, and why
3. Reports (the pack goes to out/published, person-level files to out/restricted):
       commissioning needs
       commissioning indicators
       commissioning benchmark
4. Contracts: check and stress-test the example, then your own:
       commissioning contract check contracts/example_contract.toml
       commissioning contract simulate contracts/example_contract.toml
5. Decisions:
       commissioning decide priorities decide/priorities.toml
       commissioning decide case decide/falls_case.toml

To try everything on a synthetic population first: commissioning demo
"""


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str | None) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text or "", 86)]


def settings_text() -> str:
    """``commissioning.toml`` with every setting at its default, each with its meaning;
    optional settings are written commented out."""
    lines = [
        "# Settings of the commissioning workbench. Every setting is shown at its default;",
        "# change what you need. Command-line options override this file.",
        "",
    ]
    defaults = Settings()
    for name, field in Settings.model_fields.items():
        value = getattr(defaults, name)
        if not isinstance(value, BaseModel):
            lines += [*_comment(field.description), f"{name} = {_toml_value(value)}", ""]
    for name in Settings.model_fields:
        section = getattr(defaults, name)
        if not isinstance(section, BaseModel):
            continue
        lines.append(f"[{name}]")
        for key, field in type(section).model_fields.items():
            value = getattr(section, key)
            if isinstance(value, BaseModel) or (value is None and key == "oidc"):
                continue
            lines += _comment(field.description)
            if value is None:
                lines.append(f'# {key} = ""')
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def template_header(table: str) -> list[str]:
    """A canonical file's columns as the loader reads them (the NHS number, not the
    pseudonym it becomes)."""
    return ["nhs_number" if c == "person_id" else c for c in TABLES[table].column_names]


def init_folder(folder: Path) -> list[Path]:
    """Write the working folder's files into ``folder``; refuses if any exists."""
    files: dict[Path, str | Path] = {
        folder / CONFIG_FILE: settings_text(),
        folder / "README.txt": NEXT_STEPS,
        folder / "contracts" / "example_contract.toml": example_text("frail_elderly_alliance"),
    }
    for name in ("priorities.toml", "falls_case.toml", "effectiveness.toml"):
        files[folder / "decide" / name] = decide_example(name)
    for name, table in TABLES.items():
        if not table.synthetic_only:
            files[folder / "data" / f"{name}.csv"] = csv_text(template_header(name), [])
    existing = sorted(str(p) for p in files if p.exists())
    if existing:
        raise ValueError(
            f"{', '.join(existing)} already exist: nothing was written (init a new folder)"
        )
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        else:
            path.write_text(content, encoding="utf-8")
    return list(files)
