"""Synthetic telemetry scenarios with ground truth (when each danger began).

`Stream` holds one site's devices and produces 1-Hz readings with noise; scenarios modify
device signals from their start time. Everything is a pure function of (seed, t)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BASE = {"CH4": 0.35, "CO": 3.0, "H2S": 0.2, "O2": 20.9, "fan": 1.0, "temp": 22.0,
        "dust": 2.0, "seismic": 0.3}
NOISE = {"CH4": 0.01, "CO": 0.3, "H2S": 0.05, "O2": 0.03, "fan": 0.0, "temp": 0.1,
         "dust": 0.2, "seismic": 0.1}
SCENARIOS = ("methane_buildup", "ventilation_failure", "co_fire", "h2s_release",
             "worker_fall", "sensor_drift", "sensor_dropout", "nuisance_chatter")


@dataclass
class Scenario:
    name: str
    device: str  # code of the device it acts on
    start: float  # when the danger began (ground truth), seconds from stream start
    params: dict[str, float] = field(default_factory=dict)

    def value(self, base: float, t: float) -> float | None:
        """Signal at t (s from stream start) given the undisturbed value; None = silent."""
        dt = t - self.start
        if dt < 0:
            return base
        n = self.name
        if n in ("methane_buildup", "ventilation_failure_ch4"):
            # max_rise: the build-up levels off (ventilation restored) below the limit, so the
            # predictive warning it may raise is a false one; unbounded by default
            rise = self.params.get("rate_per_min", 0.03) * dt / 60.0
            return base + min(rise, self.params.get("max_rise", math.inf))
        if n == "ventilation_failure":
            return 0.0
        if n == "co_fire":
            return base + min(400.0, 0.5 * np.expm1(dt / 60.0))
        if n == "h2s_release":
            return base + (25.0 if dt < 300 else 0.0)
        if n == "sensor_drift":
            return base + 0.02 * dt / 60.0  # slow drift (calibration), not a real danger
        if n == "sensor_dropout":
            return None
        if n == "nuisance_chatter":
            return self.params.get("limit", 20.0) + (0.6 if int(dt) % 20 < 10 else -0.6)
        return base

    @property
    def real_danger(self) -> bool:
        return self.name not in ("sensor_drift", "nuisance_chatter", "sensor_dropout")


@dataclass
class Stream:
    devices: dict[str, str]  # code → quantity
    scenarios: list[Scenario]
    seed: int = 0
    seq: dict[str, int] = field(default_factory=dict)

    def second(self, t_rel: float, t_abs: float) -> list[dict[str, Any]]:
        """All readings of one second, grouped per device (device messages in one piece)."""
        rng = np.random.default_rng((self.seed, int(t_rel)))
        rows = []
        for code, q in self.devices.items():
            if q == "position":
                continue
            v: float | None = BASE.get(q, 0.0) + rng.normal(0, NOISE.get(q, 0.0))
            for sc in self.scenarios:
                if sc.device == code and v is not None:
                    v = sc.value(v, t_rel)
            if v is None:
                continue
            s = self.seq.get(code, 0)
            self.seq[code] = s + 1
            rows.append({"d": code, "s": s, "t": t_abs, "v": round(float(v), 4)})
        for sc in self.scenarios:
            if sc.name == "worker_fall" and int(t_rel) == int(sc.start):
                s = self.seq.get(sc.device, 0)
                self.seq[sc.device] = s + 1
                # at the fall's own time (its ground truth), not the start of its second
                rows.append({"d": sc.device, "s": s, "t": t_abs + sc.start - t_rel, "e": "FALL"})
        return rows

    def truth(self, t0: float) -> list[dict[str, Any]]:
        return [{"scenario": s.name, "device": s.device, "began_at": t0 + s.start,
                 "real_danger": s.real_danger} for s in self.scenarios]


def default_scenarios(names: list[str], seconds: float) -> list[Scenario]:
    """Spread the chosen scenarios over the run on the standard simulated devices."""
    dev = {"methane_buildup": "CH4-1", "ventilation_failure": "FAN-1", "co_fire": "CO-1",
           "h2s_release": "H2S-1", "worker_fall": "W-1", "sensor_drift": "CO-2",
           "sensor_dropout": "TEMP-1", "nuisance_chatter": "CO-3"}
    out = []
    for i, n in enumerate(names):
        start = seconds * (0.1 + 0.5 * i / max(1, len(names)))
        out.append(Scenario(n, dev[n], start))
        if n == "ventilation_failure":
            out.append(Scenario("ventilation_failure_ch4", "CH4-2", start + 30,
                                {"rate_per_min": 0.1}))
    return out


STANDARD_DEVICES = [("CH4-1", "gas", "CH4", "L1"), ("CH4-2", "gas", "CH4", "L2"),
                    ("CO-1", "gas", "CO", "L1"), ("CO-2", "gas", "CO", "L2"),
                    ("CO-3", "gas", "CO", "L2"), ("H2S-1", "gas", "H2S", "L2"),
                    ("O2-1", "gas", "O2", "L1"), ("FAN-1", "ventilation", "fan", "L2"),
                    ("TEMP-1", "temperature", "temp", "L1"), ("DUST-1", "dust", "dust", "L1"),
                    ("SEIS-1", "seismic", "seismic", "L1"),
                    ("W-1", "wearable", "position", ""), ("W-2", "wearable", "position", ""),
                    ("W-3", "wearable", "position", "")]
MINE_ZONES = [{"code": "L1", "name": "Longwall 1", "kind": "working"},
              {"code": "L2", "name": "Longwall 2", "kind": "working"},
              {"code": "SHAFT", "name": "Shaft station (muster)", "kind": "safe"}]
