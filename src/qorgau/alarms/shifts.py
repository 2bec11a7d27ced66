"""Work shifts: when a site's exposure doses (TWA) and STEL excursion counts restart.

A site's shift starts are local wall-clock times ("HH:MM", `alarm_escalation.shift_starts`,
edited on the routing page; product default three 8-h shifts from 00:00). Kazakhstan keeps one
time zone, UTC+5, since 1 March 2024, without daylight saving (`routing.LOCAL_UTC_OFFSET`).

The worker's timer tick calls `reset_due` for each site's engine: every sensor whose shift
began before the latest start is reset, stamped at that start. So a tick resets once per
boundary, and a tick after a pause or a restart that missed one resets late, but once. What
the engine's shift start is after a rebuild: `runtime.build` (the build time, or the raise
time of a TWA occurrence still active in the database), then `runtime.seed_exposure` (the
latest start, with the dose since it rebuilt)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from qorgau.alarms.engine import EVENT_DTYPE, AlarmEngine
from qorgau.alarms.routing import LOCAL_UTC_OFFSET

_DAY_S = 86400.0


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def latest_start(starts: Sequence[str], now: float) -> float:
    """Unix time of the latest shift start at or before `now` (starts: local "HH:MM")."""
    off = LOCAL_UTC_OFFSET.total_seconds()
    local = now + off
    midnight = math.floor(local / _DAY_S) * _DAY_S
    best = -math.inf
    for s in starts:
        t = midnight + minutes(s) * 60.0
        best = max(best, t if t <= local else t - _DAY_S)
    return best - off


def reset_due(engine: AlarmEngine, starts: Sequence[str], now: float) -> np.ndarray:
    """Reset the sensors whose shift began before the latest start; their events (TWA
    clears, stamped at that start)."""
    at = latest_start(starts, now)
    due = np.flatnonzero(~(engine.state.exposure.shift_start >= at))  # NaN: never reset
    if not len(due):
        return np.empty(0, EVENT_DTYPE)
    return engine.reset_shift(at, due)
