"""Sites of industrial enterprises: mines (with zones), open pits, plants, building sites, oil."""

from __future__ import annotations

import json

import numpy as np

from qorgau.simulator import places
from qorgau.simulator.constants import OIL_GAS_DIVISIONS
from qorgau.simulator.twin import MINE_REGIONS, Table, stream, words

INDUSTRIAL = ("B", "C", "D", "E", "F")
SITES_PER_BAND = {"micro": (1, 1), "small": (1, 2), "medium": (1, 3), "large": (2, 5)}
SPREAD_DEG = {"mine": 0.25, "open_pit": 0.3, "oil_gas": 0.4, "plant": 0.08, "construction": 0.06}
WORKING_ZONES = ("Lava", "Face", "Drift", "Conveyor drift", "Chamber", "Incline")


def _kinds(rng: np.random.Generator, ent: Table, owner: np.ndarray) -> np.ndarray:
    div = ent["activity_code"][owner]
    sec = ent["section"][owner]
    region = ent["region_code"][owner]
    kind = np.full(len(owner), "plant", dtype="U12")
    kind[sec == "F"] = "construction"
    mining = np.isin(div, ("05", "07", "08")) | ((sec == "B") & ~np.isin(div, OIL_GAS_DIVISIONS))
    underground = mining & np.isin(div, ("05", "07")) & np.isin(region, MINE_REGIONS)
    underground &= rng.random(len(owner)) < 0.75
    kind[mining] = "open_pit"
    kind[underground] = "mine"
    kind[np.isin(div, ("06", "09"))] = "oil_gas"
    return kind


def _zones(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """3–6 zones per mine (working zones plus the SAFE muster point); none elsewhere."""
    out = np.full(len(kind), "[]", dtype=object)
    mines = np.flatnonzero(kind == "mine")
    counts = rng.integers(2, 6, len(mines))
    names = rng.integers(0, len(WORKING_ZONES), len(mines))
    for i, k, nm in zip(mines, counts, names, strict=True):  # only mines: a few per thousand
        zones = [
            {"code": f"Z{j}", "name": f"{WORKING_ZONES[(nm + j) % len(WORKING_ZONES)]} {j}",
             "kind": "working"}
            for j in range(1, k + 1)
        ]  # fmt: skip
        zones.append({"code": "SAFE", "name": "Shaft bottom muster", "kind": "safe"})
        out[i] = json.dumps(zones, ensure_ascii=False)
    return out


def _site_names(rng: np.random.Generator, kind: np.ndarray, number: np.ndarray) -> np.ndarray:
    w = words()
    roots = np.array(w["company_root"], dtype=object)
    mines = np.array(w["mine_name"], dtype=object)
    root = roots[rng.integers(0, len(roots), len(kind))]
    num = number.astype(str).astype(object)
    out = np.empty(len(kind), dtype=object)
    label = {
        "open_pit": ("Карьер «", "» №"), "plant": ("Завод «", "» цех №"),
        "construction": ("Строительный объект ЖК «", "» очередь "),
        "oil_gas": ("Месторождение «", "» промысел №"),
    }  # fmt: skip
    for k, (head, tail) in label.items():
        m = kind == k
        out[m] = head + root[m] + tail + num[m]
    m = kind == "mine"
    out[m] = "Шахта «" + mines[rng.integers(0, len(mines), int(m.sum()))] + "» №" + num[m]
    return out


def make_sites(seed: int, ent: Table) -> Table:
    """1–5 sites per industrial enterprise, near it and inside its region."""
    rng = stream(seed, 2)
    industrial = np.flatnonzero(np.isin(ent["section"], INDUSTRIAL))
    band = ent["size_band"][industrial]
    lo = np.array([SITES_PER_BAND[b][0] for b in band])
    hi = np.array([SITES_PER_BAND[b][1] for b in band])
    per = rng.integers(lo, hi + 1)
    owner = np.repeat(industrial, per)
    number = np.arange(len(owner)) - np.repeat(np.cumsum(per) - per, per) + 1
    kind = _kinds(rng, ent, owner)
    lon, lat = ent["lon"][owner].copy(), ent["lat"][owner].copy()
    region = ent["region_code"][owner]
    sigma = np.array([SPREAD_DEG[k] for k in kind]) if len(kind) else np.zeros(0)
    for iso in np.unique(region):
        idx = np.flatnonzero(region == iso)
        lon[idx], lat[idx] = places.scatter_near(
            rng, str(iso), lon[idx], lat[idx], sigma[idx]
        )
    return {
        "id": np.arange(1, len(owner) + 1, dtype=np.int64),
        "enterprise_id": ent["id"][owner], "region_code": region, "kind": kind,
        "name": _site_names(rng, kind, number), "lon": np.round(lon, 5), "lat": np.round(lat, 5),
        "zones": _zones(rng, kind),
    }  # fmt: skip
