"""The simulator hook's database side: read the accidents the incidents simulator registered,
withdraw the ones concealment hides, load the simulated feeds as evidence, run the analysis.

This is seeding, not a product operation: withdrawn accidents were never reported in the
simulated world, so their rows (written minutes earlier by `qorgau.incidents.simulate`, marked
`created_by = "system:simulator"`) are removed in bulk, like the incidents simulator writes them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from qorgau.concealment.models import EvidenceRecord
from qorgau.core.db import utcnow
from qorgau.core.security import SYSTEM_ACTOR
from qorgau.simulator.twin import Twin

SIMULATOR = "system:simulator"
EVIDENCE_COLUMNS = (
    "source", "source_ref", "iin_hash", "iin_valid", "first_name", "last_name", "birth_date",
    "event_date", "icd10", "cause_code", "work_related", "fatal", "region_code",
)  # fmt: skip


def _twin_keys(twin: Twin) -> tuple[dict[str, int], dict[str, int]]:
    """BIN → twin enterprise id, keyed IIN hash → twin worker id."""
    from qorgau.concealment.simulate import hashed
    from qorgau.concealment.simulate_feeds import _digits

    ent = twin.enterprises
    bins = dict(zip(_digits(ent["bin"]).tolist(), ent["id"].tolist(), strict=True))
    hashes = hashed(pl.Series(_digits(twin.workers["iin"]))).to_list()
    return bins, dict(zip(hashes, twin.workers["id"].tolist(), strict=True))


def registered_injuries(db: Session, twin: Twin, since: date) -> pl.DataFrame:
    """The simulated accidents' victims in twin ids (one row per identified victim)."""
    from qorgau.incidents.models import Accident, Victim
    from qorgau.registry.models import Enterprise

    bins, hashes = _twin_keys(twin)
    stmt = (
        select(
            Victim.id, Victim.accident_id, Victim.iin_hash, Enterprise.bin, Victim.region_code,
            Victim.section, Victim.occurred_on, Victim.severity, Accident.victims_count,
        )
        .join(Accident, Accident.id == Victim.accident_id)
        .join(Enterprise, Enterprise.id == Victim.enterprise_id)
        .where(Accident.created_by == SIMULATOR, Victim.occurred_on >= since)
        .order_by(Victim.id)
    )  # fmt: skip
    rows = [
        (vid, acc, hashes.get(h or ""), bins.get(b), reg, sec, (day - date(1970, 1, 1)).days,
         sev == "fatal", n >= 2)
        for vid, acc, h, b, reg, sec, day, sev, n in db.execute(stmt)
    ]  # fmt: skip
    rows = [r for r in rows if r[2] is not None and r[3] is not None]
    cols = ("injury_id", "accident_id", "worker_id", "enterprise_id", "region_code", "section",
            "day", "fatal", "group")  # fmt: skip
    schema = dict(zip(cols, (pl.Int64, pl.Int64, pl.Int64, pl.Int64, pl.String, pl.String,
                             pl.Int64, pl.Boolean, pl.Boolean), strict=True))  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def withhold(db: Session, accident_ids: list[int]) -> int:
    """Remove the concealed accidents (and their dependent rows) the simulator registered."""
    from qorgau.incidents import models as m

    ids = list(
        db.scalars(
            select(m.Accident.id).where(
                m.Accident.id.in_(accident_ids), m.Accident.created_by == SIMULATOR
            )
        )
    )
    for k in range(0, len(ids), 1000):
        chunk = ids[k : k + 1000]
        for model in (m.Deadline, m.Investigation, m.Notification, m.Revision, m.Victim):
            db.execute(delete(model).where(model.accident_id.in_(chunk)))
        db.execute(delete(m.Accident).where(m.Accident.id.in_(chunk)))
    return len(ids)


def simulated_loaded(db: Session) -> bool:
    stmt = select(EvidenceRecord.id).where(EvidenceRecord.created_by == "simulator").limit(1)
    return db.scalar(stmt) is not None


def load_simulated(*, db: Session, world: Any) -> dict[str, int]:
    """Withdraw the concealed accidents, write the feeds as evidence rows, run the analysis."""
    from qorgau.concealment.service import run_analysis
    from qorgau.concealment.simulate import pipeline_frames
    from qorgau.concealment.simulate_feeds import _digits
    from qorgau.registry.models import Enterprise

    hidden = world.injuries.filter("concealed")["accident_id"].unique().to_list()
    withheld = withhold(db, hidden)
    frames = pipeline_frames(world)
    ent_map = dict(db.execute(select(Enterprise.bin, Enterprise.id)).all())
    ent = world.twin.enterprises
    twin_bin = dict(zip(ent["id"].tolist(), _digits(ent["bin"]).tolist(), strict=True))
    ev = frames["evidence"]
    bins = [twin_bin.get(e) for e in ev["enterprise_id"].to_list()]
    now = utcnow()
    rows = [
        {k: r[k] for k in EVIDENCE_COLUMNS}
        | {
            "employer_bin": b,
            "enterprise_id": ent_map.get(b) if b else None,
            "facility": "",
            "text": "",
            "created_by": "simulator",
            "created_at": now,
        }
        for r, b in zip(ev.iter_rows(named=True), bins, strict=True)
    ]
    for k in range(0, len(rows), 5000):
        db.execute(insert(EvidenceRecord), rows[k : k + 5000])
    db.commit()
    run = run_analysis(db=db, actor=SYSTEM_ACTOR, as_of=world.as_of, since=world.since)
    return {
        "concealment_evidence": len(rows),
        "concealment_withheld": withheld,
        "concealment_cases": int(run.stats.get("cases_opened", 0)),
    }



