"""The twin's contribution to the registry's pre-aggregated headcount (`headcount_change`).

The registry keeps that table with triggers on `employment` (migration 0005_registry_headcount):
+1 on a contract's start_date, -1 on end_date + 1, netted per (region, section, day), days with
a zero net dropped, then summed at three grains (D day, M month, Y year). The PostgreSQL bulk
load disables the insert trigger during COPY and adds these rows instead: computed here from
the twin's columns (a few seconds of numpy/polars on the client, which waits on the server
during COPY anyway) rather than by a grouped upsert over millions of contracts on the server.
Same rules, same rows: tests/simulator/test_load.py compares them with the trigger's SQL.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from qorgau.simulator.twin import Twin

COLUMNS = ("grain", "starts_on", "region_code", "section", "delta")


def headcount_changes(twin: Twin) -> pl.DataFrame:
    """Rows for headcount_change (COLUMNS) that the loaded contracts add, sorted by key."""
    ent, con = twin.enterprises, twin.contracts
    # (region, section) of each contract through its enterprise: a small integer per pair
    # instead of sorting millions of strings
    pair_key = np.char.add(
        np.char.add(ent["region_code"].astype(str), "|"), ent["section"].astype(str)
    )
    _, first, pair_of_ent = np.unique(pair_key, return_index=True, return_inverse=True)
    pair = pair_of_ent[np.searchsorted(ent["id"], con["enterprise_id"])]
    ended = con["end_days"] >= 0  # the loader's NULL end_date is a negative day
    events = pl.DataFrame({
        "pair": np.concatenate([pair, pair[ended]]).astype(np.int32),
        "day": np.concatenate([con["start_days"], con["end_days"][ended] + 1]).astype(np.int32),
        "delta": np.concatenate([np.ones(len(pair), np.int32), np.full(ended.sum(), -1, np.int32)]),
    })  # fmt: skip
    daily = (
        events.group_by("pair", "day").agg(pl.col("delta").sum())
        .filter(pl.col("delta") != 0)
        .with_columns(pl.col("day").cast(pl.Date))
    )  # fmt: skip
    grains = [daily.select(pl.lit("D").alias("grain"), pl.col("day").alias("starts_on"), "pair",
                           "delta")]  # fmt: skip
    for grain, every in (("M", "1mo"), ("Y", "1y")):
        grains.append(
            daily.group_by(pl.col("day").dt.truncate(every).alias("starts_on"), "pair")
            .agg(pl.col("delta").sum())
            .select(pl.lit(grain).alias("grain"), "starts_on", "pair", "delta")
        )  # fmt: skip
    out = pl.concat(grains)
    region = pl.Series(ent["region_code"][first].astype(object), dtype=pl.String)
    section = pl.Series(ent["section"][first].astype(object), dtype=pl.String)
    return out.select(
        "grain", "starts_on",
        region.gather(out["pair"]).alias("region_code"),
        section.gather(out["pair"]).alias("section"),
        pl.col("delta").cast(pl.Int64),
    ).sort("grain", "starts_on", "region_code", "section")  # fmt: skip
