"""Concealment pipeline on the national twin: link ~90 K evidence records (3 years) against
~5 M registry workers and ~7 M contracts, score episodes, expected vs observed for ~500 K
enterprises, capture–recapture per region and section; then the accuracy figures.

Target: pipeline < 60 s on 2 cores, peak memory < 6 GB (the twin and feed generation are
timed apart: they stand in for the tables). Run: .venv/bin/python benchmarks/concealment_national.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main(seed: int = 1, scale: str = "national") -> None:
    from qorgau.concealment import signals
    from qorgau.concealment.evaluate import _case_truth, auc
    from qorgau.concealment.simulate import make_world, pipeline_frames

    t0 = time.perf_counter()
    world = make_world(seed, scale)
    frames = pipeline_frames(world)
    t1 = time.perf_counter()
    res = signals.run(**frames, as_of=world.as_of)
    t2 = time.perf_counter()
    print(f"generate {t1 - t0:.1f} s, pipeline {t2 - t1:.1f} s, peak {peak_gb():.2f} GB")
    print(res.stats)
    cands = signals.candidates(res.episodes)
    ct = _case_truth(cands, frames["evidence"], world.injuries)
    k = min(100, ct.height)
    print(f"cases {ct.height}, precision@{k} {ct.head(k)['hit'].mean():.3f}")
    import numpy as np

    labels = np.isin(res.enterprises["enterprise_id"].to_numpy(), world.concealers)
    print(f"AUC expected-vs-observed {auc(res.enterprises['eo_score'].to_numpy(), labels):.3f}")
    report("concealment pipeline, national twin", round(t2 - t1, 1), "s", 60, "s target")


if __name__ == "__main__":
    main(*(int(a) if a.isdigit() else a for a in sys.argv[1:]))
