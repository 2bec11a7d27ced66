"""After the registry twin: each domain's own simulator, in dependency order.

A domain plugs in by shipping `qorgau/<domain>/simulate.py` with
`simulate(*, db, seed, scale, truth_dir) -> dict[str, int]`; ground truth goes under truth_dir.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

from qorgau.core.db import get_sessionmaker

# Insurance and equipment before incidents (notifications look up contracts); incidents before
# concealment (which hides a share of accidents) and before risk and inspections (which score
# enterprises on their injury history).
ORDER = ["insurance", "equipment", "incidents", "concealment", "risk", "inspections", "alarms"]


def run_domain_simulations(
    *, seed: int, scale: str, truth_dir: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict[str, int]]:
    results: dict[str, dict[str, int]] = {}
    present = [d for d in ORDER if importlib.util.find_spec(f"qorgau.{d}.simulate") is not None]
    for done, domain in enumerate(present):
        if progress:
            progress("domains", done, len(present))
        module = importlib.import_module(f"qorgau.{domain}.simulate")
        with get_sessionmaker()() as db:
            results[domain] = module.simulate(db=db, seed=seed, scale=scale, truth_dir=truth_dir)
    if progress:
        progress("domains", len(present), len(present))
    return results
