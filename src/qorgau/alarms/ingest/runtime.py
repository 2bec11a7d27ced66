"""Per-site engine runtime: device table, dedup cursors, the AlarmEngine and forecast windows.

Rebuilt from the database when a site's devices change (`IngestMark.devices_rev`) and after a
restart: open active alarms are put back into the engine state so a condition that is still
true is not raised twice, and one that cleared while the worker was down clears (an active TWA
at the next shift start, `shifts.py`: the doses themselves start again at zero); readings
whose roll-ups and counters had not reached the database are replayed into the ledger from
the segment files (`ledger.py`)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from qorgau.alarms.engine import AlarmEngine, SensorTable, methane_fan_rule
from qorgau.alarms.engine.types import COND_KINDS
from qorgau.alarms.ingest.ledger import Ledger
from qorgau.alarms.ingest.order import SeqWindow, cursors
from qorgau.alarms.models import AlarmRecord, Device, IngestMark
from qorgau.alarms.service import ts
from qorgau.alarms.store import SegmentStore

FORECAST_WINDOW_S, FORECAST_STEP_S, FORECAST_HORIZON_S = 180.0, 10.0, 600.0


@dataclass
class DevInfo:
    """What ingest needs of a device, read when the runtime is built (an edit of the device
    bumps its revision, so the runtime and this are rebuilt): occurrences are raised from it
    without loading the Device row."""

    id: int
    site_id: int
    code: str
    kind: str
    quantity: str
    zone_code: str
    life_safety: bool
    enterprise_id: int
    region_code: str
    installation_id: int | None


@dataclass
class Forecast:
    window: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=400))
    next_eval: float = -math.inf
    warned: bool = False
    high: float = 1.0


@dataclass
class SiteRuntime:
    site_id: int
    signature: int  # the site's devices_rev it was built from
    devices: list[DevInfo]
    index: dict[str, int]
    seqs: SeqWindow  # exact (device, sequence) dedup
    last_t: np.ndarray  # time of each device's latest evaluated (not late) reading
    written: np.ndarray  # the last ledger frame each device's row includes, as built
    engine: AlarmEngine
    forecasts: dict[int, Forecast]
    ledger: Ledger  # roll-ups and counters not yet written

    @cached_property
    def device_ids(self) -> np.ndarray:
        """Database id of each device index."""
        return np.array([d.id for d in self.devices], np.int64)

    @cached_property
    def position(self) -> dict[int, int]:
        """Database id → device index."""
        return {d.id: j for j, d in enumerate(self.devices)}

    @cached_property
    def installed(self) -> np.ndarray:
        """Indices of the devices installed in the equipment register (their heartbeat)."""
        return np.array([j for j, d in enumerate(self.devices) if d.installation_id is not None],
                        np.int64)

    @cached_property
    def scope(self) -> dict[int, tuple[int, str]]:
        """Device id → (enterprise, region), the roll-ups' scope columns."""
        return {d.id: (d.enterprise_id, d.region_code) for d in self.devices}


def signature(db: Session, site_id: int) -> int:
    """The site's device revision, asked once per batch: one row by primary key, on the
    session's connection (past the ORM's statement handling)."""
    return int(db.connection().execute(_SIGNATURE, {"site": site_id}).scalar() or 0)


_SIGNATURE = select(IngestMark.devices_rev).where(IngestMark.site_id == bindparam("site"))


def build(db: Session, site_id: int, now: float, flush_s: float) -> SiteRuntime:
    rev = signature(db, site_id)  # first: a change committed while this reads rebuilds again
    rows = list(db.scalars(select(Device).where(Device.site_id == site_id,
                                                Device.enabled.is_(True)).order_by(Device.id)))
    n = len(rows)
    lim = {k: np.array([float(d.limits.get(k, math.nan)) for d in rows]) for k in (
        "high", "highhigh", "low", "lowlow", "ror_per_min", "stale_s", "twa_limit",
        "stel_limit")}
    for k in ("deadband", "on_delay_s", "off_delay_s"):
        lim[k] = np.array([float(d.limits.get(k) or 0.0) for d in rows])
    table = SensorTable.create(n, **lim, life_safety=np.array([d.life_safety for d in rows],
                                                                bool))
    index = {d.code: i for i, d in enumerate(rows)}
    rules = _combo_rules(rows)
    engine = AlarmEngine(table, rules=rules, now=now)
    _restore_active(db, engine, {d.id: i for i, d in enumerate(rows)})
    infos = [DevInfo(d.id, d.site_id, d.code, d.kind, d.quantity, d.zone_code, d.life_safety,
                     d.enterprise_id, d.region_code, d.installation_id) for d in rows]
    forecasts = {i: Forecast(high=float(d.limits.get("high", 1.0)))
                 for i, d in enumerate(rows) if d.quantity == "CH4"}
    st = engine.state
    for i, d in enumerate(rows):
        if d.last_seen_at is not None:
            st.last_time[i] = ts(d.last_seen_at)
            st.last_value[i] = d.last_value if d.last_value is not None else math.nan
    return SiteRuntime(site_id, rev, infos, index, *cursors(rows), engine, forecasts,
                       Ledger(n, flush_s, now, 0))


def resume(db: Session, rt: SiteRuntime, store: SegmentStore, owner: str, now: float) -> None:
    """Before this process ingests the site's first batch: the site's ledger claimed (see
    `ledger.py`) and, when it is ours, the readings whose roll-ups and counters an earlier
    owner (or a rolled-back batch) left unwritten back into it, and the engine's last reading
    of each device from them. A process that only ticks the site never does this."""
    if rt.ledger.claim(db, rt.site_id, owner, now) and rt.ledger.replay(db, rt, store):
        got = np.flatnonzero(~np.isnan(rt.ledger.seen))
        rt.engine.state.last_time[got] = rt.last_t[got]
        val = got[~np.isnan(rt.ledger.value[got])]
        rt.engine.state.last_value[val] = rt.ledger.value[val]
    rt.ledger.live = True


def _combo_rules(rows: list[Device]) -> tuple:
    """CH4 ≥ 1 % while the fan of the same zone (or the site's only fan) is off."""
    fans = [i for i, d in enumerate(rows) if d.quantity == "fan"]
    rules = []
    for i, d in enumerate(rows):
        if d.quantity != "CH4" or not fans:
            continue
        same = [f for f in fans if rows[f].zone_code == d.zone_code] or fans[:1]
        rules.append(methane_fan_rule(i, same[0], ch4_pct=float(d.limits.get("high", 1.0))))
    return tuple(rules)


def _restore_active(db: Session, engine: AlarmEngine, idx: dict[int, int]) -> None:
    cond = {k.name: c for c, k in enumerate(COND_KINDS)}
    dev_kinds = {"FALL": 0, "SOS": 1, "NO_MOTION": 2}
    stmt = select(AlarmRecord.device_id, AlarmRecord.kind, AlarmRecord.raised_at).where(
        AlarmRecord.device_id.in_(list(idx)), AlarmRecord.active.is_(True))
    ex = engine.state.exposure
    for device_id, kind, raised_at in db.execute(stmt):
        i = idx[device_id]
        if kind == "TWA":  # its shift began before its raise: cleared at the next shift start
            ex.twa_active[i] = 1.0
            ex.shift_start[i] = min(ex.shift_start[i], ts(raised_at))
        elif kind in cond:
            engine.state.active[i, cond[kind]] = True
            engine.state.busy[i] = 1.0
        elif kind == "STALE":
            engine.state.stale[i] = 1.0
        elif kind in dev_kinds:
            engine.device_active[i, dev_kinds[kind]] = True
        elif kind == "COMBO":
            for k, rule in enumerate(engine.rules):
                if rule.sensor == i:
                    engine.rule_active[k] = True
