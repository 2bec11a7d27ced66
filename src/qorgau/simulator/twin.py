"""The synthetic national twin: enterprises and sites, deterministic for a seed, vectorised.

Tables are dicts of equal-length numpy arrays (columns); `workforce.py` adds workers and
employment contracts. Ids are 1-based positions; the loader shifts them when appending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np

from qorgau.registry.refdata import load_oked, load_regions
from qorgau.simulator import places
from qorgau.simulator.constants import (
    AGRI_SHARE,
    BAND_AFFINITY,
    BAND_RANGE,
    BANDS,
    DEFAULT_DIVISION_WEIGHT,
    DIVISION_WEIGHTS,
    HAZARD_SHARE,
    INDUSTRY_SHARE,
    MINING_METAL_DIVISIONS,
    OIL_GAS_DIVISIONS,
    SCALES,
    SECTION_EMPLOYMENT_K,
    ScaleSpec,
)  # fmt: skip
from qorgau.simulator.ids import make_bins

Table = dict[str, np.ndarray]
MINE_REGIONS = ("KZ-35", "KZ-62", "KZ-63")

# Guaranteed enterprises (all scales): coal mines in Karaganda, ore in Ulytau and East
# Kazakhstan, steel, oil; plus one construction company per region (added in code).
ANCHORS: tuple[tuple[str, str, str, str], ...] = (
    ("05", "KZ-35", "large", "АО «Караганды Көмір»"),
    ("05", "KZ-35", "medium", "ТОО «Шахта Казахстанская»"),
    ("05", "KZ-35", "medium", "ТОО «Сарыарқа Көмір»"),
    ("07", "KZ-62", "medium", "ТОО «Қазақмыс Жезқазған»"),
    ("07", "KZ-63", "medium", "ТОО «Риддер Тау-Кен»"),
    ("24", "KZ-35", "large", "АО «Темір Металлург»"),
    ("06", "KZ-23", "medium", "ТОО «Каспий Мұнай»"),
    ("06", "KZ-47", "medium", "ТОО «Маңғыстау Ойл»"),
)


@cache
def words() -> dict[str, Any]:
    text = files("qorgau.simulator").joinpath("data", "names.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def stream(seed: int, part: int) -> np.random.Generator:
    """An independent generator per part, so changing one part never shifts another."""
    return np.random.Generator(np.random.PCG64([seed, part]))


@dataclass
class Twin:
    seed: int
    scale: str
    enterprises: Table
    sites: Table
    workers: Table = field(default_factory=dict)
    contracts: Table = field(default_factory=dict)


@cache
def activity_catalogue() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, sections, weight within section): divisions in the reference data, else the
    section letter itself for sections shipped without divisions."""
    oked = load_oked()
    codes: list[str] = []
    sections: list[str] = []
    weights: list[float] = []
    for sec in SECTION_EMPLOYMENT_K:
        divs = [e.code for e in oked if e.level == "division" and e.section == sec] or [sec]
        raw = np.array([DIVISION_WEIGHTS.get(d, DEFAULT_DIVISION_WEIGHT) for d in divs])
        codes += divs
        sections += [sec] * len(divs)
        weights += list(raw / raw.sum())
    return np.array(codes), np.array(sections), np.array(weights)


def _headcounts(rng: np.random.Generator, spec: ScaleSpec, band: np.ndarray) -> np.ndarray:
    """Heavy-tailed headcount on the reference date, inside each band's range."""
    n = len(band)
    draw = {
        "micro": 1 + rng.geometric(0.5, n),
        "small": np.exp(rng.normal(np.log(30), 0.6, n)),
        "medium": np.exp(rng.uniform(np.log(101), np.log(250), n)),
        "large": np.exp(rng.normal(np.log(700), 1.0, n)),
    }
    out = np.zeros(n, dtype=np.int64)
    for b in BANDS:
        lo, hi = BAND_RANGE[b]
        hi = min(hi, spec.large_cap)
        m = band == b
        out[m] = np.clip(np.rint(draw[b][m]), lo, hi)
    return out


def _band_section_probs(headcount: np.ndarray, band: np.ndarray) -> dict[str, np.ndarray]:
    """P(section | band), rescaled so expected headcount by section matches the calibration."""
    secs = list(SECTION_EMPLOYMENT_K)
    target = np.array([SECTION_EMPLOYMENT_K[s] for s in secs])
    target = target / target.sum() * headcount.sum()
    aff = {b: np.array([BAND_AFFINITY[b].get(s, 1.0) for s in secs]) for b in BANDS}
    hb = {b: headcount[band == b].sum() for b in BANDS}
    scale = np.ones(len(secs))
    for _ in range(50):
        probs = {b: aff[b] * scale / (aff[b] * scale).sum() for b in BANDS}
        expected = sum(hb[b] * probs[b] for b in BANDS)
        scale *= target / np.maximum(expected, 1e-9)
    return probs


def _assign_sections(
    rng: np.random.Generator, headcount: np.ndarray, band: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """Section per enterprise; big firms fill per-section headcount quotas (few, so a loop),
    small ones are drawn (many, so the law of large numbers calibrates them)."""
    secs = np.array(list(SECTION_EMPLOYMENT_K))
    probs = _band_section_probs(headcount, band)
    section = fixed.copy()
    for b in BANDS:
        free = np.flatnonzero((band == b) & (fixed == ""))
        if b in ("micro", "small"):
            section[free] = rng.choice(secs, size=len(free), p=probs[b])
            continue
        quota = probs[b] * headcount[band == b].sum()
        for i, s in enumerate(secs):
            quota[i] -= headcount[(band == b) & (fixed == s)].sum()
        for e in free[np.argsort(-headcount[free], kind="stable")]:
            # Sections with room for at least half this firm; else the one furthest behind.
            need = np.where(quota >= headcount[e] / 2, quota, 0.0)
            if need.sum() <= 0:
                need = (quota == quota.max()).astype(float)
            k = rng.choice(len(secs), p=need / need.sum())
            section[e] = secs[k]
            quota[k] -= headcount[e]
    return section


def _assign_divisions(
    rng: np.random.Generator, section: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    codes, secs, weights = activity_catalogue()
    out = fixed.copy()
    for sec in np.unique(section):
        idx = np.flatnonzero((section == sec) & (fixed == ""))
        m = secs == sec
        out[idx] = rng.choice(codes[m], size=len(idx), p=weights[m])
    return out


def _region_weights(division: str, section: str) -> np.ndarray:
    """P(region | activity): employees by region, tilted by the region's industry profile."""
    regions = load_regions()
    emp = np.array([r.employees_2024 for r in regions], dtype=float)
    if division in MINING_METAL_DIVISIONS:
        tilt = np.array([r.mining_metallurgy_weight for r in regions]) ** 3
    elif division in OIL_GAS_DIVISIONS:
        tilt = np.array([r.oil_gas_weight for r in regions]) ** 2
    elif section == "A":
        tilt = np.array([AGRI_SHARE[r.iso] for r in regions])
    elif section in "BCDEF":
        tilt = np.array([INDUSTRY_SHARE[r.iso] for r in regions])
    else:
        tilt = np.ones(len(regions))
    w = emp * tilt
    return w / w.sum()


def _assign_regions(
    rng: np.random.Generator, division: np.ndarray, section: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    isos = np.array([r.iso for r in load_regions()])
    out = fixed.copy()
    for div in np.unique(division):
        idx = np.flatnonzero((division == div) & (fixed == ""))
        sec = section[idx[0]] if len(idx) else ""
        out[idx] = rng.choice(isos, size=len(idx), p=_region_weights(str(div), str(sec)))
    return out


def _anchor_rows(spec: ScaleSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bands, divisions, regions, names for the guaranteed enterprises, padded with blanks."""
    codes = activity_catalogue()[0]
    construction = "41" if "41" in codes else "F"
    rows = list(ANCHORS) + [
        (construction, r.iso, "small", "") for r in load_regions()
    ]
    n = spec.enterprises
    band = np.concatenate([np.full(c, b, dtype="U6") for b, c in spec.band_counts.items()])
    div, reg, name = (np.full(n, "", dtype="U8"), np.full(n, "", dtype="U5"),
                      np.full(n, "", dtype=object))  # fmt: skip
    for d, r, b, nm in rows:
        slot = np.flatnonzero((band == b) & (div == ""))[0]
        div[slot], reg[slot], name[slot] = d, r, nm
    return band, div, reg, name


def _registration(rng: np.random.Generator, band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Registration year and month: large firms are old (1990s successors), small ones young."""
    n = len(band)
    young = 2025 - np.floor(rng.exponential(7.0, n)).astype(np.int64)
    old = 1995 + np.floor(rng.exponential(5.0, n)).astype(np.int64)
    year = np.clip(np.where(np.isin(band, ("medium", "large")), old, young), 1995, 2025)
    month = rng.integers(1, 13, n)
    return year, month


def _names(rng: np.random.Generator, band: np.ndarray, section: np.ndarray,
           division: np.ndarray, fixed: np.ndarray) -> np.ndarray:  # fmt: skip
    w = words()
    roots = np.array(w["company_root"], dtype=object)
    n = len(band)
    form = np.where((band == "large") | ((band == "medium") & (rng.random(n) < 0.4)), "АО", "ТОО")
    out = fixed.copy()
    for key in set(section.tolist()) | {"B_oil"}:
        if key == "B_oil":
            m = np.isin(division, OIL_GAS_DIVISIONS)
        else:
            m = (section == key) & ~np.isin(division, OIL_GAS_DIVISIONS)
        m &= fixed == ""
        options = w["company_suffix"].get(key, w["company_suffix"]["default"])
        suffix = np.array(options, dtype=object)
        k = int(m.sum())
        out[m] = (form[m].astype(object) + " «" + roots[rng.integers(0, len(roots), k)] + " "
                  + suffix[rng.integers(0, len(suffix), k)] + "»")  # fmt: skip
    return out


def _reg_days(rng: np.random.Generator, year: np.ndarray, month: np.ndarray) -> np.ndarray:
    first = ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
    return first.astype(np.int64) + rng.integers(0, 28, len(year))


def _hazardous(rng: np.random.Generator, section: np.ndarray, division: np.ndarray) -> np.ndarray:
    p = np.array([HAZARD_SHARE.get(d, HAZARD_SHARE.get(s, 0.02))
                  for d, s in zip(division, section, strict=True)])  # fmt: skip
    return rng.random(len(p)) < p


def _locate(rng: np.random.Generator, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.zeros(len(region)), np.zeros(len(region))
    for iso in np.unique(region):
        idx = np.flatnonzero(region == iso)
        lon[idx], lat[idx] = places.sample_points(rng, str(iso), len(idx))
    return np.round(lon, 5), np.round(lat, 5)


def _addresses(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    names = {r.iso: r.name_ru for r in load_regions()}
    streets = np.array(words()["street"], dtype=object)
    reg = np.array([names[r] for r in region], dtype=object)
    num = rng.integers(1, 250, len(region)).astype(str).astype(object)
    return reg + ", ул. " + streets[rng.integers(0, len(streets), len(region))] + ", " + num


def make_enterprises(seed: int, scale: str) -> Table:
    spec = SCALES[scale]
    rng = stream(seed, 1)
    band, fixed_div, fixed_reg, fixed_name = _anchor_rows(spec)
    headcount = _headcounts(rng, spec, band)
    codes, secs, _ = activity_catalogue()
    sec_of = dict(zip(codes, secs, strict=True))
    fixed_sec = np.array([sec_of.get(d, "") for d in fixed_div], dtype="U1")
    section = _assign_sections(rng, headcount, band, fixed_sec)
    division = _assign_divisions(rng, section, fixed_div)
    region = _assign_regions(rng, division, section, fixed_reg)
    year, month = _registration(rng, band)
    lon, lat = _locate(rng, region)
    return {
        "id": np.arange(1, len(band) + 1, dtype=np.int64),
        "bin": make_bins(rng, year, month),
        "name": _names(rng, band, section, division, fixed_name),
        "activity_code": division, "section": section, "region_code": region,
        "address": _addresses(rng, region), "lon": lon, "lat": lat, "size_band": band,
        "hazardous": _hazardous(rng, section, division), "headcount": headcount,
        "reg_days": _reg_days(rng, year, month),
    }  # fmt: skip


def make_twin(seed: int, scale: str) -> Twin:
    """Enterprises, sites, workers and contracts for a seed and scale (no database)."""
    from qorgau.simulator.sites import make_sites
    from qorgau.simulator.workforce import make_workforce

    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    ent = make_enterprises(seed, scale)
    twin = Twin(seed=seed, scale=scale, enterprises=ent, sites=make_sites(seed, ent))
    twin.workers, twin.contracts = make_workforce(seed, ent)
    return twin


def reference_date_days(d: date) -> int:
    return (d - date(1970, 1, 1)).days
