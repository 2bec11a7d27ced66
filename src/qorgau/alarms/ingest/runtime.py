"""Per-site engine runtime: device table, dedup cursors, the AlarmEngine and forecast windows.

Rebuilt from the database when a site's devices change (`IngestMark.devices_rev`) and after a
restart: open active alarms are put back into the engine state so a condition that is still
true is not raised twice, and one that cleared while the worker was down clears (an active TWA
at the next shift start, `shifts.py`; an active STEL when its 15-min mean falls); readings
whose roll-ups and counters had not reached the database are replayed into the ledger from
the segment files (`ledger.py`), and the TWA doses since the shift start and the STEL windows
are rebuilt from the roll-ups and the segment files (`seed_exposure`), the shift's STEL
excursion counts from its STEL occurrences."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import constants as C
from qorgau.alarms import shifts
from qorgau.alarms.engine import AlarmEngine, SensorTable, methane_fan_rule
from qorgau.alarms.engine.types import COND_KINDS
from qorgau.alarms.ingest.ledger import Ledger
from qorgau.alarms.ingest.order import SeqWindow, cursors
from qorgau.alarms.ingest.parse import Codes
from qorgau.alarms.models import AlarmRecord, Device, EscalationPolicy, Rollup
from qorgau.alarms.service import dt, ts
from qorgau.alarms.store import SegmentStore
from qorgau.core.db import fetch_raw

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
    index: CodeIndex
    seqs: SeqWindow  # exact (device, sequence) dedup
    last_t: np.ndarray  # time of each device's latest evaluated (not late) reading
    written: np.ndarray  # the last ledger frame each device's row includes, as built
    engine: AlarmEngine
    forecasts: dict[int, Forecast]
    ledger: Ledger  # roll-ups and counters not yet written
    # device index of each name of a receiver's numbering (`indices`), by the list's id
    mapped: dict[int, tuple[list[str], np.ndarray]] = field(default_factory=dict, repr=False)

    def indices(self, codes: Sequence[str]) -> np.ndarray:
        """Device index of each code of a batch, -1 for an unknown code."""
        if isinstance(codes, Codes):
            return self._mapped(codes.names)[codes.ids]
        return np.fromiter(map(self.index.__getitem__, codes), np.int64, len(codes))

    def _mapped(self, names: list[str]) -> np.ndarray:
        """The device indices of a numbering's names, looked up once and extended as the
        names grow (a batch's numbers are all below the length they had when it came)."""
        got = self.mapped.get(id(names))
        have = got[1] if got is not None and got[0] is names else np.empty(0, np.int64)
        if len(have) < len(names):
            more = names[len(have):]
            have = np.concatenate([have, np.fromiter(map(self.index.__getitem__, more),
                                                     np.int64, len(more))])
            if got is None and len(self.mapped) >= 2:  # a table replaced (a new generation,
                self.mapped.clear()  # a new receiver): batches of the old one are few
            self.mapped[id(names)] = (names, have)
        return have

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
    def forecasted(self) -> np.ndarray:
        """Which device indices have a methane forecast (`forecasts` is fixed per build)."""
        mask = np.zeros(len(self.devices), bool)
        mask[list(self.forecasts)] = True
        return mask

    @cached_property
    def scope(self) -> dict[int, tuple[int, str]]:
        """Device id → (enterprise, region), the roll-ups' scope columns."""
        return {d.id: (d.enterprise_id, d.region_code) for d in self.devices}


def signature(db: Session, site_id: int) -> int:
    """The site's device revision, asked once per batch: one row by primary key, on the
    DBAPI cursor (`db.fetch_raw`)."""
    rows = fetch_raw(db, "SELECT devices_rev FROM alarm_ingest_mark WHERE site_id = {p}",
                     (site_id,))
    return int(rows[0][0] or 0) if rows else 0


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
    index = CodeIndex((d.code, i) for i, d in enumerate(rows))
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
    seed_exposure(db, rt, store, now)
    rt.ledger.live = True


class CodeIndex(dict[str, int]):
    """Device code → device index; an unknown code is -1, so a batch's codes are looked up
    by `map(index.__getitem__, codes)` in C (a Python generator with `.get` took ~6 % of the
    worker thread at full load)."""

    def __missing__(self, code: str) -> int:
        return -1


SEED_EXACT_S = 16 * 60  # replayed reading by reading: the 15-min STEL window and the open minute
SEED_MAX_BYTES = 64 << 20  # segment files beyond this: the STEL window from roll-ups as well


def seed_exposure(db: Session, rt: SiteRuntime, store: SegmentStore, now: float) -> None:
    """The TWA dose since the site's current shift start and the STEL window, rebuilt into a
    fresh engine (a restart, a device edit) instead of starting at zero. Up to 16 min before
    `now`: the 1-minute roll-ups (database, and the ledger's not yet written), each fed to the
    engine as one reading of its mean at the minute's start; the last 16 min: the exact
    readings from the segment files. The engine integrates both as it integrates live readings
    (`AlarmEngine.seed_exposure`, raising nothing). Minute resolution: the rebuilt dose differs
    from the live one by at most one minute of the value at each change of level or gap, so a
    TWA raise comes within about a minute of its time without the restart (docs/alarms.md)."""
    eng = rt.engine
    ex, table = eng.state.exposure, eng.table
    start = shifts.latest_start(_starts(db, rt.site_id), now)
    # a TWA or STEL_BREACH raised in an earlier shift keeps that shift's start: the tick clears it
    old = ((ex.twa_active != 0.0) | ex.breach_active) & (ex.shift_start < start)
    sensors = np.flatnonzero((~np.isnan(table.twa_limit) | ~np.isnan(table.stel_limit))
                             & (ex.bucket < 0) & ~old)
    if not len(sensors):
        return
    ex.shift_start[sensors] = start
    cut = math.floor(now / 60.0) * 60.0 - SEED_EXACT_S
    hours = range(int(cut // 3600), int((now + C.MAX_FUTURE_S) // 3600) + 1)
    size = sum(p.stat().st_size for h in hours if (p := store.path(rt.site_id, h * 3600.0))
               .exists())
    cut = cut if size <= SEED_MAX_BYTES else math.inf
    i, m, mean = _minutes(db, rt, sensors, start - eng.max_hold_s, min(cut, now))
    before = m * 60.0 < start  # only the last of them counts, held into the shift
    last = np.flatnonzero(before & ~np.r_[before[1:] & (i[1:] == i[:-1]), False])
    eng.seed_exposure(i[last], m[last] * 60.0, mean[last])
    j, t, v = _exact(rt, store, sensors, cut, now)
    # within 16 min of the shift start the STEL window reaches into the last shift: those
    # readings go in first, then the dose restarts at the start (as reset_shift does live)
    pre = t < start
    _seed_sorted(eng, j[pre], t[pre], v[pre])
    lt, lv = ex.last_time[sensors], ex.last_value[sensors]
    held = np.clip(np.fmin(lt + eng.max_hold_s, start) - lt, 0.0, None)  # as reset_shift
    ex.dose[sensors] = -np.nan_to_num(lv * held)
    _seed_sorted(eng, np.r_[i[~before], j[~pre]], np.r_[m[~before] * 60.0, t[~pre]],
                 np.r_[mean[~before], v[~pre]])
    _seed_excursions(db, rt, sensors, start)


def _exact(rt: SiteRuntime, store: SegmentStore, sensors: np.ndarray, cut: float, now: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(device index, time, value) of the sensors' segment readings from `cut` on."""
    if cut == math.inf:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    rows = store.read(rt.site_id, cut, now + C.MAX_FUTURE_S + 1.0)
    k = np.array([rt.position.get(d, -1) for d in rows["device"].tolist()], np.int64)
    mine = np.isin(k, sensors)
    return k[mine], rows["t"][mine], rows["v"][mine]


def _seed_sorted(eng: AlarmEngine, j: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
    order = np.lexsort((t, j))
    eng.seed_exposure(j[order], t[order], v[order])


def _seed_excursions(db: Session, rt: SiteRuntime, sensors: np.ndarray, start: float) -> None:
    """The STEL excursion and breach counts and the last excursion's time since the shift
    start, from the durable trace of each excursion: its STEL occurrence, raised at the
    excursion's start (the engine's event time). Breaches leave none of their own; the engine
    derives them from those times by its rule (`AlarmEngine.seed_excursions`). A hidden
    (shelved, suppressed, out of service) occurrence takes later raises silently, so those
    excursions are not counted."""
    stel = sensors[~np.isnan(rt.engine.table.stel_limit[sensors])]
    if not len(stel):
        return
    got = db.execute(select(AlarmRecord.device_id, AlarmRecord.raised_at).where(
        AlarmRecord.device_id.in_(rt.device_ids[stel].tolist()), AlarmRecord.kind == "STEL",
        AlarmRecord.raised_at >= dt(start))).all()
    i = np.array([rt.position[r[0]] for r in got], np.int64)
    t = np.array([ts(r[1]) for r in got], np.float64)
    order = np.lexsort((t, i))
    rt.engine.seed_excursions(i[order], t[order])


def _minutes(db: Session, rt: SiteRuntime, sensors: np.ndarray, lo: float, hi: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(device index, minute, mean value) of the sensors' roll-ups in [lo, hi): the database's
    and the ledger's pending ones together, by device and minute."""
    ids = rt.device_ids[sensors].tolist()
    stmt = select(Rollup.device_id, Rollup.minute, Rollup.n, Rollup.vsum).where(
        Rollup.device_id.in_(ids), Rollup.minute >= dt(math.floor(lo / 60.0) * 60.0),
        Rollup.minute < dt(hi))
    got = db.execute(stmt).all()
    i = np.array([rt.position[r[0]] for r in got], np.int64)
    m = np.array([round(ts(r[1]) / 60.0) for r in got], np.int64)
    n = np.array([r[2] for r in got], np.float64)
    vsum = np.array([r[3] for r in got], np.float64)
    pending = [p for g in rt.ledger.rows for p in g]
    if pending:
        p = np.concatenate(pending)
        p = p[np.isin(p["dev"], sensors) & (p["minute"] * 60.0 >= math.floor(lo / 60.0) * 60.0)
              & (p["minute"] * 60.0 < hi)]
        i, m = np.r_[i, p["dev"]], np.r_[m, p["minute"]]
        n, vsum = np.r_[n, p["n"]], np.r_[vsum, p["vsum"]]
    key, inv = np.unique((i << 32) | m, return_inverse=True)
    total_n = np.bincount(inv, n, len(key))
    mean = np.bincount(inv, vsum, len(key)) / np.maximum(total_n, 1.0)
    return key >> 32, key & 0xFFFFFFFF, mean


def _starts(db: Session, site_id: int) -> tuple[str, ...]:
    got = db.scalar(select(EscalationPolicy.shift_starts).where(
        EscalationPolicy.site_id == site_id))
    return tuple(got) if got else C.DEFAULT_SHIFTS


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
        elif kind == "STEL":  # clears at the first minute whose 15-min mean is at the limit
            ex.stel_active[i] = True
        elif kind == "STEL_BREACH":  # as TWA: of its shift, cleared at the next shift start
            ex.breach_active[i] = True
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
