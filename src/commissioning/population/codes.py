"""Code lists and weights used by the person-year table: ACSC, frailty deficits, CMS.

Kept apart from the queries so that each list can be read, cited and changed in one
place. ICD-10 codes are compared without their dot (``N39.0`` is ``N390``), by prefix.
See ``docs/methods/frailty-and-multimorbidity.md`` and ``docs/methods/risk-stratification.md``.
"""

from __future__ import annotations

from commissioning.core.schema import SETTINGS, condition_codes
from commissioning.indicators.library import CodeList, default_library

#: Ambulatory care sensitive conditions: emergency admissions that effective primary and
#: community care should usually prevent. One list with the indicator library: the chronic
#: ACSCs of NHS Outcomes Framework 2.3.i and the acute ACSCs named by indicator 3a, read from
#: ``indicators/data/codelists/acsc_chronic.csv`` and ``acsc_acute.csv`` (source, publisher
#: and version in their headers). Prefixes without dots; J20 counts as chronic only with a
#: COPD secondary diagnosis (``ACSC_CHRONIC.secondary_rules``).
ACSC_CHRONIC: CodeList = default_library().codelists["acsc_chronic"]
ACSC_ACUTE: CodeList = default_library().codelists["acsc_acute"]
ACSC_ICD10_PREFIXES: tuple[str, ...] = (*ACSC_CHRONIC.prefixes, *ACSC_ACUTE.prefixes)

FALL_PREFIXES = tuple(f"W{n:02d}" for n in range(20))  # W00-W19 falls
FRAGILITY_FRACTURE_PREFIXES = ("S22", "S32", "S42", "S52", "S72")  # rib, pelvis, arm, wrist, hip
SYNCOPE_PREFIXES = ("R55", "I95")  # syncope and collapse, hypotension
URINARY_PREFIXES = ("N39", "N40", "R32")  # other urinary disorders, prostate, incontinence
VISUAL_PREFIXES = ("H25", "H26", "H35", "H40", "H54")  # cataract, retina, glaucoma, blindness

#: Electronic Frailty Index deficits this data can see, of the 36 of Clegg et al. (2016,
#: Age and Ageing 45:353-360). Each is (deficit name, rule): a condition flag or flags, a
#: coded history of activity diagnoses (``history:``), or a care requirement in the year
#: (``care``). The other 16 (activity limitation, dizziness, dyspnoea, foot problems,
#: hearing impairment, housebound, mobility and transfer problems, peptic ulcer,
#: polypharmacy, skin ulcer, sleep disturbance, social vulnerability, urinary incontinence,
#: valve disease, weight loss and anorexia, and anaemia and haematinic deficiency) are not
#: recorded here.
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
EFI_SEEN_DEFICITS = len(EFI_DEFICITS)
#: The proxy index is deficits seen / EFI_PROXY_SCALE, read against the eFI's published
#: cut points. Dividing the 20 seen deficits by 36 treats the 16 unseen as absent and put
#: moderate and severe frailty at 65+ at 3.8% of a generated population (published eFI:
#: about 15%); dividing by 20 (the unseen as common as the seen) overshot to 28.6%. 26 is
#: chosen, not derived: on generated populations (20,000 and 60,000 people) it gives fit
#: 55%, mild 34%, moderate 9%, severe 2%, closest to the published distribution (about 50,
#: 35, 12 and 3%). Recheck on real data, where unseen deficits such as polypharmacy are
#: common. See docs/methods/frailty-and-multimorbidity.md.
EFI_PROXY_SCALE = 26
#: How every output names the index: a proxy, not the eFI.
EFI_LABEL = (
    f"eFI proxy, {EFI_SEEN_DEFICITS} of {EFI_TOTAL_DEFICITS} deficits "
    f"(scored out of {EFI_PROXY_SCALE})"
)

#: eFI cut points (Clegg et al. 2016): fit up to 0.12, mild above 0.12 to 0.24, moderate
#: above 0.24 to 0.36, severe above 0.36.
EFI_CUT_POINTS: tuple[tuple[str, float], ...] = (("fit", 0.12), ("mild", 0.24), ("moderate", 0.36))


def frailty_bands(scale: int = EFI_PROXY_SCALE) -> tuple[tuple[str, int], ...]:
    """The highest deficit count of each band when the index is deficits / ``scale``:
    with 26, fit 0-3, mild 4-6, moderate 7-9, severe 10 or more (with 36, the full eFI:
    fit 0-4, mild 5-8, moderate 9-12, severe 13 or more)."""
    return tuple((name, int(cut * scale + 1e-9)) for name, cut in EFI_CUT_POINTS)


FRAILTY_BANDS: tuple[tuple[str, int], ...] = frailty_bands()
FRAILTY_SEVERE = "severe"
FRAILTY_MIN_AGE = 65

#: Cambridge Multimorbidity Score, general-outcome weights of the 20-condition score
#: (Payne RA, Mendonca SC, Elliott MN et al., "Development and validation of the Cambridge
#: Multimorbidity Score", CMAJ 2020;192:E107-E114), by CMS condition, with the condition
#: flags of this data that stand for it. Cross-checked against an OpenSAFELY ehrQL
#: implementation of the same weights. Proxies: alcohol problems by alcohol or drug
#: dependence (SUB, F10-F19); painful condition (defined in the CMS by analgesic and
#: anti-epileptic prescribing) by osteoarthritis; connective tissue disorder by rheumatoid
#: arthritis. Cancer counts when diagnosed in the five years before the year ends.
CMS_WEIGHTS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("alcohol problems", ("sub",), 0.65),
    ("anxiety or depression", ("dep", "anx"), 0.50),
    ("asthma", ("ast",), 0.19),
    ("atrial fibrillation", ("af",), 1.34),
    ("cancer (new diagnosis in the last 5 years)", ("can_5y",), 1.53),
    ("chronic kidney disease", ("ckd",), 0.53),
    ("connective tissue disorder", ("ra",), 0.43),
    ("COPD", ("copd",), 1.46),
    ("coronary heart disease", ("chd",), 0.49),
    ("dementia", ("dem",), 2.50),
    ("diabetes", ("dm",), 0.75),
    ("epilepsy", ("ep",), 0.92),
    ("heart failure", ("hf",), 1.18),
    ("hypertension", ("hyp",), 0.08),
    ("painful condition", ("oa",), 0.92),
    ("psychosis or bipolar disorder", ("smi",), 0.64),
    ("stroke or TIA", ("stia",), 0.80),
)
#: Scored conditions of the 20 this data cannot see, with their weights: left out.
CMS_NOT_SEEN: tuple[tuple[str, float], ...] = (
    ("constipation", 1.12),
    ("hearing loss", 0.09),
    ("irritable bowel syndrome", 0.21),
)
CMS_LABEL = f"Cambridge Multimorbidity Score, general outcome, {len(CMS_WEIGHTS)} of 20 conditions"


def condition_columns() -> tuple[str, ...]:
    """Column names of the condition flags: the condition codes in lower case."""
    return tuple(code.lower() for code in condition_codes())


def setting_columns() -> tuple[str, ...]:
    """Column names of the events and cost per setting."""
    return tuple(c for s in SETTINGS for c in (f"{s}_events", f"{s}_cost_gbp"))
