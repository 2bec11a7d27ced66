"""Danger signal: the first word of a life-safety excursion, ahead of the alarm record.

A reading of a life-safety device at or beyond its danger limit (high-high, or low-low for
oxygen) is announced on the live hub the moment its message arrives, before dedup, storage,
the engine and the database, so the console sounds within milliseconds even while the worker
is busy with a bulk group. It is a signal, not the alarm: the ISA-18.2 occurrence (its record,
acknowledgement, escalation, withdrawal, delivery) still comes from the engine after the
commit, and the console shows it in place of the signal (docs/alarms.md, "Danger signal").

The check mirrors the engine's limit rule (raise at the limit, clear beyond the deadband) for
devices without an on-delay; a device with an on-delay is announced by the engine only (the
delay needs the engine's state). One signal per excursion: a latch per device set on the
signal, cleared when a newer reading is back inside the deadband; latches start set for
devices with an active HIHI/LOLO occurrence, so a restart does not re-announce standing alarms.
Readings older than the device's latest screened one, non-finite values and times outside the
ingest window are not announced (the engine decides about those)."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Any

from qorgau.alarms import constants as C
from qorgau.alarms.ingest.core import METRICS
from qorgau.alarms.ingest.parse import Columns, Rows, Typed, site_of

log = logging.getLogger("qorgau.alarms.danger")
DANGER_KINDS = ("HIHI", "LOLO")
_CODE = attrgetter("d")


@dataclass(frozen=True, slots=True)
class Watched:
    """A life-safety device's danger limits (NaN: none); `screen` is False with an on-delay."""

    quantity: str
    zone: str
    highhigh: float
    lowlow: float
    deadband: float
    screen: bool
    enterprise_id: int
    region_code: str


@dataclass(slots=True)
class _Latch:
    on: bool = False
    last_t: float = -math.inf


class DangerWatch:
    """Per site: the life-safety devices (refreshed every `ttl_s` from the database) and one
    latch per device. `watch(site, code)` answers "is it a life-safety device" (the MQTT
    priority lane); `screen(site, doc)` announces danger readings of a decoded message.
    Thread-safe."""

    def __init__(self, ttl_s: float = 30.0, publish: Any = None) -> None:
        self.ttl_s = ttl_s
        self._sites: dict[int, tuple[float, dict[str, Watched]]] = {}
        self._latches: dict[tuple[int, str], _Latch] = {}
        self._refreshing: set[int] = set()
        self._lock = threading.Lock()
        self._publish = publish

    def __call__(self, site_id: int, code: str) -> bool:
        return code in self.devices(site_id)

    def devices(self, site_id: int) -> dict[str, Watched]:
        """The site's life-safety devices: loaded on first use, then refreshed in the
        background when older than `ttl_s` (the network thread never waits for the database
        once a site is known)."""
        got = self._sites.get(site_id)
        if got is None:
            return self._refresh(site_id)
        if time.monotonic() - got[0] > self.ttl_s and site_id not in self._refreshing:
            self._refreshing.add(site_id)
            threading.Thread(target=self._refresh, args=(site_id,), daemon=True).start()
        return got[1]

    def _refresh(self, site_id: int) -> dict[str, Watched]:
        got = self._sites.get(site_id)
        try:
            devices, active = _load(site_id)
        except Exception as exc:  # the engine still raises; the lanes still take messages
            log.warning("life-safety devices of site %s: %s", site_id, exc)
            if got is None:  # retried after ttl_s in the background, not on every message
                self._sites[site_id] = got = (time.monotonic(), {})
            return got[1]
        finally:
            self._refreshing.discard(site_id)
        with self._lock:
            for code in active:  # a standing alarm: no new signal until it clears
                self._latches.setdefault((site_id, code), _Latch(on=True))
            self._sites[site_id] = (time.monotonic(), devices)
        return devices

    def screen(self, site_id: int, doc: Any, now: float | None = None) -> int:
        """Announce the danger readings of one decoded message; returns how many."""
        watched = self.devices(site_id)
        if not watched or not isinstance(doc, dict | Typed):
            return 0
        now = time.time() if now is None else now
        try:
            rows = _rows(doc, watched)
        except (TypeError, ValueError, AttributeError, OverflowError):  # the parser rejects it
            METRICS.counts["danger_screen_skipped"] += 1
            return 0
        sent = 0
        for code, t, v in rows:
            w = watched[code]
            if not w.screen or not (now - C.MAX_PAST_S <= t <= now + C.MAX_FUTURE_S):
                continue
            kind = self._step(site_id, code, w, t, v)
            if kind is not None:
                self._announce(site_id, code, w, kind, t, v)
                sent += 1
        return sent

    def _step(self, site_id: int, code: str, w: Watched, t: float, v: float) -> str | None:
        """The latch's transition for one reading: the kind to announce, or None."""
        with self._lock:
            latch = self._latches.setdefault((site_id, code), _Latch())
            if t < latch.last_t:  # equal times: message order, as the engine takes them
                return None
            latch.last_t = t
            kind = "HIHI" if v >= w.highhigh else "LOLO" if v <= w.lowlow else None
            if kind is not None:
                fire, latch.on = not latch.on, True
                return kind if fire else None
            inside = not (v >= w.highhigh - w.deadband) and not (v <= w.lowlow + w.deadband)
            if inside:
                latch.on = False
            return None

    def _announce(self, site_id: int, code: str, w: Watched, kind: str, t: float, v: float) -> None:
        limit = w.highhigh if kind == "HIHI" else w.lowlow
        sign = "≥" if kind == "HIHI" else "≤"
        zone = f" ({w.zone})" if w.zone else ""
        message = {
            "type": "danger",
            "device": code,
            "kind": kind,
            "quantity": w.quantity,
            "value": v,
            "limit": limit,
            "t": t,
            "zone": w.zone,
            "life_safety": True,
            "enterprise_id": w.enterprise_id,
            "region_code": w.region_code,
            "message": f"{code}{zone}: {w.quantity} {v:g} {sign} {limit:g}",
        }
        publish = self._publish
        if publish is None:
            from qorgau.alarms.notify import HUB

            publish = HUB.publish
        publish(site_id, message)
        METRICS.counts["danger_signals"] += 1


def _rows(doc: dict | Typed, watched: dict[str, Watched]) -> list[tuple[str, float, float]]:
    """(code, t, v) of the watched devices' finite value readings, in message order; rows
    that are not well formed are left to the parser (it dead-letters them). A message with
    none of the watched codes (most site batches) is passed over by set operations in C,
    without a Python step per reading: this runs in the receiving thread, under the GIL the
    worker needs."""
    if isinstance(doc, Rows):  # well formed as decoded
        if watched.keys().isdisjoint(map(_CODE, doc.readings)):
            return []
        return [(r.d, r.t, r.v) for r in doc.readings if r.d in watched]
    if isinstance(doc, Columns):  # typed as decoded; unequal lengths are the parser's to refuse
        if watched.keys().isdisjoint(doc.d):
            return []
        return [(c, t, v) for c, t, v in zip(doc.d, doc.t, doc.v, strict=False) if c in watched]
    rows = doc.get("readings")
    if isinstance(rows, list):
        try:
            codes = map(dict.get, rows, repeat("d"))
            if watched.keys().isdisjoint(codes):
                return []
        except TypeError:  # a row that is not an object (the parser rejects it)
            pass
        cols: Any = ((r.get("d"), r.get("t"), r.get("v")) for r in rows if isinstance(r, dict))
    elif isinstance(doc.get("d"), list) and isinstance(doc.get("v"), list):
        if watched.keys().isdisjoint(c for c in doc["d"] if isinstance(c, str)):
            return []
        cols = zip(doc["d"], doc.get("t") or [], doc["v"], strict=False)
    else:
        return []
    return [(code, float(t), float(v)) for code, t, v in cols
            if isinstance(code, str) and code in watched and _num(t) and _num(v)]


def _num(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int beyond float: the parser rejects it
        return False


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _load(site_id: int) -> tuple[dict[str, Watched], list[str]]:
    from sqlalchemy import select

    from qorgau.alarms.models import AlarmRecord, Device
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        rows = db.scalars(
            select(Device).where(
                Device.site_id == site_id, Device.life_safety.is_(True), Device.enabled.is_(True)
            )
        )
        devices = {d.code: _watched(d) for d in rows}
        active = db.scalars(
            select(Device.code)
            .join(AlarmRecord, AlarmRecord.device_id == Device.id)
            .where(
                Device.site_id == site_id,
                AlarmRecord.active.is_(True),
                AlarmRecord.kind.in_(DANGER_KINDS),
            )
        ).all()
    return devices, list(active)


def _watched(d: Any) -> Watched:
    lim = d.limits or {}
    return Watched(
        quantity=d.quantity,
        zone=d.zone_code or "",
        highhigh=_f(lim.get("highhigh")),
        lowlow=_f(lim.get("lowlow")),
        deadband=_f(lim.get("deadband") or 0.0),
        screen=not _f(lim.get("on_delay_s") or 0.0) > 0,
        enterprise_id=d.enterprise_id,
        region_code=d.region_code,
    )


WATCH = DangerWatch()  # shared by the transports of this process


def screen(site_id: int | None, doc: Any) -> int:
    """Screen a decoded message with the process's watch; the site is the transport's (topic,
    subject, gateway) or, for a system account, the message's own `site_id`."""
    if site_id is None:
        site_id = site_of(doc)
    if not isinstance(site_id, int) or isinstance(site_id, bool):
        return 0
    return WATCH.screen(site_id, doc)
