"""Priority-setting exercises and business cases as TOML files, checked on reading: a
malformed file names the field and the fix."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from commissioning.decide.business_case import BusinessCase, CashFlow
from commissioning.decide.pbma import Candidate, Exercise


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _CandidateFile(_Strict):
    id: str
    name: str
    cost_gbp: float
    people: int = Field(0, ge=0)
    scores: dict[str, float]


class _ExerciseFile(_Strict):
    title: str
    budget_gbp: float
    score_uncertainty: float = Field(1.0, ge=0, le=10)
    weights: dict[str, float]
    candidates: list[_CandidateFile]


class _FlowFile(_Strict):
    name: str
    kind: str
    amounts: dict[int, float]
    bias: str | None = None
    health: bool = False


class _CaseFile(_Strict):
    name: str
    bias_mitigated: float = Field(0.0, ge=0, le=1)
    benefit_uncertainty: float = Field(0.2, ge=0)
    cost_uncertainty: float = Field(0.1, ge=0)
    flows: list[_FlowFile]


@dataclass(frozen=True)
class ExerciseFile:
    title: str
    exercise: Exercise
    people: dict[str, int]
    score_uncertainty: float


@dataclass(frozen=True)
class CaseFile:
    case: BusinessCase
    benefit_uncertainty: float
    cost_uncertainty: float


def _read(path: Path, model: type[_Strict]) -> Any:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from None


def read_exercise(path: Path) -> ExerciseFile:
    f = _read(path, _ExerciseFile)
    try:
        exercise = Exercise(
            f.weights,
            [Candidate(c.id, c.name, c.cost_gbp, c.scores) for c in f.candidates],
            f.budget_gbp,
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return ExerciseFile(
        f.title, exercise, {c.id: c.people for c in f.candidates}, f.score_uncertainty
    )


def read_case(path: Path) -> CaseFile:
    f = _read(path, _CaseFile)
    try:
        case = BusinessCase(
            f.name,
            [CashFlow(x.name, x.kind, x.amounts, x.bias, x.health) for x in f.flows],
            f.bias_mitigated,
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return CaseFile(case, f.benefit_uncertainty, f.cost_uncertainty)


def example(name: str) -> Path:
    """The path of a shipped example (``priorities.toml``, ``falls_case.toml``)."""
    return Path(str(resources.files("commissioning.decide").joinpath(f"examples/{name}")))
