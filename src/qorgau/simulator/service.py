"""`simulate`: generate the synthetic national twin, bulk-load it, write its ground truth."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from qorgau.core.db import make_engine
from qorgau.simulator.constants import SCALES
from qorgau.simulator.load import MODES, RegistryNotEmpty, load_twin
from qorgau.simulator.truth import write_truth
from qorgau.simulator.twin import make_twin

__all__ = ["SCALES", "RegistryNotEmpty", "SimulationSummary", "simulate"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SimulationSummary:
    seed: int
    scale: str
    counts: dict[str, int]  # rows loaded per table
    seconds: float  # total wall time
    generate_seconds: float
    load_seconds: float
    truth_dir: Path


def simulate(
    *, engine_or_url: Engine | str, seed: int, scale: str, progress: Progress | None = None,
    mode: str = "empty", truth_base: Path | None = None,
) -> SimulationSummary:  # fmt: skip
    """Generate `scale` for `seed` and load it into the registry (which must be migrated).

    mode: "empty" (default) refuses a registry that already has enterprises, "append" adds
    after existing ids (use another seed: BINs/IINs of the same seed would collide),
    "replace" deletes enterprises, sites, workers and employment first.
    Ground truth goes to var/truth/seed-<N>-<scale>/ (or truth_base/truth/…).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    own = isinstance(engine_or_url, str)
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        t0 = time.perf_counter()
        _tick(progress, "generate", 0)
        twin = make_twin(seed, scale)
        _tick(progress, "generate", 1)
        t1 = time.perf_counter()
        offset = _enterprise_offset(engine, mode)
        counts = load_twin(engine, twin, mode=mode, progress=progress)
        t2 = time.perf_counter()
        out = write_truth(
            twin, counts=counts, id_offset=offset, base=truth_base,
            extra={"generate_seconds": round(t1 - t0, 2), "load_seconds": round(t2 - t1, 2)},
        )  # fmt: skip
        _tick(progress, "truth", 1)
    finally:
        if own:
            engine.dispose()
    return SimulationSummary(seed, scale, counts, time.perf_counter() - t0, t1 - t0, t2 - t1, out)


def _tick(progress: Progress | None, task: str, done: int) -> None:
    if progress is not None:
        progress(task, done, 1)


def _enterprise_offset(engine: Engine, mode: str) -> int:
    """Id the loader will add to enterprise ids (0 unless appending)."""
    if mode != "append":
        return 0
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM enterprise")).scalar_one())
