"""The ledger's writes (`ledger.py`) — the roll-up upsert, the device counter update, the
site's mark — and a batch's duplicate/rejected counts, as one DBAPI statement each, on the
session's own connection and transaction.

A flush touches thousands of device rows; through SQLAlchemy's executemany each row cost
~20 µs of parameter processing (datetime binding above all). Here the columns go in as
arrays: PostgreSQL gets one `unnest(...)` statement (one round trip), SQLite one
`executemany` in C. Times are passed as SQLite's stored text form (what SQLAlchemy writes
for UTC datetimes) or as timestamptz on PostgreSQL."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy.orm import Session

from qorgau.core.db import fetch_raw, is_postgresql, raw_cursor

_PG_ROLLUP = """
INSERT INTO alarm_rollup (device_id, minute, enterprise_id, region_code, n, vmin, vmax, vsum,
                          vlast)
SELECT u.d, to_timestamp(u.m * 60), u.e, u.r, u.n, u.lo, u.hi, u.s, u.l
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[],
            %s::float8[], %s::float8[], %s::float8[], %s::float8[])
     AS u(d, m, e, r, n, lo, hi, s, l)
ON CONFLICT (device_id, minute) DO UPDATE SET
  n = alarm_rollup.n + excluded.n, vsum = alarm_rollup.vsum + excluded.vsum,
  vlast = excluded.vlast, vmin = least(alarm_rollup.vmin, excluded.vmin),
  vmax = greatest(alarm_rollup.vmax, excluded.vmax)"""

_LITE_ROLLUP = """
INSERT INTO alarm_rollup (device_id, minute, enterprise_id, region_code, n, vmin, vmax, vsum,
                          vlast) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (device_id, minute) DO UPDATE SET
  n = n + excluded.n, vsum = vsum + excluded.vsum, vlast = excluded.vlast,
  vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax)"""

_SET_LAST = "vlast = excluded.vlast"  # late readings keep the minute's last value instead

_PG_COUNTERS = """
UPDATE alarm_device AS a SET ledger_frame = coalesce(%s::bigint, a.ledger_frame),
  n_accepted = a.n_accepted + u.acc, last_seq = u.seq, seq_floor = u.floor, seq_window = u.win,
  last_seen_at = coalesce('epoch'::timestamptz + u.seen * interval '1 microsecond',
                          a.last_seen_at),
  last_value = coalesce(u.val, a.last_value)
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bytea[],
            %s::bigint[], %s::float8[])
     AS u(id, acc, seq, floor, win, seen, val)
WHERE a.id = u.id"""

_LITE_COUNTERS = """
UPDATE alarm_device SET ledger_frame = coalesce(?, ledger_frame),
  n_accepted = n_accepted + ?, last_seq = ?, seq_floor = ?,
  seq_window = ?, last_seen_at = coalesce(?, last_seen_at),
  last_value = coalesce(?, last_value) WHERE id = ?"""

_PG_REJECTS = """
UPDATE alarm_device AS a SET n_duplicate = a.n_duplicate + u.dup,
  n_rejected = a.n_rejected + u.rej
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(id, dup, rej) WHERE a.id = u.id"""

_LITE_REJECTS = """
UPDATE alarm_device SET n_duplicate = n_duplicate + ?, n_rejected = n_rejected + ?
WHERE id = ?"""

_MARK = """
UPDATE alarm_ingest_mark SET committed_frame = {p}, replay_from = {p}, tail = {p}{json},
  owner_until = {p}
WHERE site_id = {p} AND owner = {p}"""

_CLAIM = """
INSERT INTO alarm_ingest_mark (site_id, committed_frame, tail, devices_rev, owner,
                               owner_until)
VALUES ({p}, 0, '{{}}', 0, {p}, {p})
ON CONFLICT (site_id) DO UPDATE SET owner = excluded.owner, owner_until = excluded.owner_until
WHERE alarm_ingest_mark.owner IS NULL OR alarm_ingest_mark.owner = excluded.owner
   OR alarm_ingest_mark.owner_until < {p}
RETURNING site_id"""

_RELEASE = """
UPDATE alarm_ingest_mark SET owner = NULL, owner_until = NULL
WHERE site_id = {p} AND owner = {p}"""


_SITE = """
SELECT s.id, s.enterprise_id, s.region_code, s.kind, s.name, s.lon, s.lat, s.zones,
       m.devices_rev
FROM site s LEFT JOIN alarm_ingest_mark m ON m.site_id = s.id
WHERE s.id = {p}"""
SITE_COLUMNS = ("id", "enterprise_id", "region_code", "kind", "name", "lon", "lat", "zones")


def site_row(db: Session, site_id: int) -> tuple[dict[str, object], int] | None:
    """A batch's site (its columns the ingest reads) and its device revision
    (`runtime.signature`) in one read on the DBAPI cursor: through SQLAlchemy the two took
    ~1.9 ms of every batch on a slow boot of the VM, on the cursor ~0.03 ms."""
    rows = fetch_raw(db, _SITE, (site_id,))
    if not rows:
        return None
    row = rows[0]
    values = dict(zip(SITE_COLUMNS, row[:-1], strict=True))
    if isinstance(values["zones"], str):  # SQLite's JSON text (psycopg decodes json)
        values["zones"] = json.loads(values["zones"])
    return values, int(row[-1] or 0)


def _sql(db: Session, template: str) -> str:
    """A mark statement for the session's database: its placeholder and JSON cast."""
    pg = is_postgresql(db)
    return template.format(p="%s" if pg else "?", json="::json" if pg else "")


def micros(t: np.ndarray) -> np.ndarray:
    """Epoch seconds → integer microseconds, rounded exactly as `datetime.fromtimestamp`
    rounds (fractional part × 10^6, half to even), so stored times match the ORM path."""
    t = np.asarray(t, np.float64)
    whole = np.trunc(t)
    return whole.astype(np.int64) * 1_000_000 + np.rint((t - whole) * 1e6).astype(np.int64)


def lite_time(t: np.ndarray) -> list[str]:
    """Epoch seconds → SQLite's stored form of a UTC datetime ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    us = micros(t).astype("datetime64[us]")
    return [s.replace("T", " ") for s in np.datetime_as_string(us, unit="us").tolist()]


def upsert_rollups(db: Session, *, device: np.ndarray, minute: np.ndarray,
                   enterprise: list[int], region: list[str], n: np.ndarray, vmin: np.ndarray,
                   vmax: np.ndarray, vsum: np.ndarray, vlast: np.ndarray,
                   keep_last: bool = False) -> None:
    cols = [device.tolist(), minute.tolist(), enterprise, region, n.tolist(), vmin.tolist(),
            vmax.tolist(), vsum.tolist(), vlast.tolist()]
    if is_postgresql(db):
        with raw_cursor(db) as cur:
            cur.execute(_PG_ROLLUP.replace(_SET_LAST, "vlast = alarm_rollup.vlast")
                        if keep_last else _PG_ROLLUP, cols)
        return
    stamps = dict(zip(np.unique(minute).tolist(),
                      lite_time(np.unique(minute) * 60.0), strict=True))
    cols[1] = [stamps[m] for m in cols[1]]
    with raw_cursor(db) as cur:
        cur.executemany(_LITE_ROLLUP.replace(_SET_LAST, "vlast = vlast") if keep_last
                        else _LITE_ROLLUP, list(zip(*cols, strict=True)))


def update_counters(db: Session, *, ids: list[int], accepted: list[int], last_seq: list[int],
                    floor: list[int], window: list[bytes | None], seen: list[float | None],
                    value: list[float | None], frame: int | None = None) -> None:
    """Accepted counts, the dedup window (`order.SeqWindow`) and the last reading of the
    ledger's devices; `frame`: the owner's last frame they now include (None: a guest's
    counts, which no replay takes: the stored frame stays)."""
    known = [k for k, s in enumerate(seen) if s is not None]
    at = np.array([seen[k] for k in known], np.float64)
    stamps: list = [None] * len(seen)
    pg = is_postgresql(db)
    for k, s in zip(known, micros(at).tolist() if pg else lite_time(at), strict=True):
        stamps[k] = s
    with raw_cursor(db) as cur:
        if pg:
            cur.execute(_PG_COUNTERS, [frame, ids, accepted, last_seq, floor, window, stamps,
                                       value])
        else:
            cur.executemany(_LITE_COUNTERS, list(zip(
                [frame] * len(ids), accepted, last_seq, floor, window, stamps, value, ids,
                strict=True)))


def add_rejects(db: Session, *, ids: list[int], duplicate: list[int],
                rejected: list[int]) -> None:
    """A batch's duplicate and rejected counts (not in the segment frames, so not left to
    the ledger)."""
    if not ids:
        return
    with raw_cursor(db) as cur:
        if is_postgresql(db):
            cur.execute(_PG_REJECTS, [ids, duplicate, rejected])
        else:
            cur.executemany(_LITE_REJECTS, list(zip(duplicate, rejected, ids, strict=True)))


def write_mark(db: Session, *, site_id: int, owner: str | None, committed: int,
               replay_from: int | None, tail: dict[str, int], until: float) -> bool:
    """The owner's mark with its lease renewed; False if the site is not (any more) ours."""
    with raw_cursor(db) as cur:
        cur.execute(_sql(db, _MARK), (committed, replay_from, json.dumps(tail), until,
                                      site_id, owner))
        return cur.rowcount == 1


def release(db: Session, *, site_id: int, owner: str) -> None:
    """Give the site's ledger back (a clean stop, everything written)."""
    with raw_cursor(db) as cur:
        cur.execute(_sql(db, _RELEASE), (site_id, owner))


def claim(db: Session, *, site_id: int, owner: str, now: float, until: float) -> bool:
    """Take the site's ledger when it is free, ours, or its owner's lease ran out."""
    with raw_cursor(db) as cur:
        cur.execute(_sql(db, _CLAIM), (site_id, owner, until, now))
        return cur.fetchone() is not None
