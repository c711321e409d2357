"""Generate a synthetic population as canonical tables (Arrow), and write it to files.

``generate`` is pure: parameters in, tables out.  ``write`` puts the tables in a
folder as Parquet (or CSV) with a manifest; the same seed gives the same bytes.
People carry synthetic NHS numbers from the range reserved for testing (999...),
valid by the modulus 11 check, so the loader pseudonymises them like real ones.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from commissioning.core.failpoint import failpoint
from commissioning.core.schema import (
    PLACE_OF_DEATH_CODES,
    POINTS_OF_DELIVERY,
    TABLES,
    money_columns,
)
from commissioning.data.load import control_sum, file_sha256
from commissioning.synthetic import parameters as P
from commissioning.synthetic.model import FittedModel, fitted_model
from commissioning.synthetic.simulate import (
    EXTERNAL_CAUSES,
    JOINT_DIAGNOSIS,
    PROCEDURES,
    Buffers,
    DiagnosisMix,
    simulate,
)
from commissioning.synthetic.world import EPOCH, NEVER, People, World, build_world, day_number
from commissioning.synthetic.world import draw_people as _draw_people

Progress = Callable[[str], None]


#: Nine-digit bodies of the synthetic NHS numbers (the tenth digit is the check digit).
NHS_BODIES = 100_000_000


def synthetic_nhs_numbers(
    n: int, rng: np.random.Generator, block: tuple[int, int] = (0, NHS_BODIES)
) -> npt.NDArray[np.str_]:
    """``n`` distinct NHS numbers beginning with 9, valid by the modulus 11 check, drawn
    from ``block`` (start, size) of the :data:`NHS_BODIES` bodies: populations written in
    chunks give each chunk a block of its own, so no number is given twice.

    Numbers beginning 9 are never issued to patients in England (999 is the range
    reserved for testing), so no synthetic person can share a real person's number.
    """
    start, size = block
    wanted = int(n * 1.12) + 50
    if wanted > size:
        raise ValueError(
            f"{n:,} people need about {wanted:,} synthetic NHS numbers; the block has {size:,}"
        )
    body = 900_000_000 + start + rng.choice(size, size=wanted, replace=False)
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    total = (digits * np.arange(10, 1, -1)).sum(axis=1)
    check = (11 - total % 11) % 11
    ok = check != 10
    numbers = (body[ok] * 10 + check[ok])[:n]
    if numbers.shape[0] < n:  # pragma: no cover - the 12% margin always suffices
        raise ValueError("not enough synthetic NHS numbers")
    return numbers.astype(str)


def _dates(days: npt.NDArray[np.integer]) -> pa.Array:
    mask = days >= NEVER
    return pa.array(np.where(mask, 0, days).astype(np.int32), type=pa.date32(), mask=mask)


def _coded(index: npt.NDArray[np.integer], values: list[str] | npt.NDArray[np.str_]) -> pa.Array:
    """Dictionary-encoded strings (nulls where ``index`` is negative).

    The dictionary holds only the values used, once each, and null slots point at
    entry 0, so the Parquet writer never reads outside the dictionary: the bytes
    depend only on the data.
    """
    mask = index < 0
    used, inverse = np.unique(index[~mask], return_inverse=True)
    text, remap = np.unique(np.asarray(values, dtype=object)[used].astype(str), return_inverse=True)
    idx = np.zeros(index.shape[0], dtype=np.int32)
    idx[~mask] = remap[inverse]
    return pa.DictionaryArray.from_arrays(pa.array(idx, mask=mask), pa.array(text, pa.string()))


def generate(
    params: P.SyntheticParameters, on_progress: Progress | None = None
) -> dict[str, pa.Table]:
    """Draw the world, simulate every year and return the canonical tables."""
    rng = np.random.default_rng(params.seed)
    say = on_progress or (lambda _m: None)
    say("fitting the model to national figures")
    model = fitted_model()
    world = build_world(rng, params)
    _plant_low_value_style(world, params)
    tables = {"places": _places(params), "gp_practices": _practices(world)}
    tables |= _population(rng, params, world, model, say)
    tables["synthetic_practice_effects"] = _practice_effects(world)
    return _in_order(tables)


def _in_order(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The tables in the data model's order, each with the data model's columns."""
    ordered = {name: tables[name] for name in GENERATED_TABLES}
    for name, table in ordered.items():
        expected = [("nhs_number" if c == "person_id" else c) for c in TABLES[name].column_names]
        if table.column_names != expected:  # pragma: no cover - a programming error
            raise AssertionError(f"{name}: {table.column_names} != {expected}")
    return ordered


#: The tables a synthetic population is written as, in order.
GENERATED_TABLES = (
    "places",
    "gp_practices",
    "people",
    "conditions",
    "activity",
    "proms",
    "experience",
    "synthetic_person_year",
    "synthetic_practice_effects",
)


def _population(
    rng: np.random.Generator,
    params: P.SyntheticParameters,
    world: World,
    model: FittedModel,
    say: Progress,
    nhs_block: tuple[int, int] = (0, NHS_BODIES),
    first_activity: int = 1,
) -> dict[str, pa.Table]:
    """The person-level tables of ``params.people`` people drawn into ``world``: people,
    conditions, activity (numbered from ``first_activity``), PROMs, experience and the
    ground truth."""
    horizon = day_number(params.first_year + params.years, 4, 1) - 1
    say("drawing people")
    people = _draw_people(rng, params, world, model, horizon)
    buffers, mix = simulate(rng, params, world, people, model, say)
    say("assembling tables")
    nhs = synthetic_nhs_numbers(people.size, rng, nhs_block)
    tables = {
        "people": _people(people, world, nhs),
        "conditions": _conditions(people, model.conditions.codes, nhs),
    }
    activity, proms = _activity(rng, buffers, mix, world, nhs, params, people.place, first_activity)
    tables["activity"] = activity
    tables["proms"] = proms
    tables["experience"] = _experience(buffers, world, nhs)
    tables["synthetic_person_year"] = _truth(buffers, nhs)
    return tables


#: People a chunk: a population larger than this is generated and written chunk by chunk,
#: so memory stays bounded (about 3 GB a chunk of a million) whatever its size.
CHUNK_PEOPLE = 1_000_000


def _prefixed(say: Progress, prefix: str) -> Progress:
    return lambda message: say(prefix + message)


def generate_in_chunks(
    params: P.SyntheticParameters,
    chunk_people: int = CHUNK_PEOPLE,
    on_progress: Progress | None = None,
) -> Iterator[dict[str, pa.Table]]:
    """The population of ``params`` as a sequence of chunks of at most ``chunk_people``
    people (at the start), each a dict of tables. The first chunk also holds the places,
    practices and practice effects (one world is shared by all chunks); later chunks hold
    only the person-level tables.

    Each chunk draws its people from a random stream of its own (from the seed and the
    chunk's number), its NHS numbers from a block of its own and its activity numbers
    after the last chunk's, so the same seed and chunk size give the same bytes, and the
    chunks are as one population: no person or event twice. People stay in the chunk they
    were drawn in, so chunks do not interact (the ways people of one chunk affect another
    are none in the model: no capacity is shared)."""
    say = on_progress or (lambda _m: None)
    n_chunks = max(1, math.ceil(params.people / chunk_people))
    sizes = [len(part) for part in np.array_split(np.arange(params.people), n_chunks)]
    say("fitting the model to national figures")
    model = fitted_model()
    world = build_world(np.random.default_rng(params.seed), params)
    _plant_low_value_style(world, params)
    block = NHS_BODIES // n_chunks
    next_activity = 1
    for k, size in enumerate(sizes):
        seed = int(np.random.SeedSequence([params.seed, 1, k]).generate_state(1)[0])
        part = params.model_copy(update={"people": size, "seed": seed})
        say(f"chunk {k + 1} of {n_chunks}: {size:,} people")
        tables: dict[str, pa.Table] = {}
        if k == 0:
            tables = {"places": _places(params), "gp_practices": _practices(world)}
        tables |= _population(
            np.random.default_rng(seed),
            part,
            world,
            model,
            _prefixed(say, f"chunk {k + 1} of {n_chunks}: "),
            nhs_block=(k * block, block),
            first_activity=next_activity,
        )
        next_activity += tables["activity"].num_rows
        if k == 0:
            tables["synthetic_practice_effects"] = _practice_effects(world)
        yield tables


def _places(params: P.SyntheticParameters) -> pa.Table:
    return pa.table(
        {
            "place_code": [p.place_code for p in params.places],
            "place_name": [p.place_name for p in params.places],
            "rurality": [p.rurality for p in params.places],
            "is_home": pa.array([1] + [0] * (len(params.places) - 1), pa.int64()),
        }
    )


def _practices(world: World) -> pa.Table:
    return pa.table(
        {
            "practice_code": world.practice_codes,
            "practice_name": world.practice_names,
            "place_code": [world.places[i].place_code for i in world.practice_place],
        }
    )


def _people(people: People, world: World, nhs: npt.NDArray[np.str_]) -> pa.Table:
    birth = EPOCH + people.birth_day.astype("timedelta64[D]")
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    months = birth.astype("datetime64[M]").astype(int) % 12 + 1
    return pa.table(
        {
            "nhs_number": nhs,
            "birth_year": pa.array(years, pa.int64()),
            "birth_month": pa.array(months, pa.int64()),
            "sex": _coded(np.where(people.male, 0, 1), ["M", "F"]),
            "lsoa_code": _coded(people.area, world.area_codes),
            "imd_decile": pa.array(world.area_decile[people.area], pa.int64()),
            "practice_code": _coded(people.practice, world.practice_codes),
            "registration_date": _dates(people.registration_day),
            "deregistration_date": _dates(people.deregistration_day),
            "death_date": _dates(people.death_day),
            "place_of_death": _coded(
                people.place_of_death.astype(np.int64), list(PLACE_OF_DEATH_CODES)
            ),
        }
    )


def _conditions(people: People, codes: tuple[str, ...], nhs: npt.NDArray[np.str_]) -> pa.Table:
    exit_day = np.minimum(people.exit_day, NEVER - 1)
    person, cond = np.nonzero(people.onset_day <= exit_day[:, None])
    return pa.table(
        {
            "nhs_number": _coded(person, nhs),
            "condition_code": _coded(cond, list(codes)),
            "diagnosis_date": _dates(people.onset_day[person, cond].astype(np.int64)),
        }
    )


def _concat(parts: list[npt.NDArray[np.generic]]) -> npt.NDArray[np.generic]:
    return np.concatenate(parts) if parts else np.array([])


def _activity(
    rng: np.random.Generator,
    buffers: Buffers,
    mix: DiagnosisMix,
    world: World,
    nhs: npt.NDArray[np.str_],
    params: P.SyntheticParameters,
    person_place: npt.NDArray[np.integer],
    first_id: int = 1,
) -> tuple[pa.Table, pa.Table]:
    ev = {k: _concat(v) for k, v in buffers.events.items()}
    order = np.lexsort((ev["person"], ev["start"]))
    ev = {k: v[order] for k, v in ev.items()}
    n = order.shape[0]
    pods = list(POINTS_OF_DELIVERY)
    settings = [POINTS_OF_DELIVERY[p] for p in pods]
    ids = pc.binary_join_element_wise(
        "S", pc.cast(pa.array(np.arange(first_id, first_id + n, dtype=np.int64)), pa.string()), ""
    )
    los = ev["los"].astype(np.int64)
    activity = pa.table(
        {
            "activity_id": ids,
            "nhs_number": _coded(ev["person"].astype(np.int64), nhs),
            "setting": _coded(ev["pod"].astype(np.int64), settings),
            "point_of_delivery": _coded(ev["pod"].astype(np.int64), pods),
            "provider_code": _coded(ev["provider"].astype(np.int64), world.providers()),
            "start_date": _dates(ev["start"].astype(np.int64)),
            "end_date": _dates(ev["end"].astype(np.int64)),
            "los_days": pa.array(np.maximum(los, 0), pa.int64(), mask=los < 0),
            "primary_diagnosis": _coded(ev["diagnosis"].astype(np.int64), mix.codes),
            "secondary_diagnosis": _coded(ev["secondary"].astype(np.int64), mix.codes),
            "external_cause": _coded(ev["cause"].astype(np.int64), list(EXTERNAL_CAUSES)),
            "procedure_code": _coded(ev["procedure"].astype(np.int64), list(PROCEDURES)),
            "units": pa.array(ev["units"].astype(np.float64)),
            "cost_gbp": pa.array(np.round(ev["cost_gbp"].astype(np.float64), 2)),
        }
    )
    # PROMs: three in four joint replacements have a before-and-after questionnaire.
    joint = np.flatnonzero((ev["procedure"] >= 0) & (ev["procedure"] < len(JOINT_DIAGNOSIS)))
    joint = joint[rng.random(joint.shape[0]) < P.PROMS_RESPONSE]
    kinds = np.array(list(P.PROMS_PRE_MEAN))[ev["procedure"][joint]]
    pre_mean = np.array([P.PROMS_PRE_MEAN[k] for k in kinds])
    gain_mean = np.array([P.PROMS_GAIN_MEAN[k] for k in kinds])
    # The place effect belongs to the patient's place, wherever the operation was done.
    shift_by_place = np.array([p.knee_gain_shift for p in params.places])
    shift = shift_by_place[person_place[ev["person"][joint]]]
    gain_mean = gain_mean + np.where(kinds == "knee_replacement", shift, 0.0)
    pre = np.clip(rng.normal(pre_mean, 0.2), -0.594, 0.95)
    post = np.clip(pre + rng.normal(gain_mean, P.PROMS_SD), -0.594, 1.0)
    proms = pa.table(
        {
            "nhs_number": _coded(ev["person"][joint].astype(np.int64), nhs),
            "activity_id": ids.take(pa.array(joint)),
            "procedure": pa.array(kinds.astype(str)),
            "operation_date": _dates(ev["start"][joint].astype(np.int64)),
            "eq5d_index_pre": pa.array(np.round(pre, 3)),
            "eq5d_index_post": pa.array(np.round(post, 3)),
        }
    )
    return activity, proms


def _experience(buffers: Buffers, world: World, nhs: npt.NDArray[np.str_]) -> pa.Table:
    ex = {k: _concat(v) for k, v in buffers.experience.items()}
    n = ex["person"].shape[0]
    return pa.table(
        {
            "nhs_number": _coded(ex["person"].astype(np.int64), nhs),
            "practice_code": _coded(ex["practice"].astype(np.int64), world.practice_codes),
            "survey_date": _dates(ex["day"].astype(np.int64)),
            "question_code": pa.array(["overall_experience"] * n, pa.string()),
            "response": pa.array(ex["response"].astype(np.int64)),
        }
    )


def _truth(buffers: Buffers, nhs: npt.NDArray[np.str_]) -> pa.Table:
    tr = {k: _concat(v) for k, v in buffers.truth.items()}
    return pa.table(
        {
            "nhs_number": _coded(tr["person"].astype(np.int64), nhs),
            "year": pa.array(tr["year"].astype(np.int64)),
            "need_index": pa.array(np.round(tr["need"].astype(np.float64), 4)),
            "expected_emergency_admissions": pa.array(np.round(tr["expected"].astype(float), 5)),
            "p_emergency_admission": pa.array(np.round(tr["p"].astype(np.float64), 5)),
        }
    )


def _plant_low_value_style(world: World, params: P.SyntheticParameters) -> None:
    """Each practice's rate of low-value procedures, from a generator of its own (so the
    rest of the population is the same with or without it)."""
    rng = np.random.default_rng([params.seed, 20])
    n = len(world.practice_codes)
    style = np.exp(rng.normal(0.0, P.LOW_VALUE_PRACTICE_SD, size=n))
    planted = np.zeros(n, dtype=bool)
    third = int(np.flatnonzero(world.practice_place == 0)[2])
    style[third] = params.home_practice_low_value_multiplier
    planted[third] = True
    world.practice_style["low_value_procedures"] = style
    world.practice_planted["low_value_procedures"] = planted


def _practice_effects(world: World) -> pa.Table:
    rows: dict[str, list[object]] = {
        "practice_code": [],
        "effect": [],
        "multiplier": [],
        "planted": [],
    }
    for effect, values in world.practice_style.items():
        for i, code in enumerate(world.practice_codes):
            rows["practice_code"].append(code)
            rows["effect"].append(effect)
            rows["multiplier"].append(round(float(values[i]), 4))
            rows["planted"].append(int(world.practice_planted[effect][i]))
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("practice_code", pa.string()),
                ("effect", pa.string()),
                ("multiplier", pa.float64()),
                ("planted", pa.int64()),
            ]
        ),
    )


FileFormat = Literal["parquet", "csv"]


def write(
    tables: dict[str, pa.Table],
    folder: Path,
    params: P.SyntheticParameters,
    file_format: FileFormat = "parquet",
) -> dict[str, object]:
    """Write each table to ``folder/<table>.<format>`` and a ``manifest.json`` (each
    file's rows, SHA-256 and control totals: its rows and the exact sum of every money
    column, which the loader checks against the file), atomically: every file is
    written under a temporary name and renamed into place, the old manifest is removed
    first and the new one written last.
    A write that is killed leaves no file cut short under a table's name and no manifest
    vouching for a mix; the loader checks files against the manifest beside them."""
    return write_chunks([tables], folder, params, file_format)


def write_chunks(
    chunks: Iterable[dict[str, pa.Table]],
    folder: Path,
    params: P.SyntheticParameters,
    file_format: FileFormat = "parquet",
) -> dict[str, object]:
    """As :func:`write`, for tables that come in chunks (:func:`generate_in_chunks`): each
    chunk is appended to its tables' files and let go, so only one chunk is ever held.
    Every table is renamed into place only once all chunks are written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").unlink(missing_ok=True)
    writers: dict[str, pq.ParquetWriter | pacsv.CSVWriter] = {}
    schemas: dict[str, pa.Schema] = {}
    rows: dict[str, int] = {}
    sums: dict[str, dict[str, Decimal]] = {}
    partial = {name: folder / f".{name}.{file_format}.partial" for name in GENERATED_TABLES}
    try:
        for chunk in chunks:
            for name, table in chunk.items():
                if name not in writers:
                    schemas[name] = table.schema
                    writers[name] = (
                        pq.ParquetWriter(partial[name], table.schema, compression="zstd")
                        if file_format == "parquet"
                        else pacsv.CSVWriter(partial[name], table.schema)
                    )
                    rows[name] = 0
                    sums[name] = dict.fromkeys(money_columns(TABLES[name]), Decimal(0))
                table = table.cast(schemas[name])
                if file_format == "parquet":
                    writers[name].write_table(table, row_group_size=1_000_000)
                else:
                    writers[name].write_table(table)
                rows[name] += table.num_rows
                for column in sums[name]:
                    sums[name][column] += control_sum(table[column])
            del chunk
        # Every file is whole before any is renamed into place.
        for name in GENERATED_TABLES:
            writers.pop(name).close()
        files = {}
        for name in GENERATED_TABLES:
            failpoint(f"synth_written:{name}")
            path = folder / f"{name}.{file_format}"
            control: dict[str, object] = {"rows": rows[name]}
            control |= {f"sum_{c}": f"{total:f}" for c, total in sums[name].items()}
            files[name] = {
                "file": path.name,
                "rows": rows[name],
                "sha256": file_sha256(partial[name]),
                "control": control,
            }
            os.replace(partial[name], path)
    finally:
        for writer in writers.values():
            writer.close()
        for path in partial.values():
            path.unlink(missing_ok=True)
    manifest = {
        "generator": "commissioning synthetic population",
        "parameters": json.loads(params.model_dump_json()),
        "files": files,
    }
    staged = folder / ".manifest.json.partial"
    staged.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(staged, folder / "manifest.json")
    return manifest


def synthesise(
    params: P.SyntheticParameters,
    folder: Path,
    file_format: FileFormat = "parquet",
    on_progress: Progress | None = None,
    chunk_people: int = CHUNK_PEOPLE,
) -> dict[str, object]:
    """Generate the population of ``params`` and write it to ``folder``; return the
    manifest. Up to ``chunk_people`` people are generated whole; a larger population is
    generated and written chunk by chunk (:func:`generate_in_chunks`), so its memory is
    that of one chunk."""
    say = on_progress or (lambda _m: None)
    if params.people <= chunk_people:
        tables = generate(params, on_progress=say)
        say(f"writing {file_format} files to {folder}")
        return write(tables, folder, params, file_format)
    say(f"writing {file_format} files to {folder}, chunk by chunk")
    return write_chunks(
        generate_in_chunks(params, chunk_people, on_progress=say), folder, params, file_format
    )
