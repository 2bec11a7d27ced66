"""Background work: overdue examinations become violations, overdue prescriptions are
flagged, once a day (core/jobs.py)."""

from __future__ import annotations

from datetime import time

from qorgau.core.jobs import Job
from qorgau.inspections.service import run_daily_job

JOBS = [Job("inspections.daily", run=run_daily_job, daily_at=time(1, 0))]
