"""Catching a map index up with the registry without a full build: the enterprises named by
audit entries since the snapshot's sequence are re-read and merged into a new snapshot
(geo/index.py decides when; docs/map.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core.audit import AuditEntry
from qorgau.geo.columns import _assessed, _columns, band_of, bin_lookup, registry_risk
from qorgau.geo.snapshot import Snapshot

log = logging.getLogger("qorgau.geo")

DELTA_MAX = 20_000  # more changed enterprises since the last build: build in full instead


def _changed_ids(db: Session, after: int, upto: int) -> list[int] | None:
    """Enterprises named by audit entries in (after, upto]: every registry write (create,
    revision, feed upsert) is audited with the enterprise id. None = too many for a delta."""
    stmt = (
        select(AuditEntry.object_id)
        .where(
            AuditEntry.seq > after,
            AuditEntry.seq <= upto,
            AuditEntry.object_type == "enterprise",
        )
        .distinct()
        .limit(DELTA_MAX + 1)
    )
    raw = list(db.scalars(stmt))
    if len(raw) > DELTA_MAX or not all(r.isdecimal() for r in raw):
        return None
    return sorted({int(r) for r in raw})


def _merge_sorted(old_ids: np.ndarray, drop: np.ndarray, new_ids: np.ndarray, *pairs: Any):
    """Rows of the id-sorted arrays without `drop`, plus new rows, sorted by id again.
    `pairs` = (old array, new array) aligned with old_ids / new_ids."""
    keep = ~np.isin(old_ids, drop)
    ids = np.concatenate([old_ids[keep], new_ids])
    order = np.argsort(ids, kind="stable")
    return ids[order], [np.concatenate([old[keep], new])[order] for old, new in pairs]


def apply_delta(
    db: Session, snap: Snapshot, changed: Sequence[int], seq: int, stamp: dict[str, int]
) -> Snapshot:
    """A new snapshot with the `changed` enterprises re-read from the table (removed when
    gone). Their layer flags and inspections' scores are the old snapshot's (a new
    enterprise: none, registry proxy score) until the next full build (the FLAG_TTL_SECONDS
    refresh); signed assessments are asked for the changed ones. ≈ 0.3 s for 500 K."""
    t0 = time.perf_counter()
    wanted = np.asarray(changed, np.int64)
    cols = _columns(db, changed)
    new_ids = cols["ids"]
    score = registry_risk(cols)
    if snap.risk_source.startswith("inspections") and len(snap.ids) and len(new_ids):
        # inspections' scores are facts of that domain, not of the registry row: keep them
        pos = np.minimum(np.searchsorted(snap.ids, new_ids), len(snap.ids) - 1)
        known = snap.ids[pos] == new_ids
        score[known] = snap.score[pos[known]]
    band, _ = _assessed(db, new_ids, band_of(score), changed)
    upsert = {
        "ids": new_ids,
        **{k: cols[k] for k in ("lon", "lat", "region", "section", "division", "size")},
        "hazardous": cols["hazardous"],
        "risk_band": band,
        "risk_score": score,
        "flags": snap.index.flags_of(new_ids),
    }
    gone = np.setdiff1d(wanted, new_ids)
    index = snap.index.updated(upsert=upsert, delete_ids=gone)
    ids, (score_all, band_all, region_all) = _merge_sorted(
        snap.ids,
        wanted,
        new_ids,
        (snap.score, score),
        (snap.band, band),
        (snap.region, cols["region"]),
    )
    bins = bin_ids = None
    if snap.bins is not None and snap.bin_ids is not None and cols["bin"] is not None:
        keep = ~np.isin(snap.bin_ids, wanted)
        found = bin_lookup(
            np.concatenate([snap.bin_ids[keep], new_ids]),
            np.concatenate([snap.bins[keep], cols["bin"]]),
        )
        bins, bin_ids = found if found is not None else (None, None)
    now = time.monotonic()
    seconds = time.perf_counter() - t0
    log.info(
        "map index delta: %d enterprises changed, %d removed, in %.2f s",
        len(new_ids),
        len(gone),
        seconds,
    )
    return Snapshot(
        index,
        seq,
        snap.built,  # flags and scores keep ageing from the last full build
        seconds,
        snap.region_of,
        ids,
        score_all,
        band_all,
        region_all,
        dict(snap.layer_errors),
        snap.risk_source,
        now,
        stamp,
        bins,
        bin_ids,
    )
