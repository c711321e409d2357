"""Open a folder of canonical files (as written by ``commissioning synth``) as Ibis tables."""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir

from commissioning.core.schema import TABLES


def tables_from_folder(
    folder: Path, file_format: str = "parquet", backend: ibis.BaseBackend | None = None
) -> dict[str, ir.Table]:
    """Ibis tables over the files, with ``nhs_number`` presented as ``person_id``.

    Synthetic files carry synthetic NHS numbers; queries join on ``person_id``, so
    the column is renamed (not pseudonymised: this is for synthetic data only).
    """
    con = backend or ibis.duckdb.connect()
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.{file_format}"
        if not path.exists():
            continue
        reader = con.read_parquet if file_format == "parquet" else con.read_csv
        t = reader(str(path), table_name=f"file_{name}")
        if "nhs_number" in t.columns:
            t = t.rename(person_id="nhs_number")
        tables[name] = t
    return tables
