"""The simulator hook hides a share of the incidents simulator's accidents (never adds any):
the register loses exactly the withheld accidents, the truth file names them, the feeds load."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.concealment import simulate as concealment_sim
from qorgau.concealment.models import EvidenceRecord
from qorgau.core.db import make_engine
from qorgau.core.migrate import upgrade
from qorgau.incidents import simulate as incidents_sim
from qorgau.incidents.models import Accident, Victim
from qorgau.simulator.service import simulate as load_registry


@pytest.mark.slow
def test_hook_withholds_incidents_accidents(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    summary = load_registry(engine_or_url=engine, seed=3, scale="small", truth_base=tmp_path)
    truth = summary.truth_dir
    with Session(engine) as db:
        made = incidents_sim.simulate(db=db, seed=3, scale="small", truth_dir=truth)
        before = set(db.scalars(select(Accident.id)))
        out = concealment_sim.simulate(db=db, seed=3, scale="small", truth_dir=truth)
        after = set(db.scalars(select(Accident.id)))
        inj = pl.read_parquet(truth / "concealment_injuries.parquet")
        hidden = set(inj.filter("concealed")["accident_id"].to_list())
        assert len(before) == made["accidents"]
        assert after == before - hidden  # nothing added, exactly the withheld ones gone
        assert out["concealment_withheld"] == len(hidden) > 0
        assert db.scalar(select(func.count()).where(Victim.accident_id.in_(hidden))) == 0
        # every true work injury is an incidents-simulator victim (no accidents of our own)
        assert set(inj["accident_id"].to_list()) <= before
        assert out["concealment_evidence"] == db.scalar(select(func.count(EvidenceRecord.id)))
        meta = json.loads((truth / "concealment.json").read_text())
        assert meta["withheld"] == int(inj["concealed"].sum())
        again = concealment_sim.simulate(db=db, seed=3, scale="small", truth_dir=truth)
        assert again["concealment_withheld"] == 0  # run once per database
    engine.dispose()
