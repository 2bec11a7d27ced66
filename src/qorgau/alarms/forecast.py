# ruff: noqa: E741 - I, S, T, V, E: the engine's column names (index, seq, time, value, event)
"""Predictive methane warning on ingest: per CH4 device, a Theil–Sen trend over the last 3 min,
refitted every 10 s; "predicted to reach 1 % within N minutes" raises a FORECAST warning
alarm (priority 2, not life-safety), which clears when the prediction no longer holds."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from qorgau.alarms import records
from qorgau.alarms.dispatch import Notice
from qorgau.alarms.engine import theil_sen
from qorgau.alarms.ingest.runtime import (
    FORECAST_HORIZON_S,
    FORECAST_STEP_S,
    FORECAST_WINDOW_S,
    Forecast,
    SiteRuntime,
)

MIN_POINTS = 12


def on_readings(db: Session, rt: SiteRuntime, I: np.ndarray, T: np.ndarray, V: np.ndarray,
                res) -> list[Notice]:
    out: list[Notice] = []
    if not rt.forecasts or len(I) == 0:
        return out
    # the methane detectors' readings only (a loop over every device of a 20,000-reading group
    # took ~0.8 ms), then device by device (stable: each in its own order), one sort for all
    sel = np.flatnonzero(rt.forecasted[I])
    if not len(sel):
        return out
    I, T, V = I[sel], T[sel], V[sel]
    order = np.argsort(I, kind="stable")
    cuts = np.flatnonzero(np.diff(I[order])) + 1
    for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(I)].tolist(), strict=True):
        j = int(I[order[lo]])
        fc = rt.forecasts.get(j)
        if fc is not None:
            _device(db, rt, j, fc, T[order[lo:hi]].tolist(), V[order[lo:hi]].tolist(), res,
                    out)
    return out


def _device(db: Session, rt: SiteRuntime, j: int, fc: Forecast, T: list[float],
            V: list[float], res, out: list[Notice]) -> None:
    for t, v in zip(T, V, strict=True):
        fc.window.append((t, v))
        if t < fc.next_eval:
            continue
        fc.next_eval = t + FORECAST_STEP_S
        warn, eta = _predict(fc, t)
        if warn == fc.warned:
            continue
        fc.warned = warn
        dev = rt.devices[j]
        text = (f"CH4 at {dev.code} ({dev.zone_code}) predicted to reach "
                f"{fc.high:g} % within {max(1, round(eta / 60))} min")
        change = records.on_condition(db, dev, "FORECAST", warn, t, v, text=text, detail={
            "limit": fc.high, "minutes": max(1, round(eta / 60))})
        if change is not None and change.what == "raise":
            res.alarms += 1
            out.append(records.notice(change.rec, "raise"))


def _predict(fc, now: float) -> tuple[bool, float]:
    while fc.window and fc.window[0][0] < now - FORECAST_WINDOW_S:
        fc.window.popleft()
    if len(fc.window) < MIN_POINTS:
        return fc.warned, 0.0
    pts = np.array(fc.window)
    if len(pts) > 60:  # thin to ≤ 60 points: Theil–Sen is O(n²)
        pts = pts[np.linspace(0, len(pts) - 1, 60).astype(int)]
    slope, fitted = theil_sen(pts[:, 0], pts[:, 1])
    if not slope > 0 or fitted >= fc.high:
        return False, 0.0
    eta = (fc.high - fitted) / slope
    return eta <= FORECAST_HORIZON_S, eta
