"""Synthetic accidents for the registry twin, calibrated to DOMAIN.md and written in bulk.

Calibration (per 7.02 M hired employees nationally, scaled to the twin's headcount):
* ~2,000 injured a year (between the ministry's ~1,400–1,570 and the bureau's ~2,000–2,700)
  of whom ~200 are killed; severe ~25 % of the rest;
* sector shares of injured: manufacturing ~32 %, mining ~21 %, construction ~14 %, the rest
  by headcount; Karaganda, Ulytau and East Kazakhstan weighted up; the twin's `true_danger`
  (truth_dir/enterprises.parquet) scales an enterprise's risk when present;
* causes drawn from the published 2024 shares (coding.causes); seasonality by month;
* ~3 % group accidents (2–5 victims) and one mine disaster (5–12 victims) in the window;
* ~8 % reported after the 24-hour deadline.
Accidents older than 30 days have a finished investigation (findings, causes, fault split);
acts are not generated here (PDF signing is per accident; the demo signs a few on request).
What was planted goes to truth_dir/incidents.json and truth_dir/incidents_victims.csv.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from qorgau.core.models import load_all_models
from qorgau.incidents import coding, deadlines
from qorgau.incidents.constants import KZ_TZ
from qorgau.incidents.models import Accident, Deadline, Investigation, Victim
from qorgau.registry import service as registry
from qorgau.registry.models import Employment, Enterprise, Worker

NATIONAL_EMPLOYEES = 7_020_000
INJURED_PER_YEAR = 2_000
KILLED_PER_YEAR = 200
SECTOR_SHARE = {"C": 0.32, "B": 0.21, "F": 0.14}
HOT_REGIONS = {"KZ-35": 1.5, "KZ-62": 1.6, "KZ-63": 1.3}
MONTH_WEIGHT = np.array([0.85, 0.85, 0.95, 1.0, 1.05, 1.1, 1.15, 1.15, 1.05, 1.0, 0.95, 0.9])
GROUP_SHARE = 0.03
LATE_SHARE = 0.08
YEARS = 3  # full years before the current one, plus the current year to date


def _enterprise_frame(db: Session, today: date) -> list[Any]:
    on = today.replace(month=1, day=1)
    stmt = (
        select(Enterprise.id, Enterprise.section, Enterprise.region_code, func.count(Employment.id))
        .join(Employment, Employment.enterprise_id == Enterprise.id)
        .where(registry.active_on(on))
        .group_by(Enterprise.id, Enterprise.section, Enterprise.region_code)
    )
    return list(db.execute(stmt))


def _danger(truth_dir: Path) -> dict[int, float]:
    path = truth_dir / "enterprises.parquet"
    if not path.exists():
        return {}
    import polars as pl

    df = pl.read_parquet(path, columns=["enterprise_id", "true_danger"])
    return dict(zip(df["enterprise_id"].to_list(), df["true_danger"].to_list(), strict=True))


def enterprise_weights(rows: list[Any], danger: dict[int, float]) -> np.ndarray:
    """Expected share of injuries per enterprise: headcount × sector lift × region × danger."""
    heads = np.array([r[3] for r in rows], dtype=float)
    sections = [r[1] for r in rows]
    total = heads.sum()
    lift = {}
    rest_target = 1 - sum(SECTOR_SHARE.values())
    rest_heads = sum(h for h, s in zip(heads, sections, strict=True) if s not in SECTOR_SHARE)
    for sec in set(sections):
        sec_heads = sum(h for h, s in zip(heads, sections, strict=True) if s == sec)
        if sec in SECTOR_SHARE:
            lift[sec] = SECTOR_SHARE[sec] / max(sec_heads / total, 1e-9)
        else:
            lift[sec] = rest_target / max(rest_heads / total, 1e-9)
    w = np.array(
        [
            h * lift[s] * HOT_REGIONS.get(r[2], 1.0) * (0.5 + danger.get(r[0], 0.5))
            for h, s, r in zip(heads, sections, rows, strict=True)
        ]
    )
    return w / w.sum()


def _cause_probs() -> tuple[list[str], np.ndarray]:
    items = coding.causes()
    known = {c.code: c.share_2024_pct for c in items if c.share_2024_pct}
    rest = [c.code for c in items if not c.share_2024_pct]
    left = max(0.0, 100.0 - sum(known.values()))
    codes = list(known) + rest
    probs = np.array(list(known.values()) + [left / max(len(rest), 1)] * len(rest), dtype=float)
    return codes, probs / probs.sum()


def _esaw_codes(variable: coding.EsawVariable) -> list[str]:
    return [c.code for c in coding.esaw_list(variable) if not c.is_group]


def _event_times(rng: np.random.Generator, n: int, start: date, end: date) -> list[datetime]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    w = np.array([MONTH_WEIGHT[d.month - 1] * (0.6 if d.weekday() >= 5 else 1.0) for d in days])
    picks = rng.choice(len(days), size=n, p=w / w.sum())
    minutes = rng.integers(6 * 60, 23 * 60, size=n)  # most shifts 06:00–23:00 local
    return [
        datetime.combine(days[i], datetime.min.time(), tzinfo=KZ_TZ) + timedelta(minutes=int(m))
        for i, m in zip(picks, minutes, strict=True)
    ]


def _workers(db: Session, enterprise_ids: set[int]) -> dict[int, list[tuple[int, str, str]]]:
    stmt = (
        select(Employment.enterprise_id, Worker.id, Worker.iin_hash, Worker.iin_masked)
        .join(Worker, Worker.id == Employment.worker_id)
        .where(Employment.enterprise_id.in_(enterprise_ids))
    )
    out: dict[int, list[tuple[int, str, str]]] = {}
    for eid, wid, h, masked in db.execute(stmt):
        out.setdefault(eid, []).append((wid, h, masked))
    return out


def _victim_count(rng: np.random.Generator, section: str, disaster: bool) -> int:
    if disaster:
        return int(rng.integers(5, 13))
    if rng.random() < GROUP_SHARE:
        return int(rng.integers(2, 6))
    return 1


def _severity(rng: np.random.Generator, p_fatal: float) -> str:
    u = rng.random()
    return "fatal" if u < p_fatal else "severe" if u < p_fatal + 0.25 else "minor"


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    load_all_models()  # FK targets in other domains (app_user) when run outside the app
    rng = np.random.default_rng([seed, 4])
    today = date.today()
    start = date(today.year - YEARS, 1, 1)
    rows = _enterprise_frame(db, today)
    if not rows:
        return {"accidents": 0, "victims": 0}
    weights = enterprise_weights(rows, _danger(truth_dir))
    headcount = int(sum(r[3] for r in rows))
    span_years = ((today - start).days + 1) / 365.25
    expected_victims = headcount * INJURED_PER_YEAR / NATIONAL_EMPLOYEES * span_years
    # Victims per accident average ~1.06; draw accidents so victims match the calibration.
    n_acc = int(rng.poisson(expected_victims / 1.06))
    n_acc = max(n_acc, 1)
    ent_idx = rng.choice(len(rows), size=n_acc, p=weights)
    times = sorted(_event_times(rng, n_acc, start, today - timedelta(days=1)))
    mining = [i for i, r in enumerate(rows) if r[1] == "B"]
    disaster_at = int(rng.integers(0, n_acc)) if mining and n_acc > 20 else -1
    if disaster_at >= 0:
        ent_idx[disaster_at] = mining[int(np.argmax([rows[i][3] for i in mining]))]
    p_fatal = KILLED_PER_YEAR / INJURED_PER_YEAR
    causes, cause_p = _cause_probs()
    esaw = {v: _esaw_codes(v) for v in coding.ESAW_VARIABLES}
    pool = _workers(db, {rows[i][0] for i in ent_idx})
    now = datetime.now(UTC)

    accidents, victims_by_acc, truth = [], [], []
    for k in range(n_acc):
        eid, section, region, _h = rows[ent_idx[k]]
        occurred = times[k]
        late = rng.random() < LATE_SHARE
        delay = timedelta(hours=float(rng.uniform(25, 96) if late else rng.uniform(0.5, 20)))
        reported = min(occurred + delay, now)
        n_v = _victim_count(rng, section, k == disaster_at)
        sev = [_severity(rng, p_fatal if k != disaster_at else 0.6) for _ in range(n_v)]
        worst = max(sev, key=["minor", "severe", "fatal"].index)
        cause = str(rng.choice(causes, p=cause_p))
        old = (now - occurred).days > 30
        accidents.append(
            {
                "enterprise_id": eid,
                "region_code": region,
                "section": section,
                "occurred_at": occurred,
                "reported_at": reported,
                "severity": worst,
                "circumstances": "Synthetic accident (simulator).",
                "esaw_deviation": str(rng.choice(esaw["deviation"])),
                "esaw_contact": str(rng.choice(esaw["contact"])),
                "esaw_injury_type": str(rng.choice(esaw["injury_type"])),
                "esaw_body_part": str(rng.choice(esaw["body_part"])),
                "cause_code": cause if old else None,
                "victims_count": n_v,
                "fatalities": sev.count("fatal"),
                "late_report": reported - occurred > timedelta(hours=24),
                "flags": (["late_report"] if reported - occurred > timedelta(hours=24) else [])
                + (["group"] if n_v >= 2 else []),
                "state": "findings_recorded" if old else "investigating",
                "revision": 1,
                "created_by": "system:simulator",
            }
        )
        victims_by_acc.append(sev)
        truth.append((occurred.date(), region, section, sev, cause, late))

    ids = list(db.scalars(insert(Accident).returning(Accident.id), accidents))
    victim_rows, inv_rows, dl_rows = [], [], []
    for acc_id, acc, sev in zip(ids, accidents, victims_by_acc, strict=True):
        staff = pool.get(acc["enterprise_id"], [])
        picks = (
            rng.choice(len(staff), size=min(len(sev), len(staff)), replace=False) if staff else []
        )
        for j, s in enumerate(sev):
            person = staff[int(picks[j])] if j < len(picks) else None
            victim_rows.append(
                {
                    "accident_id": acc_id,
                    "enterprise_id": acc["enterprise_id"],
                    "region_code": acc["region_code"],
                    "section": acc["section"],
                    "occurred_on": deadlines.local_day(acc["occurred_at"]),
                    "severity": s,
                    "cause_code": acc["cause_code"],
                    "worker_id": person[0] if person else None,
                    "iin_hash": person[1] if person else None,
                    "iin_masked": person[2] if person else None,
                    "full_name": "" if person else "Unidentified (simulator)",
                    "birth_date": None if person else date(1980, 1, 1),
                    "employed_here": person is not None,
                }
            )
        special = acc["severity"] != "minor" or acc["victims_count"] >= 2
        done = acc["state"] == "findings_recorded"
        emp = int(rng.integers(40, 101))
        inv_rows.append(
            {
                "accident_id": acc_id,
                "enterprise_id": acc["enterprise_id"],
                "region_code": acc["region_code"],
                "kind": "special" if special else "standard",
                "commission": [],
                "findings": "Synthetic findings." if done else "",
                "causes": [acc["cause_code"]] if done else [],
                "fault_employer_pct": emp if done else None,
                "fault_worker_pct": 100 - emp if done else None,
                "extension_days": 0,
                "completed_at": acc["occurred_at"] + timedelta(days=12) if done else None,
                "revision": 1,
            }
        )
        occ = acc["occurred_at"]
        commission_at = occ + timedelta(hours=float(rng.uniform(2, 30)))
        inv_due = deadlines.investigation_due(commission_at)
        for kind, due, met in (
            ("report", deadlines.report_due(occ), acc["reported_at"]),
            ("commission", deadlines.commission_due(occ), min(commission_at, now)),
            ("investigation", inv_due, occ + timedelta(days=12) if done else None),
        ):
            dl_rows.append(
                {
                    "accident_id": acc_id,
                    "enterprise_id": acc["enterprise_id"],
                    "region_code": acc["region_code"],
                    "kind": kind,
                    "due_at": due,
                    "met_at": met,
                }
            )
    if victim_rows:
        db.execute(insert(Victim), victim_rows)
    db.execute(insert(Investigation), inv_rows)
    db.execute(insert(Deadline), dl_rows)
    db.commit()
    _write_truth(truth_dir, truth, headcount, n_acc)
    return {
        "accidents": n_acc,
        "victims": len(victim_rows),
        "fatal": sum(s.count("fatal") for s in victims_by_acc),
        "late": sum(t[5] for t in truth),
    }


def _write_truth(truth_dir: Path, truth: list[Any], headcount: int, n_acc: int) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    per_year: Counter[int] = Counter()
    killed: Counter[int] = Counter()
    with (truth_dir / "incidents_victims.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["occurred_on", "region", "section", "severity", "cause", "reported_late"])
        for day, region, section, sev, cause, late in truth:
            for s in sev:
                w.writerow([day, region, section, s, cause, int(late)])
                per_year[day.year] += 1
                killed[day.year] += s == "fatal"
    summary = {
        "headcount": headcount,
        "accidents": n_acc,
        "calibration": {
            "injured_per_year_national": INJURED_PER_YEAR,
            "killed_per_year_national": KILLED_PER_YEAR,
            "national_employees": NATIONAL_EMPLOYEES,
        },
        "injured_by_year": dict(sorted(per_year.items())),
        "killed_by_year": dict(sorted(killed.items())),
        "late_accidents": sum(t[5] for t in truth),
    }
    (truth_dir / "incidents.json").write_text(json.dumps(summary, indent=2, default=str))
