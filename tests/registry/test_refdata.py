"""Reference data: regions, OKED, risk classes, insurance parameters."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib.resources import files
from itertools import pairwise

import pytest
from shapely.geometry import Point, shape

from qorgau.registry import refdata
from qorgau.registry.refdata import RefDataError


@pytest.fixture(scope="module")
def polygons() -> dict[str, dict]:
    text = files("qorgau.geo").joinpath("data/kz-regions.geojson").read_text(encoding="utf-8")
    return {f["properties"]["iso"]: f for f in json.loads(text)["features"]}


def test_twenty_regions_with_unique_iso_codes() -> None:
    regions = refdata.load_regions()
    isos = [r.iso for r in regions]
    assert len(regions) == 20
    assert len(set(isos)) == 20
    assert isos == sorted(isos)
    assert sum(r.type == "city" for r in regions) == 3
    assert {r.iso for r in regions if r.type == "city"} == {"KZ-71", "KZ-75", "KZ-79"}


def test_names_match_the_geojson(polygons: dict[str, dict]) -> None:
    for region in refdata.load_regions():
        props = polygons[region.iso]["properties"]
        assert (region.name_kk, region.name_ru, region.name_en, region.type) == (
            props["name_kk"], props["name_ru"], props["name_en"], props["type"]
        )


def test_every_centroid_inside_its_polygon_and_bbox(polygons: dict[str, dict]) -> None:
    for region in refdata.load_regions():
        geom = shape(polygons[region.iso]["geometry"])
        point = Point(region.centroid)
        assert geom.contains(point), region.iso
        lon_min, lat_min, lon_max, lat_max = region.bbox
        assert lon_min <= point.x <= lon_max and lat_min <= point.y <= lat_max


def test_employment_adds_up_to_the_national_total() -> None:
    regions = refdata.load_regions()
    # BNS 2024 annual averages (kz-calibration.md §1a): employed 9,214,184; hired 7,015,108.
    assert sum(r.employed_2024 for r in regions) == 9_214_184
    assert abs(sum(r.employees_2024 for r in regions) - 7_015_108) <= 10
    assert all(r.employees_2024 < r.employed_2024 for r in regions)


def test_wages_only_where_published() -> None:
    published = {r.iso: r.avg_wage_kzt for r in refdata.load_regions() if r.avg_wage_kzt}
    assert len(published) == 8
    assert published["KZ-23"] == 633_300


def test_region_by_iso() -> None:
    assert refdata.region_by_iso("KZ-35").name_en == "Karaganda Region"
    assert refdata.region_by_iso(" kz-62 ").name_kk == "Ұлытау облысы"
    with pytest.raises(RefDataError):
        refdata.region_by_iso("KZ-99")


def test_industry_weights_rank_mining_regions_highest() -> None:
    weights = {r.iso: r.mining_metallurgy_weight for r in refdata.load_regions()}
    top = sorted(weights, key=weights.get, reverse=True)[:3]
    assert set(top) == {"KZ-35", "KZ-62", "KZ-63"}


def test_oked_has_all_sections_and_required_divisions() -> None:
    entries = refdata.load_oked()
    sections = [e.code for e in entries if e.level == "section"]
    divisions = {e.code for e in entries if e.level == "division"}
    assert sections == [chr(c) for c in range(ord("A"), ord("U") + 1)]
    required = {"01", "02", "03", "05", "06", "07", "08", "09", "35", "41", "42", "43"}
    required |= {f"{d:02d}" for d in range(10, 34)} | {f"{d}" for d in range(49, 54)}
    assert required <= divisions
    for entry in entries:
        assert entry.name_kk and entry.name_ru and entry.name_en
        assert refdata.section_of(entry.code) == entry.section


def test_every_oked_code_maps_to_a_risk_class() -> None:
    for entry in refdata.load_oked():
        assert 1 <= refdata.oked_risk_class(entry.code).risk_class <= 22


def test_risk_classes_are_22_and_monotone_or_flagged() -> None:
    classes = refdata.load_risk_classes()
    assert [c.risk_class for c in classes] == list(range(1, 23))
    tariffs = [c.tariff_pct for c in classes]
    monotone = all(a < b for a, b in pairwise(tariffs))
    assert monotone or all(c.status == "illustrative" for c in classes)
    assert all(c.status in {"official", "illustrative"} and c.source for c in classes)
    assert all(Decimal(0) < t < Decimal(10) for t in tariffs)


def test_oked_risk_class_lookup_variants() -> None:
    coal = refdata.oked_risk_class("05")
    assert refdata.oked_risk_class("05.10").risk_class == coal.risk_class
    assert refdata.oked_risk_class("05101").risk_class == coal.risk_class
    # Division not shipped (46, wholesale) falls back to its section G.
    assert refdata.oked_risk_class("46").risk_class == refdata.oked_risk_class("G").risk_class
    assert coal.risk_class > refdata.oked_risk_class("K").risk_class
    assert refdata.oked_risk_class("24").risk_class > refdata.oked_risk_class("62").risk_class
    for bad in ("", "4", "Z", "04", "24-10", "1234567"):
        with pytest.raises(RefDataError):
            refdata.oked_risk_class(bad)


def test_insurance_params() -> None:
    params = refdata.load_insurance_params()
    assert params.min_wage(2024) == params.min_wage(2026) == 85_000
    assert params.salary_cap_min_wages == 10
    assert params.contract_months == 12
    with pytest.raises(RefDataError):
        params.min_wage(1990)
