"""`python -m qorgau.insurance.jobs [YYYY-MM-DD]`: the daily coverage-gap recomputation."""

from __future__ import annotations

import sys
from datetime import date

from qorgau.insurance.service import run_daily_gap_job

if __name__ == "__main__":  # pragma: no cover - thin CLI wrapper
    day = date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else None
    print(run_daily_gap_job(day))
