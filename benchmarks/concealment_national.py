"""Concealment pipeline on the national twin: link ~33 K evidence records (3 years) against
~6.5 M registry workers and ~7 M contracts, score episodes, expected vs observed for ~500 K
enterprises, capture–recapture per region and section; then the accuracy figures (the same
definitions as `qorgau concealment evaluate`, `evaluate.metrics`).

Target: pipeline < 60 s on 2 cores, peak memory < 6 GB (the twin and feed generation are
timed apart: they stand in for the tables). Prints the time per stage and the peak RSS after
generation and after the pipeline.
Run: .venv/bin/python benchmarks/concealment_national.py [seed] [scale]
"""

from __future__ import annotations

import os
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
    from qorgau.concealment.evaluate import format_report, metrics
    from qorgau.concealment.simulate import make_world, pipeline_frames

    t0 = time.perf_counter()
    world = make_world(seed, scale)
    frames = pipeline_frames(world)
    t1 = time.perf_counter()
    gen_peak = peak_gb()
    res = signals.run(**frames, as_of=world.as_of)
    t2 = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared with other jobs)")
    print(f"generate {t1 - t0:.1f} s (peak {gen_peak:.2f} GB), pipeline {t2 - t1:.1f} s, "
          f"peak {peak_gb():.2f} GB")
    print("stages (s):", res.seconds)
    print(res.stats)
    m = {"seed": seed, "scale": scale, **metrics(world, frames, res),
         "seconds": {"simulate": round(t1 - t0, 2), "pipeline": round(t2 - t1, 2)}}
    print(format_report(m))
    report(f"concealment pipeline, {scale} twin", round(t2 - t1, 1), "s", 60, "s target")


if __name__ == "__main__":
    main(*(int(a) if a.isdigit() else a for a in sys.argv[1:]))
