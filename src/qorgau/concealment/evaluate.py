"""Accuracy of the detection pipeline against the simulator's ground truth.

`run_evaluation(seed=, scale=)` builds the twin and the simulated feeds, runs the same pipeline
the service runs on the tables (`signals.run`) and measures:
precision@k of the case ranking, recall of concealed accidents that left ≥ 1 evidence record,
AUC of the enterprise expected-vs-observed score against the true concealers, and the relative
error of the capture–recapture estimate per region with > 50 true injuries.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from qorgau.concealment import signals
from qorgau.concealment.simulate import World, make_world, pipeline_frames

TARGETS = {"precision_at_k": 0.9, "recall": 0.8, "cr_max_abs_error": 0.15}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann–Whitney AUC (ties count one half)."""
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = stats.rankdata(scores)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _case_truth(
    cands: pl.DataFrame, evidence: pl.DataFrame, injuries: pl.DataFrame
) -> pl.DataFrame:
    truth = evidence.select(pl.col("id"), "truth_injury").join(
        injuries.select(pl.col("injury_id").alias("truth_injury"), "concealed"),
        on="truth_injury",
        how="left",
    )
    exploded = cands.select("episode", "probability", "evidence_ids").explode("evidence_ids")
    per = exploded.join(truth, left_on="evidence_ids", right_on="id", how="left")
    return (
        per.group_by("episode")
        .agg(
            pl.col("probability").first(),
            pl.col("concealed").fill_null(False).any().alias("hit"),
            pl.col("truth_injury").filter(pl.col("concealed").fill_null(False)).alias("found"),
        )
        .sort("probability", descending=True)
    )


def run_evaluation(*, seed: int, scale: str, db_url: str | None = None) -> dict[str, Any]:
    """Metrics for one seed and scale. `db_url` is accepted for symmetry with the service; the
    evaluation runs the pipeline in memory on the simulated frames (no tables are touched)."""
    t0 = time.perf_counter()
    world = make_world(seed, scale)
    frames = pipeline_frames(world)
    t1 = time.perf_counter()
    res = signals.run(**frames, as_of=world.as_of)
    t2 = time.perf_counter()
    return {
        "seed": seed,
        "scale": scale,
        **metrics(world, frames, res),
        "seconds": {"simulate": round(t1 - t0, 2), "pipeline": round(t2 - t1, 2)},
    }


def metrics(
    world: World, frames: dict[str, pl.DataFrame], res: signals.PipelineResult
) -> dict[str, Any]:
    """Accuracy of one pipeline result against the world's truth (shared with the national
    benchmark, so both quote the same definitions)."""
    cands = signals.candidates(res.episodes)
    ct = _case_truth(cands, frames["evidence"], world.injuries)
    k = min(100, ct.height)
    precision = float(ct.head(k)["hit"].mean()) if k else float("nan")
    strong = ct.filter(pl.col("probability") >= 0.85)
    precision_strong = float(strong["hit"].mean()) if strong.height else float("nan")
    found = set(ct["found"].explode().drop_nulls().to_list())
    with_ev = set(
        frames["evidence"]
        .join(
            world.injuries.filter("concealed").select(pl.col("injury_id").alias("truth_injury")),
            on="truth_injury",
        )["truth_injury"]
        .to_list()
    )
    recall = len(found & with_ev) / len(with_ev) if with_ev else float("nan")
    ent = res.enterprises
    # Positive: an enterprise that withheld at least one accident (a propensity to conceal with
    # nothing to conceal is invisible to any method).
    hid = world.injuries.filter("concealed")["enterprise_id"].unique().to_numpy()
    labels = np.isin(ent["enterprise_id"].to_numpy(), hid)
    auc_eo = auc(ent["eo_score"].to_numpy(), labels)
    combined = ent["eo_score"].to_numpy() + 2.0 * ent["unreported_episodes"].to_numpy()
    auc_comb = auc(combined, labels)
    cr = _cr_errors(res.regions, world.injuries)
    links = _link_accuracy(frames["evidence"], world.injuries, res.links)
    worst = max((abs(r["rel_error"]) for r in cr), default=float("nan"))
    return {
        "true_injuries": world.injuries.height,
        "concealed": int(world.injuries["concealed"].sum()),
        "concealed_with_evidence": len(with_ev),
        "evidence_records": frames["evidence"].height,
        "cases": ct.height,
        "k": k,
        "precision_at_k": precision,
        "recall": recall,
        "precision_p085": precision_strong,
        "cases_p085": strong.height,
        "auc_expected_vs_observed": auc_eo,
        "auc_combined": auc_comb,
        "concealers": int(labels.sum()),
        "enterprises": len(labels),
        "capture_recapture": cr,
        "cr_max_abs_error": worst,
        "pipeline": res.stats,
        "links": links,
        "targets_met": {
            "precision_at_k": precision >= TARGETS["precision_at_k"],
            "recall": recall >= TARGETS["recall"],
            "capture_recapture": (not cr) or worst <= TARGETS["cr_max_abs_error"],
        },
    }


def _link_accuracy(
    evidence: pl.DataFrame, injuries: pl.DataFrame, links: pl.DataFrame
) -> dict[str, dict[str, int]]:
    """Per link method: evidence of true work injuries linked, and linked to the injured
    worker (the case metrics alone do not see a record attached to the wrong person)."""
    truth = evidence.select("id", "truth_injury").join(
        injuries.select(pl.col("injury_id").alias("truth_injury"), pl.col("worker_id").alias("w")),
        on="truth_injury",
    )
    per = (
        links.join(truth, left_on="evidence_id", right_on="id")
        .group_by("method")
        .agg(pl.len().alias("linked"), (pl.col("worker_id") == pl.col("w")).sum().alias("correct"))
    )
    return {r["method"]: {"linked": r["linked"], "correct": r["correct"]} for r in per.to_dicts()}


def _cr_errors(regions: list[dict[str, Any]], injuries: pl.DataFrame) -> list[dict[str, Any]]:
    true = dict(injuries.group_by("region_code").len().iter_rows())
    out = []
    for r in regions:
        if r["section"] or true.get(r["region_code"], 0) <= 50:
            continue
        n = true[r["region_code"]]
        out.append(
            {
                "region": r["region_code"],
                "true": n,
                "n_hat": round(float(r["n_hat"]), 1),
                "method": r["method"],
                "rel_error": round((float(r["n_hat"]) - n) / n, 4),
                "registered": r["registered"],
            }
        )
    return out


def format_report(m: dict[str, Any]) -> str:
    lines = [
        f"concealment evaluation — seed {m['seed']}, scale {m['scale']}",
        f"true work injuries {m['true_injuries']}, concealed {m['concealed']} "
        f"({m['concealed_with_evidence']} left evidence), evidence records {m['evidence_records']}",
        f"precision@{m['k']}: {m['precision_at_k']:.3f} (target ≥ 0.9; {m['cases']} cases)",
        f"precision of cases with probability ≥ 0.85: {m['precision_p085']:.3f} "
        f"({m['cases_p085']} cases)",
        f"recall: {m['recall']:.3f} (target ≥ 0.8)",
        "links to the injured worker: "
        + ", ".join(f"{k} {v['correct']}/{v['linked']}" for k, v in sorted(m["links"].items())),
        f"AUC expected-vs-observed: {m['auc_expected_vs_observed']:.3f}; "
        f"with unreported episodes: {m['auc_combined']:.3f} "
        f"({m['concealers']} enterprises withheld accidents, of {m['enterprises']})",
        "capture–recapture (regions with > 50 injuries):",
    ]
    for r in m["capture_recapture"]:
        lines.append(
            f"  {r['region']}: true {r['true']}, registered {r['registered']}, "
            f"N̂ {r['n_hat']} ({r['method']}), error {r['rel_error']:+.1%}"
        )
    if not m["capture_recapture"]:
        lines.append("  (no region has more than 50 injuries at this scale)")
    lines.append(f"time: {m['seconds']}")
    return "\n".join(lines)
