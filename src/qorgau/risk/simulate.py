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
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from qorgau.core.security import SYSTEM_ACTOR
from qorgau.registry import service as registry
from qorgau.registry.models import Activity, Enterprise
from qorgau.risk.constants import ControlLevel, Method
from qorgau.risk.content import load_template
from qorgau.risk.lagging import months_back
from qorgau.risk.methods import DEFAULT_CRITERIA, assess, control_adequacy
from qorgau.risk.models import Action, Assessment, Control, Hazard, HoursWorked
from qorgau.risk.register import OKED_SECTOR, add_months

MONTHLY_HOURS = 1650 / 12  # a full-time year of ~1,650 h worked (leave, holidays excluded)
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


def _plan(rng: np.random.Generator, d: float) -> dict[str, bool]:
    return {
        "missing": rng.random() < 0.05 + 0.45 * d,
        "stale": rng.random() < 0.1 + 0.5 * d,
        "soft_only": rng.random() < 0.1 + 0.6 * d,
    }


def _insert(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert returning ids in input order (one statement per batch, both engines)."""
    if not rows:
        return []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return [r[0] for r in db.execute(stmt, rows).all()]


def _assessment_row(
    th: Any, initial: dict, residual: dict, controls: list, eid: int, region: str, signed_on: date
) -> dict[str, Any]:
    result = assess(Method.MATRIX_5X5, initial, residual, DEFAULT_CRITERIA)
    flags = control_adequacy([c.level for c in controls], result.current.band)
    return {
        "enterprise_id": eid,
        "region_code": region,
        "revision": 1,
        "status": "signed",
        "method": Method.MATRIX_5X5.value,
        "initial": initial,
        "residual": residual,
        "initial_score": result.initial.score,
        "initial_band": result.initial.band.value,
        "residual_score": result.current.score,
        "residual_band": result.current.band.value,
        "current_band": result.current.band.value,
        "method_band": result.current.method_band,
        "acceptable": result.acceptable,
        "residual_reason": "",
        "flags": [f.value for f in flags],
        "review_due": add_months(signed_on, 12),
        "signed_by": "Инженер по ОТ",
        "signed_at": datetime.combine(signed_on, datetime.min.time(), UTC),
        "trigger_note": "",
        "created_by": "simulator",
        "created_at": datetime.now(UTC),
    }


def _hours_rows(
    db: Session, eids: list[int], today: date, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Hours worked for the last twelve complete months of enterprises that keep a register
    (an enterprise with no assessment keeps no hours either): staff under contract × a full-time
    month, ±10 % for leave and overtime. With the incidents simulator's accidents this gives
    the twin an LTIFR. Enterprises with hours of their own in the window are left alone, so
re-running the simulator never collides with recorded figures."""
    staff = dict(registry.headcount(db=db, actor=SYSTEM_ACTOR, on=today, group_by="enterprise"))
    months = months_back(today.replace(day=1) - timedelta(days=1))
    # enterprises that already record hours in the window keep their own figures
    first, last = months[0][0] * 100 + months[0][1], months[-1][0] * 100 + months[-1][1]
    own = set(
        db.scalars(
            select(HoursWorked.enterprise_id)
            .where((HoursWorked.year * 100 + HoursWorked.month).between(first, last))
            .distinct()
        )
    )
    return [
        {
            "enterprise_id": eid,
            "region_code": region,
            "year": y,
            "month": m,
            "hours": round(staff[eid] * MONTHLY_HOURS * float(rng.uniform(0.9, 1.1)), 1),
            "revision": 1,
            "note": "",
            "created_by": "simulator",
            "created_at": datetime.now(UTC),
        }
        for eid, region in eids
        if staff.get(eid) and eid not in own
        for y, m in months
    ]


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    rng = np.random.default_rng(seed * 1009 + 8)
    danger = _danger(db, truth_dir)
    today = date.today()
    counts = dict.fromkeys(
        [
            "enterprises",
            "hazards",
            "assessments",
            "controls",
            "actions",
            "missing",
            "stale",
            "soft_only",
            "overdue_actions",
            "hours_months",
        ],
        0,
    )
    planted: dict[str, list[int]] = {"missing": [], "stale": [], "soft_only": [], "overdue": []}
    hazards: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], list[Any]]] = []  # assessment row, controls
    actions: list[tuple[int, dict[str, Any]]] = []  # index of a hazard of the enterprise, row
    keeping: list[tuple[int, str]] = []  # enterprises with a register: they record hours
    for eid, section, region in _candidates(db, scale, rng):
        d = float(danger.get(eid, 0.3))
        counts["enterprises"] += 1
        plan = _plan(rng, d)
        for key in ("missing", "stale", "soft_only"):
            if plan[key]:
                counts[key] += 1
                planted[key].append(eid)
        if plan["missing"]:
            continue
        keeping.append((eid, region))
        tpl = load_template(OKED_SECTOR[section])
        n = min(len(tpl.hazards), int(rng.integers(4, 8)))
        picks = rng.choice(len(tpl.hazards), size=n, replace=False)
        days = rng.integers(400, 1100) if plan["stale"] else rng.integers(10, 300)
        signed_on = today - timedelta(days=int(days))
        first = len(hazards)
        for i in picks:
            th = tpl.hazards[int(i)]
            hazards.append(
                {
                    "enterprise_id": eid,
                    "region_code": region,
                    "site_id": None,
                    "hazard_type": th.hazard_type.value,
                    "description": th.description["ru"],
                    "workplace": th.workplace["ru"][:300],
                    "occupation": "",
                    "exposed_groups": "",
                    "headcount": int(rng.integers(2, 60)),
                    "template_ref": th.id,
                    "active": True,
                    "created_by": "simulator",
                    "created_at": datetime.now(UTC),
                }
            )
            initial, residual, controls = _assessment(rng, th, plan["soft_only"])
            row = _assessment_row(th, initial, residual, controls, eid, region, signed_on)
            pending.append((row, controls))
        for _ in range(int(rng.integers(1, 4))):
            overdue = rng.random() < 0.1 + 0.6 * d
            shift = -rng.integers(5, 200) if overdue else rng.integers(5, 120)
            done = not overdue and rng.random() < 0.3
            actions.append(
                (
                    first + int(rng.integers(0, n)),
                    {
                        "enterprise_id": eid,
                        "region_code": region,
                        "kind": "corrective",
                        "title": str(rng.choice(ACTION_TITLES)),
                        "owner": "Главный инженер",
                        "due_date": today + timedelta(days=int(shift)),
                        "status": "done" if done else "open",
                        "closed_on": today if done else None,
                        "accident_ref": "",
                        "root_cause": "",
                        "created_by": "simulator",
                        "created_at": datetime.now(UTC),
                    },
                )
            )
            if overdue:
                counts["overdue_actions"] += 1
                planted["overdue"].append(eid)
    hazard_ids = _insert(db, Hazard, hazards)
    for (row, _), hid in zip(pending, hazard_ids, strict=True):
        row["hazard_id"] = hid
    assessment_ids = _insert(db, Assessment, [row for row, _ in pending])
    controls = [
        {
            "assessment_id": aid,
            "enterprise_id": row["enterprise_id"],
            "region_code": row["region_code"],
            "level": c.level.value,
            "text": c.text["ru"],
            "requires_instruction": c.requires_instruction,
        }
        for (row, cs), aid in zip(pending, assessment_ids, strict=True)
        for c in cs
    ]
    _insert(db, Control, controls)
    _insert(db, Action, [{**row, "hazard_id": hazard_ids[i]} for i, row in actions])
    hours = _hours_rows(db, keeping, today, rng)
    _insert(db, HoursWorked, hours)
    counts["hours_months"] = len(hours)
    db.commit()
    counts.update(
        hazards=len(hazards), assessments=len(pending), controls=len(controls), actions=len(actions)
    )
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / "risk.json").write_text(json.dumps({"counts": counts, "planted": planted}))
    return counts
