"""The person-year table's scores on literal tables, worked by hand: the Cambridge
Multimorbidity Score (Payne et al. 2020, general-outcome weights), the eFI proxy and its
bands (Clegg et al. 2016 cut points, 20 of 36 deficits scored out of 26), and the ACSC
flag shared with the indicator library. Financial year 2022 (to 31 March 2023)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from commissioning.core.schema import TABLES
from commissioning.population import codes as C
from commissioning.population.person_year import person_year_table

D = dt.date
TYPES = {"string": "string", "integer": "int64", "double": "float64", "decimal": "float64"}


def _schema(table: str) -> dict[str, str]:
    return {c.name: TYPES.get(c.dtype, c.dtype) for c in TABLES[table].columns}


def _person(pid: str, birth_year: int) -> dict[str, object]:
    return {
        "person_id": pid,
        "birth_year": birth_year,
        "birth_month": 1,
        "sex": "F",
        "lsoa_code": "L1",
        "imd_decile": 5,
        "practice_code": "P1",
        "registration_date": D(2000, 1, 1),
        "deregistration_date": None,
        "death_date": None,
        "place_of_death": None,
    }


def _event(aid, pid, pod, setting, start, dx=None, dx2=None, cause=None):
    return {
        "activity_id": aid,
        "person_id": pid,
        "setting": setting,
        "point_of_delivery": pod,
        "provider_code": "R1",
        "start_date": start,
        "end_date": start,
        "los_days": 0,
        "primary_diagnosis": dx,
        "secondary_diagnosis": dx2,
        "external_cause": cause,
        "procedure_code": None,
        "units": 1.0,
        "cost_gbp": 100.0,
    }


def _conditions(pid: str, codes: dict[str, dt.date]) -> list[dict[str, object]]:
    return [{"person_id": pid, "condition_code": c, "diagnosis_date": d} for c, d in codes.items()]


EARLY = D(2010, 1, 1)
CONDITIONS = [
    *_conditions(
        "m",
        {c: EARLY for c in ("HF", "AF", "DEP", "ANX", "OA", "RA", "SUB", "HYP", "PD", "LD", "MS")}
        | {"CAN": D(2020, 6, 1)},  # within the five years to 31 March 2023
    ),
    *_conditions("n", {"DEM": EARLY, "CAN": D(2017, 1, 1), "DM": D(2023, 6, 1)}),
]
EM, APC = "emergency_admission", "admitted_patient_care"
ACTIVITY = [
    _event("1", "m", EM, APC, D(2022, 5, 1), dx="S72.0", cause="W19"),  # a fall, a fracture
    _event("2", "m", EM, APC, D(2022, 6, 1), dx="J20.9", dx2="J44.9"),  # chronic ACSC
    _event("3", "m", "home_care", "social_care", D(2022, 7, 1)),  # requirement for care
    _event("4", "n", EM, APC, D(2022, 5, 1), dx="J20.9", dx2="J18.9"),  # not an ACSC
    _event("5", "n", EM, APC, D(2022, 6, 1), dx="N39.0"),  # acute ACSC
]


@pytest.fixture(scope="module")
def frame():
    tables = {
        "people": ibis.memtable(
            [_person("m", 1950), _person("n", 1950), _person("y", 1992)], schema=_schema("people")
        ),
        "gp_practices": ibis.memtable({"practice_code": ["P1"], "place_code": ["X"]}),
        "conditions": ibis.memtable(CONDITIONS, schema=_schema("conditions")),
        "activity": ibis.memtable(ACTIVITY, schema=_schema("activity")),
    }
    return person_year_table(tables, [2022]).to_pandas().set_index("person_id")


def test_cambridge_multimorbidity_score_uses_the_published_general_outcome_weights(frame) -> None:
    # m: heart failure 1.18, atrial fibrillation 1.34, anxiety or depression 0.50 (once),
    # painful condition (osteoarthritis) 0.92, connective tissue (rheumatoid) 0.43, alcohol
    # problems 0.65, cancer in the last five years 1.53, hypertension 0.08; Parkinson's,
    # learning disability and MS are not CMS conditions.
    assert frame.loc["m", "cms_score"] == pytest.approx(6.63)
    # n: dementia 2.50; cancer from 2017 is more than five years old; diabetes came later.
    assert frame.loc["n", "cms_score"] == pytest.approx(2.50)
    assert frame.loc["y", "cms_score"] == 0
    assert len(C.CMS_WEIGHTS) + len(C.CMS_NOT_SEEN) == 20


def test_efi_proxy_counts_deficits_and_bands_them_on_the_scale_of_26(frame) -> None:
    # m: arthritis, atrial fibrillation, heart failure, hypertension, Parkinsonism, a fall
    # (W19 as external cause), a fragility fracture (S72), requirement for care: 8 deficits.
    assert frame.loc["m", "efi_deficits"] == 8
    assert frame.loc["m", "efi"] == pytest.approx(round(8 / 26, 4))
    assert frame.loc["m", "frailty"] == "moderate"  # 0.31; 8 of 36 (0.22) would be mild
    # n: memory and cognitive problems, urinary system disease (the N39.0 admission).
    assert frame.loc["n", "efi_deficits"] == 2
    assert frame.loc["n", "frailty"] == "fit"
    assert frame.loc["y", "frailty"] is None
    assert C.frailty_bands(26) == (("fit", 3), ("mild", 6), ("moderate", 9))
    assert C.frailty_bands(36) == (("fit", 4), ("mild", 8), ("moderate", 12))
    assert C.EFI_LABEL == "eFI proxy, 20 of 36 deficits (scored out of 26)"


def test_acsc_admissions_follow_the_shared_code_lists(frame) -> None:
    assert frame.loc["m", "acsc_emergency_admissions"] == 1  # J20 beside COPD
    assert frame.loc["n", "acsc_emergency_admissions"] == 1  # urinary tract infection
    assert frame.loc["m", "emergency_admissions"] == 2
