"""Code lists and weights used by the person-year table: ACSC, frailty deficits, CMS.

Kept apart from the queries so that each list can be read, cited and changed in one
place. ICD-10 codes are compared without their dot (``N39.0`` is ``N390``), by prefix.
See ``docs/methods/frailty-and-multimorbidity.md`` and ``docs/methods/risk-stratification.md``.
"""

from __future__ import annotations

from commissioning.core.schema import SETTINGS, condition_codes

#: Ambulatory care sensitive conditions: emergency admissions that effective primary and
#: community care should usually prevent. Chronic ACSCs (NHS Outcomes Framework 2.3.i:
#: asthma, COPD, heart failure, hypertension, angina, diabetes, epilepsy, dementia, atrial
#: fibrillation, iron-deficiency anaemia) and acute ACSCs (indicator 3a: urinary tract
#: infection and pyelonephritis, cellulitis, dehydration, gastroenteritis, ear, nose and
#: throat infections, convulsions, influenza), after Billings et al. (1993) and Bardsley
#: et al. (2013). ICD-10 prefixes without dots.
ACSC_ICD10_PREFIXES: tuple[str, ...] = (
    # chronic
    "J45",
    "J46",
    "J41",
    "J42",
    "J43",
    "J44",
    "J47",
    "I50",
    "I10",
    "I11",
    "I20",
    "I25",
    "E10",
    "E11",
    "E12",
    "E13",
    "E14",
    "G40",
    "G41",
    "F00",
    "F01",
    "F02",
    "F03",
    "I48",
    "D501",
    "D508",
    "D509",
    # acute
    "N390",
    "N10",
    "N11",
    "N12",
    "L03",
    "L04",
    "E86",
    "K522",
    "K528",
    "K529",
    "H66",
    "J02",
    "J03",
    "J06",
    "R56",
    "J10",
    "J11",
)

FALL_PREFIXES = tuple(f"W{n:02d}" for n in range(20))  # W00-W19 falls
FRAGILITY_FRACTURE_PREFIXES = ("S22", "S32", "S42", "S52", "S72")  # rib, pelvis, arm, wrist, hip
SYNCOPE_PREFIXES = ("R55", "I95")  # syncope and collapse, hypotension
URINARY_PREFIXES = ("N39", "N40", "R32")  # other urinary disorders, prostate, incontinence
VISUAL_PREFIXES = ("H25", "H26", "H35", "H40", "H54")  # cataract, retina, glaucoma, blindness

#: Electronic Frailty Index deficits this data can see (Clegg et al. 2016 lists 36).
#: Each is (deficit name, rule): a condition flag or flags, a coded history of activity
#: diagnoses (``history:``), or a care requirement in the year (``care``).
EFI_DEFICITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("arthritis", ("oa", "ra")),
    ("atrial fibrillation", ("af",)),
    ("cerebrovascular disease", ("stia",)),
    ("chronic kidney disease", ("ckd",)),
    ("diabetes", ("dm",)),
    ("falls", ("history:falls",)),
    ("fragility fracture", ("history:fracture",)),
    ("heart failure", ("hf",)),
    ("hypertension", ("hyp",)),
    ("hypotension or syncope", ("history:syncope",)),
    ("ischaemic heart disease", ("chd",)),
    ("memory and cognitive problems", ("dem",)),
    ("osteoporosis", ("ost",)),
    ("Parkinsonism and tremor", ("pd",)),
    ("peripheral vascular disease", ("pad",)),
    ("requirement for care", ("care",)),
    ("respiratory disease", ("copd", "ast")),
    ("thyroid disease", ("hypo",)),
    ("urinary system disease", ("history:urinary",)),
    ("visual impairment", ("history:visual",)),
)
EFI_TOTAL_DEFICITS = 36

#: Frailty bands (Clegg et al. 2016) as deficit counts out of 36: fit ≤ 0.12 (≤ 4),
#: mild 0.12-0.24 (5-8), moderate 0.24-0.36 (9-12), severe > 0.36 (13 or more).
FRAILTY_BANDS: tuple[tuple[str, int], ...] = (("fit", 4), ("mild", 8), ("moderate", 12))
FRAILTY_SEVERE = "severe"
FRAILTY_MIN_AGE = 65

#: Cambridge Multimorbidity Score weights for the 20-condition general-outcome score, by
#: CMS category, with the condition flags of this data that map to each. CMS categories
#: with no counterpart here (constipation, prostate disorders, irritable bowel syndrome)
#: are left out. Cancer counts only when diagnosed in the five years before the year ends.
#: The weights are the published general-outcome coefficients (Payne et al. 2020, CMAJ,
#: 20-condition version) as reproduced in public NHS implementations; they live here so
#: that they can be checked against, or replaced by, the paper's appendix.
CMS_WEIGHTS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("alcohol or substance misuse", ("sub",), 0.792243),
    ("anxiety or depression", ("dep", "anx"), 0.324207),
    ("atrial fibrillation", ("af",), 0.334891),
    ("cancer in the last 5 years", ("can_5y",), 1.202615),
    ("chronic kidney disease", ("ckd",), 0.213652),
    ("chronic liver disease", ("cld",), 0.68621),
    ("COPD", ("copd",), 0.702181),
    ("dementia", ("dem",), 0.938001),
    ("diabetes", ("dm",), 0.29467),
    ("epilepsy", ("ep",), 0.477465),
    ("heart failure", ("hf",), 0.505245),
    ("learning disability", ("ld",), 0.637273),
    ("multiple sclerosis", ("ms",), 0.761606),
    ("painful condition", ("oa", "ra"), 0.445521),
    ("Parkinsonism", ("pd",), 0.546194),
    ("peripheral vascular disease", ("pad",), 0.334558),
    ("schizophrenia or bipolar disorder", ("smi",), 0.482469),
)


def condition_columns() -> tuple[str, ...]:
    """Column names of the condition flags: the condition codes in lower case."""
    return tuple(code.lower() for code in condition_codes())


def setting_columns() -> tuple[str, ...]:
    """Column names of the events and cost per setting."""
    return tuple(c for s in SETTINGS for c in (f"{s}_events", f"{s}_cost_gbp"))
