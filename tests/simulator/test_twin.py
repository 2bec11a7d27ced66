"""The synthetic twin in memory: determinism, identifiers, geography, calibration, contracts."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import shapely

from qorgau.core.identifiers import bin_problem, complete, iin_birth_date, iin_problem, iin_sex
from qorgau.registry.refdata import load_regions
from qorgau.simulator.constants import (
    BAND_RANGE,
    MIN_WAGE_KZT,
    REFERENCE_DATE,
    SECTION_EMPLOYMENT_K,
)  # fmt: skip
from qorgau.simulator.ids import as_text
from qorgau.simulator.places import region_shapes
from qorgau.simulator.truth import enterprise_truth
from qorgau.simulator.twin import Twin, make_twin, reference_date_days


@pytest.fixture(scope="module")
def twin() -> Twin:
    return make_twin(7, "small")


@pytest.fixture(scope="module")
def region_twin() -> Twin:
    return make_twin(3, "region")


def test_same_seed_same_twin_other_seed_differs(twin: Twin) -> None:
    again = make_twin(7, "small")
    for col in ("bin", "name", "region_code", "lon", "headcount"):
        assert np.array_equal(twin.enterprises[col], again.enterprises[col])
    assert np.array_equal(twin.workers["iin"], again.workers["iin"])
    assert np.array_equal(twin.contracts["start_days"], again.contracts["start_days"])
    other = make_twin(8, "small")
    assert not np.array_equal(twin.enterprises["bin"], other.enterprises["bin"])
    assert not np.array_equal(twin.workers["iin"][:1000], other.workers["iin"][:1000])


def test_every_bin_valid_unique_and_as_complete_computes(twin: Twin) -> None:
    bins = as_text(twin.enterprises["bin"]).tolist()
    assert len(set(bins)) == len(bins)
    assert [b for b in bins if bin_problem(b) is not None] == []
    assert all(b[4:6] == "40" for b in bins)
    assert all(complete(b[:11]) == b for b in bins[:500])


def test_every_iin_valid_unique_and_matches_person(twin: Twin) -> None:
    w = twin.workers
    iins = as_text(w["iin"]).tolist()
    assert len(set(iins)) == len(iins)
    assert [i for i in iins if iin_problem(i) is not None] == []
    births = w["birth_days"].astype("datetime64[D]").astype(object)
    for i in range(0, len(iins), 97):
        assert iin_birth_date(iins[i]) == births[i]
        assert iin_sex(iins[i]) == w["sex"][i]
        assert complete(iins[i][:11]) == iins[i]
    years = w["birth_days"].astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    assert years.min() >= 1960 and years.max() <= 2006


def _inside(table: dict[str, np.ndarray]) -> bool:
    shapes = region_shapes()
    for iso in np.unique(table["region_code"]):
        m = table["region_code"] == iso
        if not shapely.contains_xy(shapes[str(iso)], table["lon"][m], table["lat"][m]).all():
            return False
    return True


def test_every_enterprise_and_site_inside_its_region(twin: Twin) -> None:
    assert _inside(twin.enterprises)
    assert _inside(twin.sites)
    ent_region = dict(zip(twin.enterprises["id"], twin.enterprises["region_code"], strict=True))
    assert all(ent_region[e] == r for e, r in zip(twin.sites["enterprise_id"],
                                                 twin.sites["region_code"], strict=True))


def test_every_region_has_enterprises_and_construction(twin: Twin) -> None:
    isos = {r.iso for r in load_regions()}
    ent = twin.enterprises
    assert set(ent["region_code"].tolist()) == isos
    assert set(ent["region_code"][ent["section"] == "F"].tolist()) == isos


def test_karaganda_has_mines_with_zones(twin: Twin) -> None:
    s = twin.sites
    mines = np.flatnonzero((s["kind"] == "mine") & (s["region_code"] == "KZ-35"))
    assert len(mines) >= 3
    for i in mines:
        zones = json.loads(s["zones"][i])
        assert 3 <= len(zones) <= 6
        assert zones[-1] == {"code": "SAFE", "name": "Shaft bottom muster", "kind": "safe"}
    assert all(s["zones"][i] == "[]" for i in np.flatnonzero(s["kind"] != "mine"))


def test_mining_and_oil_weighted_to_their_regions(region_twin: Twin) -> None:
    ent = region_twin.enterprises
    jobs = ent["headcount"]
    mining = np.isin(ent["activity_code"], ("05", "07", "08", "24"))
    core = np.isin(ent["region_code"], ("KZ-35", "KZ-62", "KZ-63"))
    assert jobs[mining & core].sum() / jobs[mining].sum() > 0.5
    oil = ent["activity_code"] == "06"
    west = np.isin(ent["region_code"], ("KZ-23", "KZ-47", "KZ-27", "KZ-43", "KZ-15"))
    assert jobs[oil & west].sum() / jobs[oil].sum() > 0.8
    assert not (mining & (ent["region_code"] == "KZ-75")).any()


def test_headcount_by_section_follows_calibration(region_twin: Twin) -> None:
    c = region_twin.contracts
    current = c["end_days"] < 0
    got = Counter(c["section"][current].tolist())
    total_k = sum(SECTION_EMPLOYMENT_K.values())
    for sec, k in SECTION_EMPLOYMENT_K.items():
        want = k / total_k
        share = got[sec] / current.sum()
        assert abs(share - want) <= max(0.01, 0.25 * want), (sec, share, want)


def test_bands_and_big_companies(region_twin: Twin) -> None:
    ent = region_twin.enterprises
    for band, (lo, hi) in BAND_RANGE.items():
        h = ent["headcount"][ent["size_band"] == band]
        assert h.min() >= lo and h.max() <= hi
    assert (ent["headcount"] > 100).sum() == 500
    assert 0.3 < ent["hazardous"][ent["section"] == "B"].mean() <= 1


def test_current_contracts_match_headcount_and_employer(twin: Twin) -> None:
    c, w, ent = twin.contracts, twin.workers, twin.enterprises
    current = c["end_days"] < 0
    per_ent = np.bincount(c["enterprise_id"][current], minlength=len(ent["id"]) + 1)[1:]
    assert np.array_equal(per_ent, ent["headcount"])
    employer = np.zeros(len(w["id"]) + 1, dtype=np.int64)
    employer[c["worker_id"][current]] = c["enterprise_id"][current]
    assert np.array_equal(employer[1:], w["enterprise_id"])
    assert ((w["enterprise_id"] == 0) == (w["region_code"] == "")).all()


def test_turnover_history_and_wages(twin: Twin) -> None:
    c = twin.contracts
    ended = c["end_days"] >= 0
    assert (c["end_days"][ended] >= c["start_days"][ended]).all()
    assert (c["start_days"] <= reference_date_days(REFERENCE_DATE)).all()
    yearly = ended.sum() / 4 / (~ended).sum()
    assert 0.12 <= yearly <= 0.28
    assert c["monthly_wage"].min() >= MIN_WAGE_KZT
    assert 300_000 < c["monthly_wage"][~ended].mean() < 500_000
    # No worker holds two contracts at once; some moved between enterprises.
    order = np.lexsort((c["start_days"], c["worker_id"]))
    wid, start = c["worker_id"][order], c["start_days"][order]
    end = np.where(c["end_days"][order] < 0, 10**6, c["end_days"][order])
    same = wid[1:] == wid[:-1]
    assert (start[1:][same] > end[:-1][same]).all()
    moved = same & (c["enterprise_id"][order][1:] != c["enterprise_id"][order][:-1])
    assert moved.sum() > 1000


def test_truth_is_calibrated_and_hidden_factor_matters(twin: Twin) -> None:
    truth = enterprise_truth(twin)
    assert truth.height == len(twin.enterprises["id"])
    jobs = twin.enterprises["headcount"].sum()
    assert truth["expected_injuries_per_year"].sum() == pytest.approx(3500 * jobs / 3_990_000)
    assert 0 < truth["dangerous"].mean() < 0.5
    corr = np.corrcoef(truth["safety_culture"], np.log(truth["true_injury_rate_per_1000"]))[0, 1]
    assert corr < -0.3
