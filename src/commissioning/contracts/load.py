"""Reading contract files (TOML) and turning validation failures into readable errors.

Only :func:`read_contract_text` and the ``load_*`` functions touch files; everything else
is pure. Every failure to read or validate a file is a :class:`ContractError` listing its
problems, never a traceback.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from commissioning.contracts.schema import Contract

_EXAMPLES_PACKAGE = "commissioning.contracts.examples"
# Discriminated unions put the chosen tag in the error location; readers want the field.
_UNION_FIELDS = {"form", "scope", "curve"}
_UNION_TAGS = {
    "block",
    "activity",
    "year_of_care",
    "episode_with_reablement",
    "capitation_with_outcome_incentive",
    "prime_provider",
    "alliance",
    "integrated_pathway_hub",
    "joint_venture",
    "social_impact_bond",
    "population",
    "pathway",
    "threshold",
    "linear",
    "stepped",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a contract file: the field path and what to write instead."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ContractError(ValueError):
    """A contract file that does not validate; ``problems`` lists each field and its fix."""

    def __init__(self, problems: list[Problem], source: str = "contract") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} has {len(problems)} problem(s):\n{lines}")


#: The problem when a number is too large for exact money arithmetic.
NUMBER_TOO_LARGE = (
    "a number is too large to hold exactly — check the units of the money fields; write "
    "pounds, e.g. 23000000"
)


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    previous: Any = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif previous in _UNION_FIELDS and item in _UNION_TAGS:
            # The tag of a discriminated union (e.g. form -> 'alliance'): skip it.
            previous = None
            continue
        else:
            parts.append(("." if parts else "") + str(item))
        previous = item
    return "".join(parts)


def _friendly(error: Any) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "missing":
        return "is required — add it to the file"
    if kind == "extra_forbidden":
        return "is not a known field — check the spelling or remove it"
    if kind == "literal_error":
        return msg.replace("Input should be", "must be") + " — use one of these exactly"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        discriminator = str(ctx.get("discriminator", "type")).strip("'")
        return f"unknown {discriminator} '{ctx.get('tag')}' — use one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        ctx = error.get("ctx", {})
        discriminator = str(ctx.get("discriminator", "type")).strip("'")
        return f"needs a {discriminator} field to say which kind it is"
    if kind in ("decimal_parsing", "decimal_type", "int_parsing", "int_type", "float_parsing"):
        return "must be a number — write it without units or commas, e.g. 23000000 or 0.15"
    if kind.startswith("date"):
        return "must be a date — write it as YYYY-MM-DD, e.g. 2025-04-01"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return msg.replace("Input should be", "must be")
    return msg[:1].lower() + msg[1:]


def problems_from_validation_error(error: ValidationError) -> list[Problem]:
    """Flatten a pydantic ValidationError into field problems, one per fix."""
    problems: list[Problem] = []
    for err in error.errors():
        prefix = _format_loc(tuple(err["loc"]))
        if err["type"] == "contract_rules":
            for path, message in err["ctx"]["problems"]:
                full = f"{prefix}.{path}" if prefix and path else (prefix or path)
                problems.append(Problem(full, message))
        else:
            problems.append(Problem(prefix, _friendly(err)))
    return problems


def contract_from_dict(data: dict[str, Any], source: str = "contract") -> Contract:
    """Validate a parsed contract mapping, raising :class:`ContractError` on failure.

    A money amount too large for exact arithmetic (about 10^26 pounds and up: Decimal's 28
    digits with pence) makes the validator raise ``decimal.InvalidOperation`` rather than
    a validation error; it is reported as a problem too, never as a traceback.
    """
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        raise ContractError(problems_from_validation_error(exc), source) from None
    except ArithmeticError:
        raise ContractError([Problem("", NUMBER_TOO_LARGE)], source) from None


def parse_contract_toml(text: str, source: str = "contract") -> dict[str, Any]:
    """The mapping of contract TOML text, unvalidated; :class:`ContractError` if unreadable."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem("", f"is not valid TOML ({exc}) — fix the syntax")
        raise ContractError([problem], source) from None
    except ValueError:
        # Python refuses to read integers of more than 4,300 digits (int_max_str_digits).
        problem = Problem(
            "", "has a number with thousands of digits — fix it; write pounds, e.g. 23000000"
        )
        raise ContractError([problem], source) from None
    except RecursionError:
        # tomllib reads nested arrays and inline tables recursively.
        problem = Problem(
            "", "is nested too deeply to read — check that every '[' and '{' is closed"
        )
        raise ContractError([problem], source) from None


def loads_contract(text: str, source: str = "contract") -> Contract:
    """Parse and validate contract TOML text."""
    return contract_from_dict(parse_contract_toml(text, source), source)


def read_contract_text(path: str | Path) -> str:
    """The text of a contract file, or :class:`ContractError` with one problem saying why
    it cannot be read (no such file, a folder, not UTF-8, no permission).

    A UTF-8 byte-order mark (as some Windows editors write) is dropped, since TOML does
    not allow one.
    """
    file = Path(path)
    source = str(file)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        message = "no such file — check the path and the file name"
        raise ContractError([Problem("", message)], source) from None
    except IsADirectoryError:
        message = "is a folder, not a contract file — give the path of a .toml file"
        raise ContractError([Problem("", message)], source) from None
    except PermissionError:
        message = "cannot be read (permission denied) — check the file's permissions"
        raise ContractError([Problem("", message)], source) from None
    except OSError as exc:
        message = f"cannot be read ({exc.strerror or exc}) — check the path"
        raise ContractError([Problem("", message)], source) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = (
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}) — save it as "
            "UTF-8 (in most editors: Save As, encoding UTF-8)"
        )
        raise ContractError([Problem("", message)], source) from None


def load_contract(path: str | Path) -> Contract:
    """Read and validate a contract file; every failure is a :class:`ContractError`."""
    return loads_contract(read_contract_text(path), source=str(Path(path)))


def list_examples() -> list[str]:
    """Names of the example contracts shipped with the package (without ``.toml``)."""
    root = resources.files(_EXAMPLES_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def example_text(name: str) -> str:
    """The TOML text of a shipped example contract."""
    return resources.files(_EXAMPLES_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def load_example(name: str) -> Contract:
    """Load a shipped example contract by name, e.g. ``"ld_prime_provider"``."""
    return loads_contract(example_text(name), source=f"example {name}")


def with_baseline_budget(contract: Contract, baseline_budget_gbp: Decimal | int | str) -> Contract:
    """A copy of ``contract`` with the finance baseline replaced (e.g. by the cohort's spend
    from the population data), revalidated."""
    data = contract.model_dump(mode="python")
    data["finance"]["baseline_budget_gbp"] = Decimal(str(baseline_budget_gbp))
    return contract_from_dict(data, source=contract.id)
