"""The commissioning portfolio and the nine measures of effective commissioning.

Smith J, Porter A, Shaw S, Rosen R, Blunt I, Mays N. *Commissioning high-quality care for
people with long-term conditions*. Nuffield Trust, 2013, table 3: nine activities of
effective commissioning, each with a suggested measure. Some can be read from what the workbench
holds (benchmarking used, priorities changed, public reports made, contracts with
measurable objectives, the highest-spend services); the others come from people (surveys
of providers, users and clinicians, meetings against changes made, named leads and their
training) and are recorded in a file, with their evidence, by whoever holds it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Status = Literal["met", "partly met", "not met"]
#: Contract forms in which the provider shares the financial risk of a population's care
#: (seed 001: "relational contracting and shared risk for long-term conditions").
SHARED_RISK_FORMS = frozenset(
    {
        "year_of_care",
        "capitation_with_outcome_incentive",
        "prime_provider",
        "alliance",
        "integrated_pathway_hub",
        "joint_venture",
        "social_impact_bond",
    }
)


@dataclass(frozen=True)
class Measure:
    number: int
    activity: str
    measure: str
    source: Literal["computed", "recorded"]


MEASURES: tuple[Measure, ...] = (
    Measure(
        1,
        "Convening local interests and stakeholders",
        "Regular surveys of local providers and users about the commissioners' "
        "performance, and whether local views were taken into account",
        "recorded",
    ),
    Measure(
        2,
        "A clear focus on priority setting",
        "Regional and national benchmarking used, and commissioning priorities changed as a result",
        "computed",
    ),
    Measure(
        3,
        "The balance of relational and transactional commissioning",
        "Meetings in a programme against the service changes made, with the cost and "
        "benefit of commissioning labour",
        "recorded",
    ),
    Measure(
        4,
        "Monitoring activity, money and quality to review the portfolio",
        "Regular public reports of activity, finance and quality, benchmarked, and how "
        "they inform plans",
        "computed",
    ),
    Measure(
        5,
        "An approach that fits the service",
        "The approaches used (shared risk for long-term conditions, item of service for "
        "elective care), linked to changes in outcomes",
        "computed",
    ),
    Measure(
        6,
        "Supporting the people pivotal to commissioning",
        "Named leads for core commissioning areas, their training and development, and "
        "their retention",
        "recorded",
    ),
    Measure(
        7,
        "Clinical involvement with robust governance",
        "Regular surveys of local clinicians about their involvement and whether it is useful",
        "recorded",
    ),
    Measure(
        8,
        "Specific, measurable objectives for new services",
        "Documented objectives and measures for new and recommissioned services, compared "
        "with NICE benchmarks",
        "computed",
    ),
    Measure(
        9,
        "Reviewing the services that use the most",
        "An annual plan reporting the review of the highest-spend services, what was done "
        "and what comes next",
        "computed",
    ),
)


@dataclass(frozen=True)
class ContractLine:
    id: str
    title: str
    form: str
    status: str
    annual_budget_gbp: float
    outcome_measures: int
    long_term_conditions: bool


@dataclass(frozen=True)
class Facts:
    """What the workbench holds about this commissioner's work."""

    benchmark_published: bool
    priorities_changed: bool
    public_pages: int
    data_as_at: date | None
    contracts: Sequence[ContractLine]
    top_programmes: Sequence[str]
    reviewed_programmes: Sequence[str] = field(default_factory=list)


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure: int = Field(ge=1, le=9)
    status: Status
    evidence: str = Field(min_length=1)
    date: date
    recorded_by: str = Field(min_length=1)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reviewed_programmes: list[str] = Field(default_factory=list)
    entries: list[Entry] = Field(default_factory=list)


@dataclass(frozen=True)
class Recorded:
    reviewed_programmes: list[str]
    entries: dict[int, Entry]


def read_recorded(path: Path) -> Recorded:
    """The measures people record (``effectiveness.toml``); the latest entry of each
    measure counts. A malformed file names the field."""
    try:
        data = _Record.model_validate(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    latest: dict[int, Entry] = {}
    for e in sorted(data.entries, key=lambda e: e.date):
        latest[e.measure] = e
    return Recorded(data.reviewed_programmes, latest)


@dataclass(frozen=True)
class Assessment:
    measure: Measure
    status: str
    evidence: str


def _grade(whole: bool, some: bool) -> str:
    return "met" if whole else "partly met" if some else "not met"


def assess(facts: Facts, recorded: Recorded | None = None) -> list[Assessment]:
    """Each of the nine measures: computed from the facts where it can be, otherwise as
    recorded (or "not yet recorded")."""
    rec = recorded or Recorded([], {})
    signed = [c for c in facts.contracts if c.status not in ("draft", "proposed")]
    measurable = [c for c in signed if c.outcome_measures > 0]
    ltc = [c for c in signed if c.long_term_conditions]
    shared_risk = [c for c in ltc if c.form in SHARED_RISK_FORMS]
    reviewed = [p for p in facts.top_programmes if p in set(rec.reviewed_programmes)]
    bench = "published" if facts.benchmark_published else "not published"
    changed = "changed" if facts.priorities_changed else "did not change"
    as_at = f", data as at {facts.data_as_at:%d %B %Y}" if facts.data_as_at else ""
    computed: Mapping[int, tuple[str, str]] = {
        2: (
            _grade(
                facts.benchmark_published and facts.priorities_changed,
                facts.benchmark_published or facts.priorities_changed,
            ),
            f"Benchmarking against the most similar places {bench}; a priority-setting "
            f"exercise {changed} the package.",
        ),
        4: (
            _grade(facts.public_pages >= 3 and facts.benchmark_published, facts.public_pages > 0),
            f"{facts.public_pages} pages in the public pack{as_at}; needs, outcomes with "
            "SPC, and benchmarking against similar places.",
        ),
        5: (
            _grade(bool(ltc) and len(shared_risk) == len(ltc), bool(shared_risk)),
            f"{len(shared_risk)} of {len(ltc)} contracts for long-term conditions share risk "
            "(capitation, year of care, alliance, prime provider, hub, joint venture or "
            "social impact bond).",
        ),
        8: (
            _grade(bool(signed) and len(measurable) == len(signed), bool(measurable)),
            f"{len(measurable)} of {len(signed)} signed contracts pay on documented outcome "
            "measures.",
        ),
        9: (
            _grade(
                bool(facts.top_programmes) and len(reviewed) == len(facts.top_programmes),
                bool(reviewed),
            ),
            f"The highest-spend programmes: {', '.join(facts.top_programmes)}; reviewed: "
            f"{', '.join(reviewed) or 'none recorded'}.",
        ),
    }
    out = []
    for m in MEASURES:
        if m.number in computed:
            status, evidence = computed[m.number]
        elif m.number in rec.entries:
            e = rec.entries[m.number]
            status, evidence = (
                e.status,
                f"{e.evidence} (recorded by {e.recorded_by}, {e.date:%d %B %Y})",
            )
        else:
            status, evidence = (
                "not yet recorded",
                "Record it in the workbench (Portfolio: measures) or in effectiveness.toml, "
                "with its evidence.",
            )
        out.append(Assessment(m, status, evidence))
    return out
