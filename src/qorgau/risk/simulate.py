"""Synthetic risk registers for the twin's enterprises, with realistic gaps correlated with
accident risk: missing and stale assessments, PPE/administrative-only controls, overdue actions.

Danger comes from the twin's ground truth (truth_dir/enterprises.parquet, `true_danger`) when
present, else from the activity's risk class. What was planted is written to
truth_dir/risk.json so evaluations can check the regulator view against it; the product never
reads it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.registry.models import Activity, Enterprise
from qorgau.risk.constants import ControlLevel, Method
from qorgau.risk.content import load_template
from qorgau.risk.methods import DEFAULT_CRITERIA, assess, control_adequacy
from qorgau.risk.models import Action, Assessment, Control, Hazard
from qorgau.risk.register import OKED_SECTOR, add_months

LIMITS = {"tiny": 60, "small": 400, "medium": 3000, "national": 20000}
SOFT = {ControlLevel.ADMINISTRATIVE, ControlLevel.PPE}
ACTION_TITLES = [
    "Установить стационарные ограждения",
    "Провести внеплановый инструктаж",
    "Заменить изношенные СИЗ",
    "Установить газоанализаторы",
    "Обновить наряд-допуск",
    "Провести замеры шума и пыли",
    "Отремонтировать вентиляцию",
]


def _danger(db: Session, truth_dir: Path) -> dict[int, float]:
    path = truth_dir / "enterprises.parquet"
    if path.exists():
        import polars as pl

        df = pl.read_parquet(path, columns=["enterprise_id", "true_danger"])
        return dict(zip(df["enterprise_id"].to_list(), df["true_danger"].to_list(), strict=True))
    rows = db.execute(
        select(Enterprise.id, Activity.risk_class).join(
            Activity, Activity.code == Enterprise.activity_code
        )
    ).all()
    return {eid: min(1.0, (rc or 1) / 25) for eid, rc in rows}


def _candidates(db: Session, scale: str, rng: np.random.Generator) -> list[Any]:
    """A random sample of enterprises in sectors with templates (micro firms left out)."""
    stmt = (
        select(Enterprise.id, Enterprise.section, Enterprise.region_code)
        .where(Enterprise.section.in_(list(OKED_SECTOR)), Enterprise.size_band != "micro")
        .order_by(Enterprise.id)
    )
    rows = list(db.execute(stmt).all())
    limit = LIMITS.get(scale, LIMITS["small"])
    if len(rows) <= limit:
        return rows
    keep = np.sort(rng.choice(len(rows), size=limit, replace=False))
    return [rows[int(i)] for i in keep]


def _assessment(
    rng: np.random.Generator, tpl_hazard: Any, soft_only: bool
) -> tuple[dict, dict, list]:
    initial = {"likelihood": tpl_hazard.likelihood, "severity": tpl_hazard.severity}
    controls = (
        [c for c in tpl_hazard.controls if not soft_only or c.level in SOFT]
        or [c for c in tpl_hazard.controls if c.level is ControlLevel.PPE]
        or list(tpl_hazard.controls)
    )
    # Controls above the administrative level cut likelihood more than soft ones.
    cut = 1 if soft_only else int(rng.integers(1, 3))
    residual = {"likelihood": max(1, tpl_hazard.likelihood - cut), "severity": tpl_hazard.severity}
    return initial, residual, controls


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    rng = np.random.default_rng(seed * 1009 + 8)
    danger = _danger(db, truth_dir)
    today = date.today()
    now = datetime.now(UTC)
    counts = {
        "enterprises": 0,
        "hazards": 0,
        "assessments": 0,
        "controls": 0,
        "actions": 0,
        "missing": 0,
        "stale": 0,
        "soft_only": 0,
        "overdue_actions": 0,
    }
    planted: dict[str, list[int]] = {"missing": [], "stale": [], "soft_only": [], "overdue": []}
    for eid, section, region in _candidates(db, scale, rng):
        d = float(danger.get(eid, 0.3))
        counts["enterprises"] += 1
        if rng.random() < 0.05 + 0.45 * d:  # no assessment at all
            counts["missing"] += 1
            planted["missing"].append(eid)
            continue
        stale = rng.random() < 0.1 + 0.5 * d
        soft = rng.random() < 0.1 + 0.6 * d
        counts["stale"] += stale
        counts["soft_only"] += soft
        if stale:
            planted["stale"].append(eid)
        if soft:
            planted["soft_only"].append(eid)
        tpl = load_template(OKED_SECTOR[section])
        picks = rng.choice(
            len(tpl.hazards), size=min(len(tpl.hazards), int(rng.integers(4, 8))), replace=False
        )
        signed_on = today - timedelta(
            days=int(rng.integers(400, 1100) if stale else rng.integers(10, 300))
        )
        hazard_ids = []
        for i in picks:
            th = tpl.hazards[int(i)]
            h = Hazard(
                enterprise_id=eid,
                region_code=region,
                hazard_type=th.hazard_type.value,
                description=th.description["ru"],
                workplace=th.workplace["ru"][:300],
                headcount=int(rng.integers(2, 60)),
                template_ref=th.id,
                created_by="simulator",
            )
            db.add(h)
            db.flush()
            hazard_ids.append(h.id)
            initial, residual, controls = _assessment(rng, th, soft)
            result = assess(Method.MATRIX_5X5, initial, residual, DEFAULT_CRITERIA)
            a = Assessment(
                hazard_id=h.id,
                enterprise_id=eid,
                region_code=region,
                revision=1,
                status="signed",
                method=Method.MATRIX_5X5.value,
                initial=initial,
                residual=residual,
                initial_score=result.initial.score,
                initial_band=result.initial.band.value,
                residual_score=result.current.score,
                residual_band=result.current.band.value,
                current_band=result.current.band.value,
                method_band=result.current.method_band,
                acceptable=result.acceptable,
                review_due=add_months(signed_on, 12),
                signed_by="Инженер по ОТ",
                signed_at=datetime.combine(signed_on, datetime.min.time(), UTC),
                flags=[
                    f.value
                    for f in control_adequacy([c.level for c in controls], result.current.band)
                ],
                created_by="simulator",
                created_at=now,
            )
            a.controls = [
                Control(
                    level=c.level.value,
                    text=c.text["ru"],
                    enterprise_id=eid,
                    region_code=region,
                    requires_instruction=c.requires_instruction,
                )
                for c in controls
            ]
            db.add(a)
            counts["hazards"] += 1
            counts["assessments"] += 1
            counts["controls"] += len(controls)
        for _ in range(int(rng.integers(1, 4))):
            overdue = rng.random() < 0.1 + 0.6 * d
            due = today + timedelta(
                days=int(-rng.integers(5, 200) if overdue else rng.integers(5, 120))
            )
            done = not overdue and rng.random() < 0.3
            db.add(
                Action(
                    enterprise_id=eid,
                    region_code=region,
                    hazard_id=int(rng.choice(hazard_ids)),
                    title=str(rng.choice(ACTION_TITLES)),
                    owner="Главный инженер",
                    due_date=due,
                    status="done" if done else "open",
                    closed_on=today if done else None,
                    created_by="simulator",
                )
            )
            counts["actions"] += 1
            if overdue:
                counts["overdue_actions"] += 1
                planted["overdue"].append(eid)
        db.flush()
    db.commit()
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / "risk.json").write_text(json.dumps({"counts": counts, "planted": planted}))
    return counts
