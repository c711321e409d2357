"""Adapters for hospital episode style extracts (HES / SUS field names).

Each adapter maps an extract's usual fields onto canonical ``activity`` rows, as
text, for the ordinary loader to check, pseudonymise and load.  Field names are
those of the HES data dictionary (admitted patient care, outpatients, A&E):

* admitted patient care: ``EPIKEY``, ``NEWNHSNO``, ``ADMIDATE``, ``DISDATE``,
  ``ADMIMETH`` (11-13 elective, 21-28 emergency), ``CLASSPAT`` (1 ordinary
  admission, 2 day case), ``DIAG_4_01``, ``OPERTN_4_01``, ``PROCODE3``, and where
  present ``DIAG_4_02`` to ``DIAG_4_20``: the first of these coded V01 to Y98 is the
  external cause, the first other one the secondary diagnosis;
* outpatients: ``ATTENDKEY``, ``NEWNHSNO``, ``APPTDATE``, ``FIRSTATT`` (1 or 3
  first, 2 or 4 follow-up), ``ATTENDED`` (5 or 6 attended), ``PROCODE3``;
* A&E: ``AEKEY``, ``NEWNHSNO``, ``ARRIVALDATE``, ``DIAG_01``, ``PROCODE3``.

Extracts carry no cost; where a ``COST`` column is present it is used, otherwise
the national average unit cost of the point of delivery (see docs/data-model.md).
Rows the adapter cannot place (an unknown admission method, a did-not-attend) get
no point of delivery and are rejected by the loader with the reason, so read =
loaded + rejected still holds for the file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from commissioning.data.load import ADAPTER_REASON, LoadError, read_as_text

DEFAULT_COST_GBP = {
    "emergency_admission": "2200.00",
    "elective_inpatient": "4000.00",
    "day_case": "900.00",
    "outpatient_first": "190.00",
    "outpatient_follow_up": "125.00",
    "ae_attendance": "190.00",
}
SETTING = {
    "emergency_admission": "admitted_patient_care",
    "elective_inpatient": "admitted_patient_care",
    "day_case": "admitted_patient_care",
    "outpatient_first": "outpatient",
    "outpatient_follow_up": "outpatient",
    "ae_attendance": "ae",
}


def _need(raw: pa.Table, fields: list[str], path: Path, kind: str) -> None:
    missing = [f for f in fields if f not in raw.column_names]
    if missing:
        raise LoadError(f"{path.name}: a {kind} extract needs the field(s) {', '.join(missing)}")


def _hes_date(col: pa.ChunkedArray) -> pa.Array:
    """HES dates come as YYYY-MM-DD or DD/MM/YYYY; return ISO text (bad values kept as they
    are, for the loader to reject)."""
    text = pc.utf8_trim_whitespace(col)
    dmy = pc.match_substring_regex(text, r"^\d{2}/\d{2}/\d{4}$")
    iso = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 6, 10),
        pc.utf8_slice_codeunits(text, 3, 5),
        pc.utf8_slice_codeunits(text, 0, 2),
        "-",
    )
    return pc.if_else(dmy, iso, text)


def _cost(raw: pa.Table, pod: pa.Array) -> pa.Array:
    default = pc.cast(pod, pa.string())
    for name, value in DEFAULT_COST_GBP.items():
        default = pc.if_else(pc.equal(pod, name), value, default)
    if "COST" in raw.column_names:
        return pc.coalesce(raw["COST"], default)
    return default


def _setting(pod: pa.Array) -> pa.Array:
    out = pa.nulls(len(pod), pa.string())
    for name, setting in SETTING.items():
        out = pc.if_else(pc.equal(pod, name), setting, out)
    return out


def read_hes(path: Path, kind: str) -> pa.Table:
    """Canonical activity rows (text) from a HES-style extract of the given kind."""
    raw = read_as_text(path)
    n = raw.num_rows
    nulls = pa.nulls(n, pa.string())
    if kind == "hes-apc":
        _need(
            raw,
            [
                "EPIKEY",
                "NEWNHSNO",
                "ADMIDATE",
                "DISDATE",
                "ADMIMETH",
                "CLASSPAT",
                "DIAG_4_01",
                "PROCODE3",
            ],
            path,
            "admitted patient care",
        )
        meth = pc.utf8_trim_whitespace(raw["ADMIMETH"])
        emergency = pc.is_in(
            meth, pa.array(["21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28"])
        )
        elective = pc.is_in(meth, pa.array(["11", "12", "13"]))
        day_case = pc.equal(pc.utf8_trim_whitespace(raw["CLASSPAT"]), "2")
        pod = pc.if_else(
            emergency,
            "emergency_admission",
            pc.if_else(elective, pc.if_else(day_case, "day_case", "elective_inpatient"), nulls),
        )
        start, end = _hes_date(raw["ADMIDATE"]), _hes_date(raw["DISDATE"])
        los = pc.cast(
            pc.days_between(
                pc.cast(pc.strptime(start, "%Y-%m-%d", "s", error_is_null=True), pa.date32()),
                pc.cast(pc.strptime(end, "%Y-%m-%d", "s", error_is_null=True), pa.date32()),
            ),
            pa.string(),
        )
        diag = _icd10(raw["DIAG_4_01"])
        secondary, cause = _secondary_positions(raw, nulls)
        proc = raw["OPERTN_4_01"] if "OPERTN_4_01" in raw.column_names else nulls
        ids = raw["EPIKEY"]
        reason, end, los = _spells(raw, start, end, los)
    elif kind == "hes-op":
        _need(
            raw,
            ["ATTENDKEY", "NEWNHSNO", "APPTDATE", "FIRSTATT", "ATTENDED", "PROCODE3"],
            path,
            "outpatient",
        )
        first = pc.is_in(pc.utf8_trim_whitespace(raw["FIRSTATT"]), pa.array(["1", "3"]))
        attended = pc.is_in(pc.utf8_trim_whitespace(raw["ATTENDED"]), pa.array(["5", "6"]))
        pod = pc.if_else(
            attended, pc.if_else(first, "outpatient_first", "outpatient_follow_up"), nulls
        )
        start = end = _hes_date(raw["APPTDATE"])
        los = nulls
        diag = _icd10(raw["DIAG_4_01"]) if "DIAG_4_01" in raw.column_names else nulls
        proc = nulls
        ids = raw["ATTENDKEY"]
    elif kind == "hes-ae":
        _need(raw, ["AEKEY", "NEWNHSNO", "ARRIVALDATE", "PROCODE3"], path, "A&E")
        pod = pa.array(["ae_attendance"] * n, pa.string())
        start = end = _hes_date(raw["ARRIVALDATE"])
        los = nulls
        diag = _icd10(raw["DIAG_01"]) if "DIAG_01" in raw.column_names else nulls
        proc = nulls
        ids = raw["AEKEY"]
    else:
        raise LoadError(f"unknown extract format {kind!r}; use hes-apc, hes-op or hes-ae")
    if kind != "hes-apc":
        reason = nulls
        secondary = cause = nulls
    return pa.table(
        {
            ADAPTER_REASON: reason,
            "activity_id": ids,
            "nhs_number": raw["NEWNHSNO"],
            "setting": _setting(pod),
            "point_of_delivery": pod,
            "provider_code": raw["PROCODE3"],
            "start_date": start,
            "end_date": end,
            "los_days": los,
            "primary_diagnosis": diag,
            "secondary_diagnosis": secondary,
            "external_cause": cause,
            "procedure_code": proc,
            "units": pa.array(["1"] * n, pa.string()),
            "cost_gbp": _cost(raw, pod),
        }
    )


def _secondary_positions(raw: pa.Table, nulls: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The first secondary diagnosis that is not an external cause, and the first external
    cause (ICD-10 V01 to Y98), from ``DIAG_4_02`` onwards."""
    secondary, cause = nulls, nulls
    for position in range(2, 21):
        name = f"DIAG_4_{position:02d}"
        if name not in raw.column_names:
            continue
        code = _icd10(raw[name])
        text = pc.fill_null(code, "")
        present = pc.greater(pc.utf8_length(text), 0)
        external = pc.match_substring_regex(text, "^[V-Y]")
        other = pc.and_(present, pc.invert(external))
        cause = pc.if_else(pc.and_(pc.is_null(cause), external), code, cause)
        secondary = pc.if_else(pc.and_(pc.is_null(secondary), other), code, secondary)
    return secondary, cause


def _icd10(col: pa.ChunkedArray) -> pa.Array:
    """HES writes 4-character codes without the dot (``J189``, ``I10X``); add the dot and
    drop the filler ``X`` / ``-``."""
    text = pc.utf8_upper(pc.utf8_trim_whitespace(col))
    text = pc.replace_substring_regex(text, r"[X\-]+$", "")
    head = pc.utf8_slice_codeunits(text, 0, 3)
    tail = pc.utf8_slice_codeunits(text, 3, 5)
    dotted = pc.binary_join_element_wise(head, tail, ".")
    return pc.if_else(pc.greater(pc.utf8_length(tail), 0), dotted, head)


def _spells(
    raw: pa.Table, start: pa.Array, end: pa.Array, los: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Admitted patient care extracts hold episodes; the data model holds spells.

    Where the extract has ``EPIORDER`` and a spell key (``SPELL_ID``, or ``PROCODE3`` with
    ``PROVSPNOPS``), the spell is loaded from its first episode (``EPIORDER`` 1), with
    the discharge date of the spell's last episode; every later episode is set aside with
    the reason, so read = loaded + rejected still holds. Without them, each row is taken
    to be a spell.
    """
    n = raw.num_rows
    no_reason = pa.nulls(n, pa.string())
    names = raw.column_names
    if "EPIORDER" not in names or not ("SPELL_ID" in names or "PROVSPNOPS" in names):
        return no_reason, end, los
    key = (
        raw["SPELL_ID"]
        if "SPELL_ID" in names
        else pc.binary_join_element_wise(raw["PROCODE3"], raw["PROVSPNOPS"], "|")
    )
    frame = pa.table({"key": key, "end": end}).to_pandas()
    last = frame["end"].astype("string").groupby(frame["key"], dropna=False).transform("max")
    spell_end = pa.array(last.astype(object).where(last.notna(), None), pa.string())
    order = pc.cast(pc.utf8_trim_whitespace(raw["EPIORDER"]), pa.string())
    first = pc.fill_null(pc.is_in(order, pa.array(["01", "1"])), False)
    reason = pc.if_else(
        first,
        no_reason,
        pa.scalar(
            "a later episode of a spell: the spell is loaded from its first episode", pa.string()
        ),
    )
    d0 = pc.cast(pc.strptime(start, "%Y-%m-%d", "s", error_is_null=True), pa.date32())
    d1 = pc.cast(pc.strptime(spell_end, "%Y-%m-%d", "s", error_is_null=True), pa.date32())
    spell_los = pc.cast(pc.days_between(d0, d1), pa.string())
    return reason, spell_end, spell_los
