"""Priority-setting exercises and business cases as TOML files, checked on reading: a
malformed file names the field and the fix."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from commissioning.decide.business_case import BusinessCase, CashFlow
from commissioning.decide.low_value import hide_small, low_value_candidates, variation_candidates
from commissioning.decide.pbma import Candidate, Exercise, join_scored


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _CandidateFile(_Strict):
    id: str
    name: str
    cost_gbp: float
    people: int = Field(0, ge=0)
    qalys: float | None = None
    scores: dict[str, float]


class _ExerciseFile(_Strict):
    title: str
    budget_gbp: float
    score_uncertainty: float = Field(1.0, ge=0, le=10)
    weights: dict[str, float]
    candidates: list[_CandidateFile]
    data_scores: dict[str, dict[str, float]] = Field(default_factory=dict)


class _FlowFile(_Strict):
    name: str
    kind: str
    amounts: dict[int, float]
    bias: str | None = None
    health: bool = False


class _CaseFile(_Strict):
    name: str
    status: Literal["draft", "submitted", "approved", "rejected"] = "draft"
    contract_id: str | None = None
    contract_version: str | None = None
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
    data_scores: dict[str, dict[str, float]]
    """The panel's scores of candidates found in the data, by candidate id."""


@dataclass(frozen=True)
class CaseFile:
    case: BusinessCase
    benefit_uncertainty: float
    cost_uncertainty: float
    status: str = "draft"
    contract_id: str | None = None
    """The contract in the register that would deliver the case (once approved)."""
    contract_version: str | None = None


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
            [Candidate(c.id, c.name, c.cost_gbp, c.scores, c.qalys) for c in f.candidates],
            f.budget_gbp,
        )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return ExerciseFile(
        f.title,
        exercise,
        {c.id: c.people for c in f.candidates},
        f.score_uncertainty,
        f.data_scores,
    )


@dataclass(frozen=True)
class Found:
    """An exercise with the disinvestment candidates found in the data: ``exercise`` holds
    those the panel has scored; ``waiting`` those still to score; ``low_value`` the
    summary with small counts hidden; ``variation`` the candidates from benchmarking."""

    exercise: ExerciseFile
    low_value: pd.DataFrame | None
    variation: list[Candidate]
    waiting: list[Candidate]


def with_found(
    ef: ExerciseFile,
    low_value: pd.DataFrame | None,
    opportunity: pd.DataFrame | None,
    titles: dict[str, str] | None = None,
    threshold: int = 8,
) -> Found:
    """The exercise joined by the candidates found in the data that its file scores
    (``data_scores``): low-value procedures (:func:`low_value.low_value_summary`; an
    intervention with fewer than ``threshold`` procedures makes none) and unwarranted
    variation (benchmarking's opportunity table)."""
    shown = None if low_value is None else hide_small(low_value, threshold)
    found: list[Candidate] = []
    if shown is not None:
        found += low_value_candidates(shown[shown["procedures"].notna()], ef.data_scores)
    variation = (
        []
        if opportunity is None
        else variation_candidates(opportunity, titles, scores=ef.data_scores)
    )
    found += variation
    ex, waiting = join_scored(ef.exercise, found)
    return Found(replace(ef, exercise=ex), shown, variation, waiting)


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
    return CaseFile(
        case,
        f.benefit_uncertainty,
        f.cost_uncertainty,
        f.status,
        f.contract_id,
        f.contract_version,
    )


def example(name: str) -> Path:
    """The path of a shipped example (``priorities.toml``, ``falls_case.toml``)."""
    return Path(str(resources.files("commissioning.decide").joinpath(f"examples/{name}")))
