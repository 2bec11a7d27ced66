"""Background work: the nightly linkage and scoring run over the last three years of evidence
(core/jobs.py). Cases keep stable keys, so a nightly run never duplicates or reopens a case."""

from __future__ import annotations

from datetime import time
from typing import Any

from qorgau.core.db import get_sessionmaker
from qorgau.core.jobs import Job
from qorgau.core.security import SYSTEM_ACTOR


def nightly() -> dict[str, Any]:
    from qorgau.concealment import service

    with get_sessionmaker()() as db:
        run = service.run_analysis(db=db, actor=SYSTEM_ACTOR)
        return {"run_id": run.id, "cases_opened": (run.stats or {}).get("cases_opened", 0)}


JOBS = [Job("concealment.nightly", run=nightly, daily_at=time(3, 0), lease_s=3600)]
