"""Concealment ground truth: a share of the simulated accidents is never reported.

The true work injuries are the accidents the incidents domain simulates (calibration of
`qorgau.incidents.simulate`: ~2,000 injured a year per 7.02 M employees, ~10 % killed, 3 % group
accidents, weighted by sector, region and the twin's latent danger). Concealing employers
withhold a share of them: an enterprise conceals with its latent `concealment_propensity`
(`simulator.truth`, higher where safety culture is poor) and then hides 50–100 % of its accidents
(group accidents and most fatal ones cannot be hidden). Overall ~25–30 % of injuries go
unreported, so the register shows ~1,400–1,500 a year — the ministry's series — while the true
count stays at the bureau's ~2,000 (DOMAIN.md: matching studies find 25–40 % under-reporting).

* `make_world(seed, scale)` builds everything in memory on the registry twin (the evaluation):
  the accidents are drawn with the incidents calibration, then concealed, then the feeds.
* `simulate(...)` is the `qorgau simulate` hook: it reads the accidents the incidents simulator
  wrote, conceals the same way, withdraws the concealed ones from the register (they were never
  reported) and loads the feeds for all true injuries. No accident is added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from qorgau.concealment.linkage import per_distinct
from qorgau.concealment.simulate_feeds import _digits, make_evidence
from qorgau.concealment.translit import normalize_name
from qorgau.incidents import simulate as incidents_sim
from qorgau.simulator.constants import REFERENCE_DATE
from qorgau.simulator.truth import enterprise_truth
from qorgau.simulator.twin import Twin, make_twin, stream

EPOCH = date(1970, 1, 1)
YEARS = incidents_sim.YEARS  # full years before the current one, plus the current year to date
HIDE_RANGE = (0.50, 1.00)  # share of its accidents a concealing employer withholds
FATAL_KEPT = 0.7  # a death is hard to hide: 70 % of fatal accidents are reported anyway
NON_WORK_PER_WORK = 4.0  # injuries outside work among registered workers, per work injury
PART = 50  # simulator stream part for this domain


@dataclass
class World:
    twin: Twin
    injuries: pl.DataFrame  # truth: injury_id, accident_id, worker, enterprise, date, concealed
    victims: pl.DataFrame  # reported accident victims
    evidence: pl.DataFrame  # feed rows, with clear IIN (simulated), truth injury_id
    concealers: np.ndarray  # enterprise ids
    as_of: date
    since: date


def _days(d: date) -> int:
    return (d - EPOCH).days


def window(as_of: date) -> date:
    """First day of the incidents simulator's window (1 January, YEARS before as_of's year)."""
    return date(as_of.year - YEARS, 1, 1)


# ---------------------------------------------------------------- true accidents (in memory)


def _active(c: dict[str, np.ndarray], day: int) -> np.ndarray:
    return (c["start_days"] <= day) & ((c["end_days"] < 0) | (c["end_days"] >= day))


def simulated_accidents(twin: Twin, rng: np.random.Generator, as_of: date) -> pl.DataFrame:
    """The incidents simulator's accidents drawn on the in-memory twin (same calibration):
    one row per victim (injury_id, accident_id, worker_id, enterprise_id, region, section, day,
    fatal, group)."""
    c, ent = twin.contracts, twin.enterprises
    start, end = _days(window(as_of)), _days(as_of) - 1
    on = _active(c, _days(date(as_of.year, 1, 1)))
    heads = np.bincount(c["enterprise_id"][on], minlength=len(ent["id"]) + 1)[ent["id"]]
    keep = heads > 0
    danger = enterprise_truth(twin)["true_danger"].to_numpy()
    rows = list(
        zip(ent["id"][keep].tolist(), ent["section"][keep].tolist(),
            ent["region_code"][keep].tolist(), heads[keep].tolist(), strict=True)
    )  # fmt: skip
    danger_of = dict(zip(ent["id"][keep].tolist(), danger[keep].tolist(), strict=True))
    weights = incidents_sim.enterprise_weights(rows, danger_of)
    span = (end - start + 2) / 365.25
    victims = heads.sum() * incidents_sim.INJURED_PER_YEAR / incidents_sim.NATIONAL_EMPLOYEES * span
    n_acc = max(int(rng.poisson(victims / 1.06)), 1)
    acc_ent = ent["id"][keep][rng.choice(len(rows), size=n_acc, p=weights)]
    acc_day = rng.integers(start, end + 1, n_acc)
    group = rng.random(n_acc) < incidents_sim.GROUP_SHARE
    size = np.where(group, rng.integers(2, 6, n_acc), 1)
    order = np.argsort(c["enterprise_id"], kind="stable")
    bounds = np.searchsorted(c["enterprise_id"][order], ent["id"], side="left")
    bounds = np.append(bounds, len(order))
    p_fatal = incidents_sim.KILLED_PER_YEAR / incidents_sim.INJURED_PER_YEAR
    out: list[tuple[int, int, int, bool, bool]] = []
    for a in range(n_acc):
        e = int(acc_ent[a]) - 1
        staff = order[bounds[e] : bounds[e + 1]]
        here = staff[_active({k: c[k][staff] for k in ("start_days", "end_days")}, acc_day[a])]
        pool = here if len(here) else staff
        for ci in rng.choice(pool, size=min(int(size[a]), len(pool)), replace=False):
            out.append((a + 1, int(ci), int(acc_day[a]), rng.random() < p_fatal, bool(group[a])))
    acc_id, ci, day, fatal, grp = (np.array(x) for x in zip(*out, strict=True))
    return pl.DataFrame(
        {
            "injury_id": np.arange(1, len(acc_id) + 1),
            "accident_id": acc_id,
            "worker_id": c["worker_id"][ci],
            "enterprise_id": c["enterprise_id"][ci],
            "region_code": c["region_code"][ci],
            "section": c["section"][ci],
            "day": day,
            "fatal": fatal.astype(bool),
            "group": grp.astype(bool),
        }
    )


def conceal(
    twin: Twin, rng: np.random.Generator, inj: pl.DataFrame
) -> tuple[pl.DataFrame, np.ndarray]:
    """Mark the withheld accidents: concealing employers (latent propensity) hide half to all of
    theirs, whole accidents at a time; group accidents and 70 % of fatal ones are reported."""
    ent = twin.enterprises
    propensity = enterprise_truth(twin)["concealment_propensity"].to_numpy()
    is_concealer = rng.random(len(ent["id"])) < propensity
    share = np.where(is_concealer, rng.uniform(*HIDE_RANGE, len(ent["id"])), 0.0)
    acc = (
        inj.group_by("accident_id")
        .agg(pl.col("enterprise_id").first(), pl.col("fatal").any(), pl.col("group").any())
        .sort("accident_id")
    )
    n = acc.height
    hide = rng.random(n) < share[acc["enterprise_id"].to_numpy() - 1]
    hide &= ~acc["group"].to_numpy()
    hide &= ~(acc["fatal"].to_numpy() & (rng.random(n) < FATAL_KEPT))
    hidden = acc.filter(pl.Series(hide))["accident_id"]
    inj = inj.with_columns(pl.col("accident_id").is_in(hidden.implode()).alias("concealed"))
    return inj, ent["id"][is_concealer]


def _non_work(
    twin: Twin, rng: np.random.Generator, n: int, since: date, as_of: date
) -> pl.DataFrame:
    c = twin.contracts
    pick = rng.integers(0, len(c["id"]), n)
    lo, hi = _days(since), _days(as_of)
    start = np.maximum(c["start_days"][pick], lo)
    end = np.where(c["end_days"][pick] < 0, hi, np.minimum(c["end_days"][pick], hi))
    ok = end > start
    pick, start, end = pick[ok], start[ok], end[ok]
    day = start + (rng.random(len(pick)) * (end - start)).astype(int)
    m = len(pick)
    return pl.DataFrame(
        {
            "injury_id": -np.arange(1, m + 1),
            "accident_id": np.zeros(m, np.int64),
            "worker_id": c["worker_id"][pick],
            "enterprise_id": c["enterprise_id"][pick],
            "region_code": c["region_code"][pick],
            "section": c["section"][pick],
            "day": day,
            "fatal": np.zeros(m, bool),
            "group": np.zeros(m, bool),
            "concealed": np.zeros(m, bool),
            "work": np.zeros(m, bool),
        }
    )


def build_world(
    twin: Twin, rng: np.random.Generator, inj: pl.DataFrame, *, as_of: date, since: date
) -> World:
    """Conceal, then generate the feeds for every true injury and the non-work ones."""
    inj, concealers = conceal(twin, rng, inj)
    inj = inj.with_columns(pl.lit(True).alias("work"))
    inj = inj.with_columns(pl.from_epoch("day", time_unit="d").alias("date"))
    other = _non_work(twin, rng, int(NON_WORK_PER_WORK * inj.height), since, as_of)
    other = other.with_columns(pl.from_epoch("day", time_unit="d").alias("date"))
    ev = make_evidence(twin, rng, pl.concat([inj, other], how="vertical_relaxed"))
    rep = inj.filter(~pl.col("concealed"))
    wi = rep["worker_id"].to_numpy() - 1
    victims = rep.select(
        "accident_id",
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
    return World(twin, inj, victims, ev, concealers, as_of, since)


def make_world(seed: int, scale: str, twin: Twin | None = None) -> World:
    twin = twin or make_twin(seed, scale)
    rng = stream(seed, PART)
    as_of = REFERENCE_DATE
    inj = simulated_accidents(twin, rng, as_of)
    return build_world(twin, rng, inj, as_of=as_of, since=window(as_of))


# ---------------------------------------------------------------- frames for the pipeline


def hashed(values: pl.Series) -> pl.Series:
    """Keyed hashes at the edge with the loader's one-shot HMAC (same digest as
    `core.security.iin_hash`, key state built once): 6.5 M worker IINs hash in seconds."""
    from qorgau.simulator.load import iin_hasher

    digest = iin_hasher()
    return pl.Series([None if v is None else digest(v) for v in values.to_list()], dtype=pl.String)


def _canonical(values: np.ndarray | list[str | None] | pl.Series) -> pl.Series:
    """Canonical names, normalised once per distinct spelling."""
    return per_distinct(pl.Series(values, dtype=pl.String), normalize_name)


def pipeline_frames(world: World) -> dict[str, pl.DataFrame]:
    """The same frames the service reads from the tables, built from the simulated world."""
    from qorgau.core.identifiers import iin_problem

    t = world.twin
    # ingest is idempotent; row order kept so evidence ids (and any tie in the ranking) are the
    # same on every run (an unordered unique numbered them differently each time)
    ev = world.evidence.unique("source_ref", keep="first", maintain_order=True)
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
        _canonical(ev["first_name"]).alias("first_name"),
        _canonical(ev["last_name"]).alias("last_name"),
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
            "first_name": _canonical(w["first_name"]),
            "last_name": _canonical(w["last_name"]),
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
        _canonical(v["last_name"]).alias("last_name"),
        _canonical(v["first_name"]).alias("first_name"),
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
        .group_by("enterprise_id", maintain_order=True)
        .agg(pl.col("y").sum().alias("headcount"))
    )


# ---------------------------------------------------------------- the simulator hook


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    """Conceal a share of the accidents the incidents simulator registered, load the feeds for
    all true injuries and run the analysis once; the truth goes to files."""
    from qorgau.concealment import sim_load
    from qorgau.core.models import load_all_models

    load_all_models()
    if sim_load.simulated_loaded(db):  # the simulator is run once per database
        return {"concealment_evidence": 0, "concealment_withheld": 0, "concealment_cases": 0}
    twin = make_twin(seed, scale)
    as_of = date.today()
    since = window(as_of)
    inj = sim_load.registered_injuries(db, twin, since)
    world = build_world(twin, stream(seed, PART), inj, as_of=as_of, since=since)
    truth_dir.mkdir(parents=True, exist_ok=True)
    world.injuries.drop("date").write_parquet(truth_dir / "concealment_injuries.parquet")
    (truth_dir / "concealment.json").write_text(
        json.dumps(
            {
                "concealers": world.concealers.tolist(),
                "as_of": str(world.as_of),
                "since": str(world.since),
                "true_injuries": world.injuries.height,
                "withheld": int(world.injuries["concealed"].sum()),
            }
        )
    )
    return sim_load.load_simulated(db=db, world=world)
