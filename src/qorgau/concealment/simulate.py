"""Synthetic injuries, concealment and evidence feeds with ground truth.

`make_world(seed, scale)` builds everything in memory from the registry twin
(`qorgau.simulator.twin.make_twin`): true work injuries per contract, concealing enterprises that
hide 15–40 % of theirs, the reported share (accident victims), and the feeds (trauma visits,
sick leave, insurance claims, ambulance calls, fatalities, complaints) with realistic noise —
Kazakh/Russian/Latin spellings, typos, missing and mistyped IINs, shifted dates, injuries
outside work, re-sent duplicates. `simulate(...)` is the `qorgau simulate` hook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from qorgau.concealment.translit import normalize_many
from qorgau.core.security import iin_hash
from qorgau.simulator.constants import REFERENCE_DATE
from qorgau.simulator.twin import Twin, make_twin, stream

EPOCH = date(1970, 1, 1)
YEARS = 3
# True work injuries per 1,000 worker-years by OKED section (relative risk, mining highest).
SECTION_RATE = {"B": 3.0, "C": 2.0, "F": 2.5, "D": 1.5, "E": 1.5, "H": 1.5, "A": 1.2}
OTHER_RATE = 0.4
# The small and regional twins are 1 % / 10 % of the country: their rates are scaled up so a
# region of the twin has as many injuries as a real region (capture–recapture needs > 50).
SCALE_RATE = {"small": 6.0, "region": 1.5, "national": 0.5}
CONCEALER_SHARE = 0.12  # of enterprises with > 15 staff
HIDE_RANGE = (0.15, 0.40)
NON_WORK_PER_WORK = 4.0  # injuries outside work among registered workers, per work injury
PART = 50  # simulator stream part for this domain

_RU_KEYBOARD = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
_LATIN = {
    "а": "a",
    "ә": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ғ": "gh",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "қ": "q",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "ng",
    "о": "o",
    "ө": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ұ": "u",
    "ү": "u",
    "ф": "f",
    "х": "kh",
    "һ": "h",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sch",
    "ъ": "",
    "ы": "y",
    "і": "i",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
}


@dataclass
class World:
    twin: Twin
    injuries: pl.DataFrame  # truth: injury_id, worker, enterprise, date, concealed, fatal
    victims: pl.DataFrame  # reported accident victims
    evidence: pl.DataFrame  # feed rows, with clear IIN (simulated), truth injury_id
    concealers: np.ndarray  # enterprise ids
    as_of: date
    since: date


def _digits(a: np.ndarray) -> np.ndarray:
    """12-digit identifiers as zero-padded text (IINs of people born 2000–2009 start with 0)."""
    return np.char.zfill(np.asarray(a).astype(str), 12)


def _days(d: date) -> int:
    return (d - EPOCH).days


def _rate(sections: np.ndarray, scale: str) -> np.ndarray:
    base = np.array([SECTION_RATE.get(s, OTHER_RATE) for s in sections])
    return base * SCALE_RATE.get(scale, 1.0) / 1000.0


def make_injuries(
    twin: Twin, rng: np.random.Generator, as_of: date
) -> tuple[pl.DataFrame, np.ndarray]:
    c, ent = twin.contracts, twin.enterprises
    lo, hi = _days(as_of) - int(YEARS * 365.25), _days(as_of)
    start = np.maximum(c["start_days"], lo)
    end = np.where(c["end_days"] < 0, hi, np.minimum(c["end_days"], hi))
    years = np.clip(end - start, 0, None) / 365.25
    n = rng.poisson(_rate(c["section"], twin.scale) * years)
    idx = np.repeat(np.arange(len(n)), n)
    day = start[idx] + (rng.random(len(idx)) * np.maximum(end[idx] - start[idx], 1)).astype(int)
    ent_id = c["enterprise_id"][idx]
    big = ent["id"][ent["headcount"] > 15]
    hazard = np.isin(ent["section"][ent["headcount"] > 15], list("BCF"))
    p = np.where(hazard, 2.0, 1.0)
    k = round(CONCEALER_SHARE * len(big))
    concealers = rng.choice(big, size=k, replace=False, p=p / p.sum()) if k else big[:0]
    share = dict(zip(concealers.tolist(), rng.uniform(*HIDE_RANGE, len(concealers)), strict=True))
    hide_p = np.array([share.get(int(e), 0.0) for e in ent_id])
    fatal = rng.random(len(idx)) < np.where(c["section"][idx] == "B", 0.10, 0.05)
    concealed = (rng.random(len(idx)) < hide_p) & ~(fatal & (rng.random(len(idx)) < 0.7))
    inj = pl.DataFrame(
        {
            "injury_id": np.arange(1, len(idx) + 1),
            "worker_id": c["worker_id"][idx],
            "enterprise_id": ent_id,
            "region_code": c["region_code"][idx],
            "section": c["section"][idx],
            "day": day,
            "fatal": fatal,
            "concealed": concealed,
            "work": np.ones(len(idx), bool),
        }
    )
    return inj.with_columns(pl.from_epoch("day", time_unit="d").alias("date")), concealers


def _non_work(twin: Twin, rng: np.random.Generator, n: int, as_of: date) -> pl.DataFrame:
    c = twin.contracts
    pick = rng.integers(0, len(c["id"]), n)
    lo, hi = _days(as_of) - int(YEARS * 365.25), _days(as_of)
    start = np.maximum(c["start_days"][pick], lo)
    end = np.where(c["end_days"][pick] < 0, hi, np.minimum(c["end_days"][pick], hi))
    ok = end > start
    pick, start, end = pick[ok], start[ok], end[ok]
    day = start + (rng.random(len(pick)) * (end - start)).astype(int)
    m = len(pick)
    return pl.DataFrame(
        {
            "injury_id": -np.arange(1, m + 1),
            "worker_id": c["worker_id"][pick],
            "enterprise_id": c["enterprise_id"][pick],
            "region_code": c["region_code"][pick],
            "section": c["section"][pick],
            "day": day,
            "fatal": np.zeros(m, bool),
            "concealed": np.zeros(m, bool),
            "work": np.zeros(m, bool),
        }
    ).with_columns(pl.from_epoch("day", time_unit="d").alias("date"))


# ---------------------------------------------------------------- noise


def _latin(name: str) -> str:
    out = "".join(_LATIN.get(ch, ch) for ch in name.lower())
    return out[:1].upper() + out[1:]


def _typo(rng: np.random.Generator, name: str) -> str:
    if len(name) < 4:
        return name
    i = int(rng.integers(1, len(name) - 1))
    op = rng.integers(0, 3)
    if op == 0:
        return name[:i] + name[i + 1 :]
    if op == 1:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i] + name[i:]


def _spell(rng: np.random.Generator, names: np.ndarray) -> list[str]:
    """Original Cyrillic 60 %, typed on a Russian keyboard 25 %, Latin 15 %; 5 % a typo."""
    u = rng.random(len(names))
    t = rng.random(len(names))
    out = []
    for name, a, b in zip(names, u, t, strict=True):
        s = str(name)
        s = s if a < 0.6 else s.translate(_RU_KEYBOARD) if a < 0.85 else _latin(s)
        out.append(_typo(rng, s) if b < 0.05 else s)
    return out


def _mistype_iin(rng: np.random.Generator, iins: np.ndarray) -> np.ndarray:
    pos = rng.integers(0, 12, len(iins))
    digit = rng.integers(1, 10, len(iins))
    power = 10 ** (11 - pos)
    old = (iins // power) % 10
    return iins + ((old + digit) % 10 - old) * power


# ---------------------------------------------------------------- feeds


FEEDS = {
    # source: (P(record | work injury), P(record | injury outside work), P(IIN given))
    "trauma_visit": (0.75, 0.85, 0.88),
    "sick_leave": (0.55, 0.40, 0.97),
    "insurance_claim": (0.30, 0.0, 0.97),
    "ambulance_call": (0.20, 0.10, 0.50),
}


def _records(rng: np.random.Generator, inj: pl.DataFrame, source: str) -> pl.DataFrame:
    p_work, p_other, _ = FEEDS.get(source, (1.0, 0.0, 0.99))
    work = inj["work"].to_numpy()
    conc = inj["concealed"].to_numpy()
    p = np.where(work, p_work, p_other)
    if source == "insurance_claim":
        p = np.where(conc, 0.08, p)
    if source == "fatality":
        p = inj["fatal"].to_numpy().astype(float)
    sel = inj.filter(pl.Series(rng.random(inj.height) < p))
    n = sel.height
    shift = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3], n)
    if source == "sick_leave":
        shift = shift + rng.integers(0, 2, n)
    w = sel["work"].to_numpy()
    c = sel["concealed"].to_numpy()
    flag_u = rng.random(n)
    # "At work" as recorded: concealing employers sometimes persuade the worker to say otherwise.
    p_true = np.where(w, np.where(c, 0.82, 0.9), 0.005)
    flag = np.where(flag_u < p_true, True, np.where(flag_u < p_true + 0.05, None, False))
    cause = np.where(flag == True, "02", np.where(w, "01", "04"))  # noqa: E712
    return sel.with_columns(
        pl.lit(source).alias("source"),
        (pl.col("day") + pl.Series(shift)).alias("event_day"),
        pl.Series("work_related", flag.tolist(), dtype=pl.Boolean),
        pl.Series("cause_code", cause)
        if source == "sick_leave"
        else pl.lit(None, pl.String).alias("cause_code"),
    )


def make_evidence(twin: Twin, rng: np.random.Generator, inj: pl.DataFrame) -> pl.DataFrame:
    parts = [_records(rng, inj, s) for s in (*FEEDS, "fatality")]
    conc = inj.filter(pl.col("concealed") & (pl.Series(rng.random(inj.height)) < 0.05))
    parts.append(
        conc.with_columns(
            pl.lit("complaint").alias("source"),
            (pl.col("day") + 10).alias("event_day"),
            pl.lit(True).alias("work_related"),
            pl.lit(None, pl.String).alias("cause_code"),
        )
    )
    ev = pl.concat(parts, how="vertical_relaxed")
    return _identify(twin, rng, ev)


def _identify(twin: Twin, rng: np.random.Generator, ev: pl.DataFrame) -> pl.DataFrame:
    w, ent = twin.workers, twin.enterprises
    wi = ev["worker_id"].to_numpy() - 1
    n = ev.height
    src = ev["source"].to_numpy()
    p_iin = np.array([FEEDS.get(s, (0, 0, 0.99))[2] for s in src])
    p_iin = np.where(src == "complaint", 0.4, p_iin)
    iin = w["iin"][wi].copy()
    typo = rng.random(n) < 0.04
    iin[typo] = _mistype_iin(rng, iin[typo])
    has_iin = rng.random(n) < p_iin
    birth = w["birth_days"][wi].copy()
    swap = rng.random(n) < 0.01
    bd = pl.Series(birth).cast(pl.Date)
    swapped = pl.date(bd.dt.year(), bd.dt.day().clip(1, 12), bd.dt.month())
    has_bin = np.isin(src, ["sick_leave", "insurance_claim", "complaint"]) & (rng.random(n) < 0.95)
    ent_idx = ev["enterprise_id"].to_numpy() - 1
    out = ev.with_columns(
        pl.Series("iin", np.where(has_iin, _digits(iin), None)),
        pl.Series("last_name", _spell(rng, w["last_name"][wi])),
        pl.Series("first_name", _spell(rng, w["first_name"][wi])),
        pl.Series("birth_date", bd),
        pl.Series("employer_bin", np.where(has_bin, _digits(ent["bin"][ent_idx]), None)),
        pl.Series("fatal", ev["fatal"].to_numpy() & np.isin(src, ["fatality", "trauma_visit"])),
        pl.from_epoch("event_day", time_unit="d").alias("event_date"),
        pl.Series("icd10", _icd(rng, n, src)),
    ).with_columns(
        pl.when(pl.Series(swap)).then(swapped).otherwise(pl.col("birth_date")).alias("birth_date")
    )
    # Re-sent rows: 2 % with the same source reference (idempotent), 1 % with a new one.
    out = out.with_row_index("seq").with_columns(
        (pl.col("source") + "-" + pl.col("seq").cast(pl.String)).alias("source_ref")
    )
    again = out.filter(pl.Series(rng.random(n) < 0.01)).with_columns(
        (pl.col("source_ref") + "-r").alias("source_ref")
    )
    return pl.concat([out, again]).drop("seq")


def _icd(rng: np.random.Generator, n: int, src: np.ndarray) -> list[str | None]:
    codes = np.array(["S52.5", "S62.3", "S82.2", "S06.0", "S93.4", "T23.2", "S42.0", "S61.0"])
    pick = codes[rng.integers(0, len(codes), n)]
    has = np.isin(src, ["trauma_visit", "sick_leave", "insurance_claim", "fatality"])
    return [str(c) if h else None for c, h in zip(pick, has, strict=True)]


def make_world(seed: int, scale: str, twin: Twin | None = None) -> World:
    twin = twin or make_twin(seed, scale)
    rng = stream(seed, PART)
    as_of = REFERENCE_DATE
    inj, concealers = make_injuries(twin, rng, as_of)
    other = _non_work(twin, rng, int(NON_WORK_PER_WORK * inj.height), as_of)
    ev = make_evidence(twin, rng, pl.concat([inj, other], how="vertical_relaxed"))
    rep = inj.filter(~pl.col("concealed"))
    wi = rep["worker_id"].to_numpy() - 1
    victims = rep.select(
        pl.col("injury_id").alias("accident_id"),
        "worker_id",
        "enterprise_id",
        "region_code",
        "section",
        pl.col("date").alias("event_date"),
        "fatal",
    ).with_columns(
        pl.Series("iin", _digits(twin.workers["iin"][wi])),
        pl.Series("last_name", twin.workers["last_name"][wi]),
        pl.Series("first_name", twin.workers["first_name"][wi]),
        pl.Series("birth_date", twin.workers["birth_days"][wi]).cast(pl.Date),
    )
    since = as_of - timedelta(days=int(YEARS * 365.25))
    return World(twin, inj, victims, ev, concealers, as_of, since)


# ---------------------------------------------------------------- frames for the pipeline


def hashed(values: pl.Series) -> pl.Series:
    """Keyed hashes at the edge (cached: the same IIN recurs across feeds)."""
    cache: dict[str, str] = {}
    out = [None if v is None else cache.setdefault(v, iin_hash(v)) for v in values.to_list()]
    return pl.Series(out, dtype=pl.String)


def pipeline_frames(world: World) -> dict[str, pl.DataFrame]:
    """The same frames the service reads from the tables, built from the simulated world."""
    from qorgau.core.identifiers import iin_problem

    t = world.twin
    ev = world.evidence.unique("source_ref", keep="first")  # ingest is idempotent
    bin_to_ent = dict(
        zip(_digits(t.enterprises["bin"]).tolist(), t.enterprises["id"].tolist(), strict=True)
    )
    valid = [v is not None and iin_problem(v) is None for v in ev["iin"].to_list()]
    evidence = ev.with_row_index("id", offset=1).select(
        pl.col("id").cast(pl.Int64),
        "source",
        "source_ref",
        hashed(ev["iin"]).alias("iin_hash"),
        pl.Series("iin_valid", valid),
        pl.Series("first_name", normalize_many(ev["first_name"].to_list())),
        pl.Series("last_name", normalize_many(ev["last_name"].to_list())),
        "birth_date",
        pl.Series(
            "enterprise_id",
            [bin_to_ent.get(b) for b in ev["employer_bin"].to_list()],
            dtype=pl.Int64,
        ),
        pl.col("region_code"),
        "event_date",
        "icd10",
        "cause_code",
        "work_related",
        "fatal",
        pl.col("injury_id").alias("truth_injury"),
    )
    w = t.workers
    workers = pl.DataFrame(
        {
            "worker_id": w["id"],
            "id_hash": hashed(pl.Series(_digits(w["iin"]))),
            "first_name": normalize_many(w["first_name"].tolist()),
            "last_name": normalize_many(w["last_name"].tolist()),
            "birth_date": pl.Series(w["birth_days"]).cast(pl.Date),
        }
    )
    c = t.contracts
    contracts = pl.DataFrame(
        {
            "worker_id": c["worker_id"],
            "enterprise_id": c["enterprise_id"],
            "region_code": c["region_code"],
            "section": c["section"],
            "start_date": pl.Series(c["start_days"]).cast(pl.Date),
            "end_date": pl.Series(c["end_days"])
            .cast(pl.Date)
            .set(pl.Series(c["end_days"] < 0), None),
        }
    )
    v = world.victims
    victims = v.select(
        "accident_id",
        "worker_id",
        hashed(v["iin"]).alias("iin_hash"),
        pl.Series("last_name", normalize_many(v["last_name"].to_list())),
        pl.Series("first_name", normalize_many(v["first_name"].to_list())),
        "birth_date",
        "event_date",
        "enterprise_id",
        "region_code",
        "section",
    )
    e = t.enterprises
    enterprises = pl.DataFrame(
        {
            "enterprise_id": e["id"],
            "activity_code": e["activity_code"],
            "region_code": e["region_code"],
        }
    )
    exposure = exposure_from_contracts(contracts, world.since, world.as_of)
    return {
        "evidence": evidence,
        "workers": workers,
        "contracts": contracts,
        "victims": victims,
        "enterprises": enterprises,
        "exposure": exposure,
    }


def exposure_from_contracts(contracts: pl.DataFrame, since: date, as_of: date) -> pl.DataFrame:
    """Worker-years per enterprise in [since, as_of] (the headcount used by expected rates)."""
    s = pl.max_horizontal(pl.col("start_date"), pl.lit(since))
    e = pl.min_horizontal(pl.col("end_date").fill_null(as_of), pl.lit(as_of))
    return (
        contracts.with_columns(((e - s).dt.total_days().clip(0, None) / 365.25).alias("y"))
        .group_by("enterprise_id")
        .agg(pl.col("y").sum().alias("headcount"))
    )


# ---------------------------------------------------------------- the simulator hook


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    """Write the feeds and the reported accidents for the twin loaded in `db`; truth to files."""
    from qorgau.concealment import service
    from qorgau.core.models import load_all_models

    load_all_models()
    world = make_world(seed, scale)
    truth_dir.mkdir(parents=True, exist_ok=True)
    world.injuries.drop("date").write_parquet(truth_dir / "concealment_injuries.parquet")
    (truth_dir / "concealment.json").write_text(
        json.dumps(
            {
                "concealers": world.concealers.tolist(),
                "as_of": str(world.as_of),
                "since": str(world.since),
            }
        )
    )
    return service.load_simulated(db=db, world=world)
