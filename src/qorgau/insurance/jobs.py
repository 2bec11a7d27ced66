"""Background work: the daily coverage-gap recomputation (run by `qorgau serve`'s scheduler,
see core/jobs.py); `python -m qorgau.insurance.jobs [YYYY-MM-DD]` runs it once by hand."""

from __future__ import annotations

import sys
from datetime import date, time

from qorgau.core.jobs import Job
from qorgau.insurance.service import run_daily_gap_job

JOBS = [Job("insurance.coverage_gaps", run=run_daily_gap_job, daily_at=time(2, 0))]

if __name__ == "__main__":  # pragma: no cover - thin CLI wrapper
    day = date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else None
    print(run_daily_gap_job(day))
