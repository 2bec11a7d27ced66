"""Background work: overdue corrective actions are escalated and signed assessments past their
review date are reopened, once a day (core/jobs.py)."""

from __future__ import annotations

from datetime import time
from typing import Any

from qorgau.core.db import get_sessionmaker
from qorgau.core.jobs import Job
from qorgau.risk import service


def daily() -> dict[str, Any]:
    with get_sessionmaker()() as db:
        escalated = service.escalate_overdue(db=db)
        reopened = service.reopen_overdue_reviews(db=db)
    return {"actions_escalated": escalated, "reviews_reopened": len(reopened)}


JOBS = [Job("risk.daily", run=daily, daily_at=time(1, 30))]
