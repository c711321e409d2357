"""A local Spark session for running the same Ibis queries on Spark (tests, benchmarks).

The settings suit one machine: two cores, as many shuffle partitions, no web UI or
console progress, and UTC so that dates read the same as on DuckDB.
"""

from __future__ import annotations

from typing import Any


def local_spark_builder(app_name: str, driver_memory: str | None = None) -> Any:
    """A ``SparkSession.builder`` for a local two-core session (call ``getOrCreate``);
    ``driver_memory`` (``"4g"``) sets the driver's heap. Needs the ``spark`` extra."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    return builder
