"""Workers and employment contracts over the last HISTORY_YEARS, vectorised.

Each job (position) at an enterprise is held by a chain of contracts going back in time:
the current holder's tenure and earlier tenures are exponential with mean 1/turnover, so
separations run at 15–25 % a year. A share of the separated workers are hired again elsewhere
later (successive contracts at different enterprises); the rest leave the registry's workforce.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from qorgau.registry.refdata import load_regions
from qorgau.simulator.constants import (
    AVG_WAGE_KZT,
    BAND_WAGE_FACTOR,
    HISTORY_YEARS,
    INCOME_Q1_2024,
    INCOME_Q1_2024_KZ,
    MIN_WAGE_KZT,
    MOVER_SHARE,
    OIL_GAS_DIVISIONS,
    REFERENCE_DATE,
    SECTION_WAGE_FACTOR,
    TURNOVER_RANGE,
    WAGE_GROWTH,
    WAGE_SIGMA,
)  # fmt: skip
from qorgau.simulator.ids import make_iins
from qorgau.simulator.twin import Table, reference_date_days, stream, words

YEAR = 365.25
ADULT_DAYS = int(18 * YEAR) + 1
BIRTH_FIRST = reference_date_days(date(1960, 1, 1))
BIRTH_LAST = reference_date_days(date(2006, 12, 31))
MALE_SHARE = {"B": 0.85, "F": 0.88, "D": 0.75, "H": 0.75, "C": 0.7, "A": 0.6, "E": 0.65,
              "P": 0.25, "Q": 0.2, "K": 0.4, "G": 0.45, "I": 0.4}  # fmt: skip
RUSSIAN_SHARE = {"KZ-59": 0.45, "KZ-55": 0.4, "KZ-39": 0.4, "KZ-11": 0.35, "KZ-35": 0.35,
                 "KZ-63": 0.35, "KZ-71": 0.2, "KZ-75": 0.25}  # fmt: skip


def _chains(
    rng: np.random.Generator, ent: Table
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(enterprise index, start day, end day or -1) of every contract in the window."""
    ref = reference_date_days(REFERENCE_DATE)
    window = ref - int(HISTORY_YEARS * YEAR)
    turnover = rng.uniform(*TURNOVER_RANGE, len(ent["id"]))
    founded = ent["reg_days"]
    slot = np.repeat(np.arange(len(ent["id"])), ent["headcount"])
    tenure = YEAR / turnover[slot]
    start = ref - rng.exponential(tenure).astype(np.int64)
    early = start < founded[slot]  # hired in the enterprise's first year instead
    start[early] = np.minimum(founded[slot][early] + rng.integers(0, 365, int(early.sum())), ref)
    parts = [(slot, start, np.full(len(slot), -1, dtype=np.int64))]
    live = start > window
    while live.any():
        slot, tenure, start = slot[live], tenure[live], start[live]
        end = start - 1 - rng.exponential(25.0, len(slot)).astype(np.int64)
        prev = np.maximum(end - rng.exponential(tenure).astype(np.int64), founded[slot])
        keep = (end >= window) & (end >= prev)
        parts.append((slot[keep], prev[keep], end[keep]))
        slot, tenure, start = slot[keep], tenure[keep], prev[keep]
        live = start > window
    return tuple(np.concatenate(cols) for cols in zip(*parts, strict=True))  # type: ignore[return-value]


def _assign_workers(
    rng: np.random.Generator, ent_idx: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, int]:
    """Worker index per contract: one per current contract; movers reuse a later hire's worker."""
    current = np.flatnonzero(end < 0)
    ended = np.flatnonzero(end >= 0)
    worker = np.full(len(end), -1, dtype=np.int64)
    worker[current] = np.arange(len(current))
    window = reference_date_days(REFERENCE_DATE) - int(HISTORY_YEARS * YEAR)
    hires = current[start[current] > window]
    movers = ended[rng.random(len(ended)) < MOVER_SHARE]
    k = min(len(hires), len(movers))
    hires = rng.choice(hires, size=k, replace=False)
    movers = rng.choice(movers, size=k, replace=False)
    # Pair by order (earliest separation with earliest hire), keep pairs that fit in time.
    movers, hires = movers[np.argsort(end[movers])], hires[np.argsort(start[hires])]
    ok = (start[hires] > end[movers]) & (ent_idx[hires] != ent_idx[movers])
    worker[movers[ok]] = worker[hires[ok]]
    leavers = np.flatnonzero(worker < 0)
    worker[leavers] = len(current) + np.arange(len(leavers))
    return worker, len(current) + len(leavers)


def _per_enterprise(values: np.ndarray, table: dict[str, float], default: float) -> np.ndarray:
    return np.array([table.get(v, default) for v in values.tolist()])


def _people(
    rng: np.random.Generator, ent: Table, home: np.ndarray, first_start: np.ndarray
) -> Table:
    """Birth dates (adult at first contract), sex, Kazakh or Russian names, IINs."""
    n = len(home)
    year = rng.normal(1985, 11, n)
    out = (year < 1960) | (year >= 2007)
    year[out] = rng.uniform(1960, 2007, int(out.sum()))  # no pile-up on the range ends
    birth = ((year - 1970) * YEAR).astype(np.int64)
    latest = first_start - ADULT_DAYS - rng.integers(0, 3000, n)  # adult when first hired
    birth = np.clip(np.minimum(birth, latest), BIRTH_FIRST, BIRTH_LAST)
    male = rng.random(n) < _per_enterprise(ent["section"], MALE_SHARE, 0.5)[home]
    russian = rng.random(n) < _per_enterprise(ent["region_code"], RUSSIAN_SHARE, 0.1)[home]
    first, last, patronymic = _names(rng, male, russian)
    return {
        "iin": make_iins(rng, birth, male), "last_name": last, "first_name": first,
        "patronymic": patronymic, "birth_days": birth, "sex": np.where(male, "M", "F"),
    }  # fmt: skip


def _pick(rng: np.random.Generator, options: list[str], mask: np.ndarray) -> np.ndarray:
    arr = np.array(options, dtype=object)
    return arr[rng.integers(0, len(arr), int(mask.sum()))]


def _feminine(surnames: list[str]) -> list[str]:
    return [s + "а" if s.endswith(("ов", "ев", "ин")) else s for s in surnames]


def _names(
    rng: np.random.Generator, male: np.ndarray, russian: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = words()
    n = len(male)
    first, last, patr = (np.empty(n, dtype=object) for _ in range(3))
    kk_f = [f + "ұлы" for f in w["father_kk"]], [f + "қызы" for f in w["father_kk"]]
    groups = (
        (~russian & male, "male_first_kk", w["surname_kk"], kk_f[0]),
        (~russian & ~male, "female_first_kk", _feminine(w["surname_kk"]), kk_f[1]),
        (russian & male, "male_first_ru", w["surname_ru"], w["father_ru_m"]),
        (russian & ~male, "female_first_ru", _feminine(w["surname_ru"]), w["father_ru_f"]),
    )
    for mask, first_key, surnames, fathers in groups:
        first[mask] = _pick(rng, w[first_key], mask)
        last[mask] = _pick(rng, surnames, mask)
        patr[mask] = _pick(rng, fathers, mask)
    return first, last, patr


def regional_wage() -> dict[str, float]:
    """2024 average wage by region: published where known, else scaled by money income."""
    return {
        r.iso: float(r.avg_wage_kzt or AVG_WAGE_KZT * INCOME_Q1_2024[r.iso] / INCOME_Q1_2024_KZ)
        for r in load_regions()
    }


def _wages(
    rng: np.random.Generator, ent: Table, ent_idx: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Monthly wage: regional average × section × size × firm effect × lognormal spread;
    ended contracts carry the wage of their last year (deflated by nominal growth)."""
    by_region = regional_wage()
    firm = np.array([by_region[r] for r in ent["region_code"]])
    firm *= np.array([SECTION_WAGE_FACTOR.get(s, 1.0) for s in ent["section"]])
    firm *= np.array([BAND_WAGE_FACTOR[b] for b in ent["size_band"]])
    firm *= rng.lognormal(0, 0.2, len(firm))
    # Rescale so the job-weighted mean matches the regions' job-weighted average wage.
    jobs = ent["headcount"]
    target = np.array([by_region[r] for r in ent["region_code"]])
    firm *= (jobs @ target) / max(float(jobs @ firm), 1.0)
    ended_year = 1970 + (end / YEAR).astype(np.int64)
    years_back = np.where(end < 0, 0, REFERENCE_DATE.year - ended_year)
    spread = rng.lognormal(-WAGE_SIGMA**2 / 2, WAGE_SIGMA, len(end))
    wage = firm[ent_idx] * spread / (1 + WAGE_GROWTH) ** np.clip(years_back, 0, None)
    return np.maximum(np.round(wage, -3), MIN_WAGE_KZT).astype(np.int64)


def _occupations(rng: np.random.Generator, ent: Table, ent_idx: np.ndarray) -> np.ndarray:
    table = words()["occupation"]
    key = ent["section"].astype(object)
    key[np.isin(ent["activity_code"], OIL_GAS_DIVISIONS)] = "B_oil"
    kinds, code = np.unique(key.astype(str), return_inverse=True)  # per enterprise: small
    per = code[ent_idx]
    out = np.empty(len(ent_idx), dtype=object)
    for i, k in enumerate(kinds.tolist()):
        m = per == i
        out[m] = _pick(rng, table.get(k, table["default"]), m)
    return out


def make_workforce(seed: int, ent: Table) -> tuple[Table, Table]:
    rng = stream(seed, 3)
    ent_idx, start, end = _chains(rng, ent)
    worker, n_workers = _assign_workers(rng, ent_idx, start, end)
    first_start = np.full(n_workers, np.iinfo(np.int64).max)
    np.minimum.at(first_start, worker, start)
    home = np.zeros(n_workers, dtype=np.int64)  # enterprise of the worker's latest contract
    order = np.argsort(start, kind="stable")
    home[worker[order]] = ent_idx[order]
    people = _people(rng, ent, home, first_start)
    is_current = np.zeros(n_workers, dtype=bool)
    is_current[worker[end < 0]] = True
    workers = {
        "id": np.arange(1, n_workers + 1, dtype=np.int64), **people,
        "enterprise_id": np.where(is_current, ent["id"][home], 0),
        "region_code": np.where(is_current, ent["region_code"][home], ""),
    }  # fmt: skip
    contracts = {
        "id": np.arange(1, len(start) + 1, dtype=np.int64), "worker_id": worker + 1,
        "enterprise_id": ent["id"][ent_idx], "region_code": ent["region_code"][ent_idx],
        "section": ent["section"][ent_idx], "occupation": _occupations(rng, ent, ent_idx),
        "start_days": start, "end_days": end, "monthly_wage": _wages(rng, ent, ent_idx, end),
    }  # fmt: skip
    return workers, contracts
