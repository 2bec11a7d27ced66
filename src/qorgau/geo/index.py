"""Building the PointIndex from the enterprise table and keeping it fresh, one per process
(and per database URL, so tests that switch backends never see another database's points).

Build: one SELECT of the needed enterprise columns, fetched in one go into numpy columns
(≈ 1 s for 500 K rows), plus one call per available flag layer and the risk sources.

Freshness (docs/map.md): at most every `CHECK_SECONDS` a request reads `audit_head.seq` (one
row). When it moved, one indexed range query over `audit_entry.seq > built_seq` asks whether any
of the new entries concern an enterprise; only then is the index rebuilt. Every write to the
registry is audited, so this catches creates, revisions and feed upserts without scanning the
table. Layer flags come from other domains whose writes are not all enterprise-typed, so the
whole index is also rebuilt after `FLAG_TTL_SECONDS`. A rebuild runs in a background thread
while requests keep using the previous index (an atomic reference swap); only the very first
build of a process is synchronous.

Steps elsewhere: geo/columns.py reads the columns, risk and layer flags; geo/delta.py applies
a delta; geo/snapshot.py is the `Snapshot` kept here; geo/store.py the copy on disk.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core.audit import AuditEntry, AuditHead
from qorgau.core.db import get_sessionmaker
from qorgau.geo import store
from qorgau.geo.cluster import PointIndex
from qorgau.geo.columns import _REGION_NUM, RISK_SCORES, _columns, _flags, _risk, bin_lookup
from qorgau.geo.delta import _changed_ids, apply_delta
from qorgau.geo.layers import flag_layers, resolve
from qorgau.geo.snapshot import Snapshot

log = logging.getLogger("qorgau.geo")

CHECK_SECONDS = 2.0
FLAG_TTL_SECONDS = 300.0
BACKGROUND = True  # tests set False to rebuild synchronously
SCORES_IN_CHILD = True  # background builds compute inspections' scores in a child process
PERSIST = True  # keep full builds on disk for the next process (geo/store.py)


def _audit_seq(db: Session) -> int:
    return int(db.scalar(select(func.max(AuditHead.seq))) or 0)


def _enterprise_written_since(db: Session, seq: int) -> bool:
    stmt = (
        select(AuditEntry.seq)
        .where(AuditEntry.seq > seq, AuditEntry.object_type == "enterprise")
        .limit(1)
    )
    return db.scalar(stmt) is not None


def build(db: Session, *, scores: bool = True, child: bool = False) -> Snapshot:
    """`scores=False`: registry proxy only (inspections' explainable scores cost ≈ 10 µs per
    enterprise in Python); used for a process's first build so the map answers at once, and
    followed by a full build in the background."""
    t0 = time.perf_counter()
    seq = _audit_seq(db)
    stamp = store.data_stamp(db)
    cols = _columns(db)
    score, band, source = _risk(db, cols, scores=scores, child=child)
    flags, errors = _flags(db, cols["ids"])
    index = PointIndex.from_arrays(
        ids=cols["ids"],
        lon=cols["lon"],
        lat=cols["lat"],
        region=cols["region"],
        section=cols["section"],
        division=cols["division"],
        size=cols["size"],
        hazardous=cols["hazardous"],
        risk_band=band,
        risk_score=score,
        flags=flags,
    )
    seconds = time.perf_counter() - t0
    log.info("map index built: %d points in %.2f s (risk: %s)", len(index), seconds, source)
    now = time.monotonic()
    region_of = {n: code for code, n in _REGION_NUM.items()}
    found = bin_lookup(cols["ids"], cols["bin"])
    return Snapshot(
        index,
        seq,
        now,
        seconds,
        region_of,
        cols["ids"],
        score,
        band,
        cols["region"],
        errors,
        source,
        now,
        stamp,
        *(found or (None, None)),
    )


def _registered_flags() -> list[str]:
    return [la.name for la in flag_layers()]


def persist(db: Session, snap: Snapshot, *, background: bool = False) -> None:
    """Save a full build (never the quick one without inspections' scores) or a delta on one
    (`background`: in a thread, so the request that applied it does not wait for the file)."""
    if not PERSIST or "pending" in snap.risk_source:
        return
    path = store.path_for(db)
    if background:
        threading.Thread(target=_save, args=(path, snap), name="map-index-save").start()
    else:
        _save(path, snap)


def _save(path: Any, snap: Snapshot) -> None:
    try:
        store.save(
            path,
            columns=snap.index.columns,
            snapshot={
                "ids": snap.ids,
                "score": snap.score,
                "band": snap.band,
                "region": snap.region,
                **({} if snap.bins is None else {"bins": snap.bins, "bin_ids": snap.bin_ids}),
            },
            meta={
                "seq": snap.seq,
                "stamp": snap.stamp,
                "flag_names": list(snap.index.flag_names),
                "layers": _registered_flags(),
                "layer_errors": snap.layer_errors,
                "risk_source": snap.risk_source,
                "seconds": snap.seconds,
                "saved_at": time.time() - (time.monotonic() - snap.built),
            },
        )
    except OSError:  # a read-only var dir costs the next process a rebuild, nothing else
        log.warning("could not save the map index", exc_info=True)


def load_persisted(db: Session) -> Snapshot | None:
    """The saved index when it still describes this database (geo/store.py), else None."""
    if not PERSIST:
        return None
    t0 = time.perf_counter()
    found = store.load(store.path_for(db))
    if found is None:
        return None
    cols, arrays, meta = found
    if meta.get("layers") != _registered_flags():
        return None
    seq = int(meta["seq"])
    index = PointIndex.from_columns(cols, meta["flag_names"])
    now = time.monotonic()
    log.info(
        "map index loaded from disk: %d points in %.2f s", len(index), time.perf_counter() - t0
    )
    snap = Snapshot(
        index,
        seq,
        now - store.age_seconds(meta),  # flags keep ageing towards FLAG_TTL_SECONDS
        float(meta.get("seconds", 0.0)),
        {n: code for code, n in _REGION_NUM.items()},
        arrays["ids"],
        arrays["score"],
        arrays["band"],
        arrays["region"],
        dict(meta.get("layer_errors", {})),
        str(meta.get("risk_source", "registry")),
        now,
        dict(meta["stamp"]),
        arrays.get("bins"),
        arrays.get("bin_ids"),
    )
    stamp = store.data_stamp(db)
    if meta.get("stamp") == stamp and not _enterprise_written_since(db, seq):
        return snap
    new = caught_up(db, snap, stamp)  # enterprises changed since the save: a delta
    if new is not None:
        persist(db, new, background=True)  # the next start need not apply it again
    return new


def caught_up(db: Session, snap: Snapshot, stamp: dict[str, int] | None = None) -> Snapshot | None:
    """`snap` with the enterprises changed since its audit sequence applied as a delta, or
    None when a delta cannot describe the change (too many, or the table's count / highest id
    disagree afterwards: rows written without the audit log) and a full build is needed.
    `stamp` read before the delta is as good as one read after it: a registry write in
    between makes them disagree either way, and then the full build follows."""
    stamp = stamp or store.data_stamp(db)
    upto = _audit_seq(db)
    changed = _changed_ids(db, snap.seq, upto)
    if changed is None:
        return None
    new = apply_delta(db, snap, changed, upto, stamp)
    top = int(new.ids[-1]) if len(new.ids) else 0
    if new.stamp != {"enterprises": len(new.ids), "max_id": top}:
        log.info("map index delta does not match the table (%s); building in full", new.stamp)
        return None
    return new


class _Cache:
    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.lock = threading.Lock()
        self.building: set[str] = set()
        self.catching_up: set[str] = set()


_cache = _Cache()


def _key(db: Session) -> str:
    return str(db.get_bind().url)


def invalidate() -> None:
    """Forget every cached index, in memory and on disk (tests, admin tools); the next
    request rebuilds."""
    with _cache.lock:
        _cache.snapshots.clear()
        store.remove_all()


def _rebuild_async(key: str) -> None:
    with _cache.lock:
        if key in _cache.building:
            return
        _cache.building.add(key)

    def run() -> None:
        try:
            with get_sessionmaker()() as db:
                snap = _cache.snapshots[key] = build(db, child=SCORES_IN_CHILD)
                persist(db, snap)
        except Exception:
            log.exception("map index rebuild failed; keeping the previous one")
        finally:
            _cache.building.discard(key)

    threading.Thread(target=run, name="map-index", daemon=True).start()


def _catch_up_async(key: str) -> None:
    """Apply the enterprises changed since the current snapshot as a delta (≈ 0.5 s for
    500 K) in a background thread; a full build only when a delta cannot describe it."""
    with _cache.lock:
        if key in _cache.catching_up:
            return
        _cache.catching_up.add(key)

    def run() -> None:
        new = None
        try:
            with get_sessionmaker()() as db:
                snap = _cache.snapshots.get(key)
                new = caught_up(db, snap) if snap is not None else None
                if new is not None:
                    _cache.snapshots[key] = new
        except Exception:
            log.exception("map index delta failed; building in full")
        finally:
            _cache.catching_up.discard(key)
        if new is None:
            _rebuild_async(key)

    threading.Thread(target=run, name="map-index-delta", daemon=True).start()


def _stale(db: Snapshot, session: Session) -> str:
    """Why the snapshot needs work: "flags" (TTL), "enterprises" (registry written) or ""."""
    now = time.monotonic()
    if now - db.built > FLAG_TTL_SECONDS:
        return "flags"
    seq = _audit_seq(session)
    if seq == db.seq:
        return ""
    if _enterprise_written_since(session, db.seq):
        return "enterprises"
    db.seq = seq  # other domains wrote: nothing to do for the registry columns
    return ""


def get_snapshot(db: Session) -> Snapshot:
    """The current index for this database, building or refreshing it as documented above."""
    key = _key(db)
    snap = _cache.snapshots.get(key)
    quick = False
    if snap is None:
        with _cache.lock:
            snap = _cache.snapshots.get(key)
            if snap is None:
                snap = load_persisted(db)
            if snap is not None:
                _cache.snapshots[key] = snap
            else:
                quick = BACKGROUND and resolve(RISK_SCORES) is not None
                snap = _cache.snapshots[key] = build(db, scores=not quick)
                if quick:
                    snap.risk_source += " (scores pending)"
                else:
                    persist(db, snap)
        if quick:
            _rebuild_async(key)
        return snap
    now = time.monotonic()
    if now - snap.checked >= CHECK_SECONDS:
        snap.checked = now
        why = _stale(snap, db)
        if why:
            if BACKGROUND:
                (_catch_up_async if why == "enterprises" else _rebuild_async)(key)
            else:
                snap = _cache.snapshots[key] = build(db)
                persist(db, snap)
    return snap


def stats() -> dict[str, Any]:
    return {
        key.split("@")[-1]: {"points": len(s.index), "build_s": round(s.seconds, 3)}
        for key, s in _cache.snapshots.items()
    }
