"""The built map index kept on disk between processes, so a restarted server answers the map
at once instead of re-reading 500 K enterprises and re-running every layer provider.

One uncompressed `.npz` per database (file name = digest of the URL without password) under
`<var_dir>/map-index/`: the index's columns, the snapshot's id-aligned risk arrays and a JSON
`meta` entry. A file is used only when it was written by this format, for the same registered
flag layers, and its data stamp still matches the database: the number of enterprises and the
highest enterprise id (catches bulk loads that bypass the audit log) — the caller also checks
that no `enterprise` audit entry was written after the saved audit sequence. Flags from other
domains age as they do in a running process: the saved wall-clock build time counts towards
the 300 s refresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core.config import get_settings
from qorgau.registry.models import Enterprise

log = logging.getLogger("qorgau.geo")

FORMAT = 2  # 2: attributes packed into one uint32 column "word" (was "attrs", n × 6 uint8)
DIR_NAME = "map-index"
_META = "meta"
_SNAP_PREFIX = "snap_"  # snapshot arrays beside the index columns


def directory() -> Path:
    return Path(get_settings().var_dir) / DIR_NAME


def path_for(db: Session) -> Path:
    url = db.get_bind().url.render_as_string(hide_password=True)
    return directory() / f"{hashlib.sha256(url.encode()).hexdigest()[:20]}.npz"


def data_stamp(db: Session) -> dict[str, int]:
    """Cheap facts that change when enterprises are added or removed (one aggregate query)."""
    n, top = db.execute(select(func.count(Enterprise.id), func.max(Enterprise.id))).one()
    return {"enterprises": int(n or 0), "max_id": int(top or 0)}


def save(
    path: Path,
    *,
    columns: dict[str, np.ndarray],
    snapshot: dict[str, np.ndarray],
    meta: dict[str, Any],
) -> None:
    """Write atomically (temporary file, then rename): readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    body = {**columns, **{_SNAP_PREFIX + k: v for k, v in snapshot.items()}}
    body[_META] = np.frombuffer(json.dumps({**meta, "format": FORMAT}).encode(), np.uint8)
    with open(tmp, "wb") as fh:
        np.savez(fh, **body)
    os.replace(tmp, path)


def load(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]] | None:
    """(index columns, snapshot arrays, meta), or None when absent, unreadable or another
    format. Arrays are read in full (no memory map: the file may be replaced meanwhile)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z[_META]).decode())
            if meta.get("format") != FORMAT:
                return None
            cols, snap = {}, {}
            for name in z.files:
                if name == _META:
                    continue
                if name.startswith(_SNAP_PREFIX):
                    snap[name[len(_SNAP_PREFIX) :]] = z[name]
                else:
                    cols[name] = z[name]
    except Exception:  # a damaged file is rebuilt, never trusted
        log.warning("map index file %s unreadable; rebuilding", path, exc_info=True)
        return None
    return cols, snap, meta


def age_seconds(meta: dict[str, Any]) -> float:
    return max(0.0, time.time() - float(meta.get("saved_at", 0.0)))


def remove_all() -> None:
    """Forget every saved index of this var dir (tests, admin tools)."""
    folder = directory()
    if folder.is_dir():
        for p in folder.glob("*.npz"):
            p.unlink(missing_ok=True)
