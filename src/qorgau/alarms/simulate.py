"""Telemetry simulator: a Karaganda mine with the standard devices, scenarios with ground
truth, streamed to http | mqtt | nats | inprocess, and the predictive warning's lead time and
false-warning rate measured against threshold-only alarms. `simulate()` is the demo hook."""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import service
from qorgau.alarms.models import AlarmRecord, Contact, Device
from qorgau.alarms.scenarios import MINE_ZONES, STANDARD_DEVICES, Scenario, Stream
from qorgau.alarms.schemas import ContactIn, DeviceIn, GatewayIn
from qorgau.core.pagination import PageParams
from qorgau.core.security import SYSTEM_ACTOR
from qorgau.registry import service as registry
from qorgau.registry.schemas import SiteIn

SITE_NAME = "Karaganda mine — gas monitoring (simulated)"


def ensure_site(db: Session) -> Any:
    """The simulated mine site (created once under the first KZ-35 mining enterprise)."""
    ents, _ = registry.list_enterprises(db=db, actor=SYSTEM_ACTOR, params=PageParams(
        page=1, size=50), region="KZ-35", section="B")
    if not ents:
        ents, _ = registry.list_enterprises(db=db, actor=SYSTEM_ACTOR,
                                            params=PageParams(page=1, size=1), region="KZ-35")
    if not ents:
        raise RuntimeError("no enterprise in KZ-35 to host the simulated mine")
    ent = sorted(ents, key=lambda e: (e.activity_code != "05", e.id))[0]
    sites, _ = registry.list_sites(db=db, actor=SYSTEM_ACTOR, enterprise_id=ent.id,
                                   params=PageParams(page=1, size=200))
    for s in sites:
        if s.name == SITE_NAME:
            return s
    return registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=ent.id, kind="mine", name=SITE_NAME, lon=ent.lon, lat=ent.lat,
        zones=MINE_ZONES))


def ensure_devices(db: Session, site: Any, *, filler: int = 0) -> dict[str, str]:
    """Standard devices, `filler` extra CO heads, escalation contacts. Returns code→quantity."""
    have = {d.code: d.quantity for d in db.scalars(select(Device).where(
        Device.site_id == site.id))}
    want = list(STANDARD_DEVICES) + [(f"F-{k}", "gas", "CO", "L2") for k in range(filler)]
    for code, kind, q, zone in want:
        if code not in have:
            service.create_device(db=db, actor=SYSTEM_ACTOR, data=DeviceIn(
                site_id=site.id, code=code, kind=kind, quantity=q, zone_code=zone))
            have[code] = q
    if not db.scalar(select(Contact.id).where(Contact.site_id == site.id)):
        for tier, role, channel, target in [(2, "mine_rescue", "sms", "+77212000112"),
                                            (3, "inspectorate", "email", "krg@emergency.kz"),
                                            (4, "management", "sms", "+77212000001")]:
            service.add_contact(db=db, actor=SYSTEM_ACTOR, data=ContactIn(
                site_id=site.id, tier=tier, role=role, channel=channel, target=target))
    return have


def gateway(db: Session, site: Any) -> tuple[str, str]:
    gw, key = service.create_gateway(db=db, actor=SYSTEM_ACTOR, data=GatewayIn(
        site_id=site.id, name=f"sim-{site.id}-{int(time.time() * 1000) % 10**9}"))
    return gw.name, key


def evaluate(db: Session, site_id: int, since: float, truth: list[dict[str, Any]]) -> dict:
    """Lead time of FORECAST over HI per CH4 device, and warnings without a real danger."""
    from qorgau.alarms.service import dt

    recs = list(db.scalars(select(AlarmRecord).where(AlarmRecord.site_id == site_id,
                                                     AlarmRecord.raised_at >= dt(since))))
    codes = {d.id: d.code for d in db.scalars(select(Device).where(Device.site_id == site_id))}
    first: dict[tuple[str, str], float] = {}
    for r in recs:
        key = (codes.get(r.device_id, ""), r.kind)
        first[key] = min(first.get(key, 1e18), r.raised_at.timestamp())
    danger = {t["device"] for t in truth if t["real_danger"]}
    leads, detect = [], []
    for t in truth:
        hi = first.get((t["device"], "HI")) or first.get((t["device"], "COMBO"))
        fc = first.get((t["device"], "FORECAST"))
        if hi and fc and fc < hi:
            leads.append(hi - fc)
        alarm = min((v for (d, _k), v in first.items() if d == t["device"]), default=None)
        if t["real_danger"] and alarm:
            detect.append(alarm - t["began_at"])
    false = [d for (d, k) in first if k == "FORECAST" and d not in danger]
    return {"alarms": len(recs), "forecast_lead_s": leads, "false_warnings": len(false),
            "detection_delay_s": detect}


def simulate(*, db: Session, seed: int, scale: str, truth_dir: pathlib.Path) -> dict[str, int]:
    """Demo: 30 min of a Karaganda mine ending now — methane build-up in L1 with W-1/W-2 there,
    a predictive warning, HI and HIHI (life-safety, left unacknowledged so it escalates),
    withdrawal of both wearers to the shaft station."""
    from qorgau.alarms.ingest.core import processor

    site = ensure_site(db)
    devices = ensure_devices(db, site)
    t0, seconds = time.time() - 1800, 1800
    sc = [Scenario("methane_buildup", "CH4-1", 600, {"rate_per_min": 0.08})]
    stream = Stream({c: q for c, q in devices.items() if not c.startswith("F-")}, sc, seed)
    proc = processor()
    pos = [{"d": "W-1", "z": "L1"}, {"d": "W-2", "z": "L1"}, {"d": "W-3", "z": "SHAFT"}]
    moves = {1500: [{"d": "W-1", "z": "SHAFT"}], 1620: [{"d": "W-2", "z": "SHAFT"}]}
    batch: list[dict[str, Any]] = []
    for k in range(seconds):
        rows = stream.second(k, t0 + k)
        for p in (pos if k == 0 else []) + moves.get(k, []):
            s = stream.seq.get(p["d"], 0)
            stream.seq[p["d"]] = s + 1
            rows.append({**p, "s": s, "t": t0 + k})
        batch += rows
        if k % 60 == 59:
            proc.handle_raw(db, {"site_id": site.id, "readings": batch}, source="simulate")
            batch = []
    proc.close(db)  # the demo's roll-ups and counters in the database before it serves
    truth = stream.truth(t0)
    result = evaluate(db, site.id, t0, truth)
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / "alarms_telemetry.json").write_text(json.dumps(
        {"site_id": site.id, "truth": truth, "evaluation": result}, indent=1))
    return {"alarm_devices": len(devices), "alarm_readings": sum(stream.seq.values()),
            "alarms": result["alarms"]}
