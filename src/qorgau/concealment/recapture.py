"""Step 7 of the pipeline: capture–recapture estimates of the true number of work injuries per
region (and region × section) from the register and the evidence sources."""

from __future__ import annotations

import numpy as np
import polars as pl

from qorgau.concealment.estimators import PopulationEstimate, chapman, loglinear_3


def region_estimates(
    ep: pl.DataFrame, victims: pl.DataFrame, *, by_section: bool = False
) -> list[dict[str, object]]:
    """Units = reported victims ∪ unreported work episodes. Sources: A register, B hospital or
    ambulance saying "at work", C sick leave / insurance / fatalities register saying "at work".
    Log-linear (3 sources) when every pairwise overlap is non-empty, else Chapman (A × B∪C)."""
    reported = victims.select(
        "accident_id", "region_code", "section", pl.lit(True).alias("a")
    ).unique("accident_id")
    return _estimates(ep, reported, by_section)


def _histories(ep: pl.DataFrame, reported: pl.DataFrame) -> pl.DataFrame:
    b = (
        pl.col("terms")
        .list.eval(
            pl.element().struct.field("source").is_in(["trauma_visit", "ambulance_call"])
            & (pl.element().struct.field("w") > 0)
        )
        .list.any()
    )
    c = (
        pl.col("terms")
        .list.eval(
            pl.element().struct.field("source").is_in(["sick_leave", "insurance_claim", "fatality"])
            & (pl.element().struct.field("w") > 0)
        )
        .list.any()
    )
    # Only evidence said to be at work, of an employed person, counts as a capture.
    work = ep.filter(pl.col("any_work") & pl.col("enterprise_id").is_not_null()).with_columns(
        b.alias("b"), c.alias("c")
    )
    per_acc = (
        work.filter(pl.col("accident_id").is_not_null())
        .group_by("accident_id")
        .agg(pl.col("b").any(), pl.col("c").any())
    )
    rep = reported.join(per_acc, on="accident_id", how="left").with_columns(
        pl.col("b").fill_null(False), pl.col("c").fill_null(False)
    )
    unrep = work.filter(pl.col("accident_id").is_null()).select(
        "region_code", "section", pl.lit(False).alias("a"), "b", "c"
    )
    return pl.concat([rep.drop("accident_id"), unrep], how="vertical_relaxed").filter(
        pl.col("a") | pl.col("b") | pl.col("c")
    )


def _estimates(
    ep: pl.DataFrame, reported: pl.DataFrame, by_section: bool
) -> list[dict[str, object]]:
    h = _histories(ep, reported)
    keys = ["region_code", "section"] if by_section else ["region_code"]
    out = []
    for key, g in h.group_by(keys):
        hist = g.select(
            pl.col("a").cast(int), pl.col("b").cast(int), pl.col("c").cast(int)
        ).to_numpy()
        est = estimate(hist, three_sources=not by_section)
        if est is None:
            continue
        out.append({"region_code": key[0], "section": key[1] if by_section else "", **est_row(est)})
    return sorted(out, key=lambda r: str(r["region_code"]) + str(r["section"]))


def estimate(hist: np.ndarray, *, three_sources: bool = True) -> PopulationEstimate | None:
    a, b, c = hist[:, 0] == 1, hist[:, 1] == 1, hist[:, 2] == 1
    n1, bc = int(a.sum()), b | c
    n2, m = int(bc.sum()), int((a & bc).sum())
    if n1 == 0 or n2 == 0:
        return None
    overlaps = [(a & b).sum(), (a & c).sum(), (b & c).sum()]
    if three_sources and min(overlaps) >= 5:
        from qorgau.concealment.estimators import cells_from_histories

        return loglinear_3(cells_from_histories(hist), registry=0, n_boot=40)
    return chapman(n1, n2, m)


def est_row(est: PopulationEstimate) -> dict[str, object]:
    return {
        "method": est.method,
        "registered": est.registry_count,
        "observed": est.observed,
        "n_hat": float(est.n_hat),
        "ci_low": float(est.ci_low),
        "ci_high": float(est.ci_high),
        "under_reporting": float(est.under_reporting),
        "model": est.model,
    }
