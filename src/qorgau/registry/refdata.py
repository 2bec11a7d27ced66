"""Typed, cached loaders for the reference data shipped in ``qorgau/registry/data``.

Pure functions over packaged files: no database, no network. Every loader is cached, so the
returned objects are shared; they are frozen dataclasses and tuples to keep them immutable.
What is official and what is illustrative is recorded per row (``status``) and in
docs/reference-data.md.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

_DATA = files("qorgau.registry").joinpath("data")

# NACE Rev.2 / OKED structure: which section each 2-digit division belongs to. This is the
# classification's fixed shape (not a value that changes), so it lives in code.
_SECTION_DIVISIONS: tuple[tuple[str, int, int], ...] = (
    ("A", 1, 3), ("B", 5, 9), ("C", 10, 33), ("D", 35, 35), ("E", 36, 39), ("F", 41, 43),
    ("G", 45, 47), ("H", 49, 53), ("I", 55, 56), ("J", 58, 63), ("K", 64, 66), ("L", 68, 68),
    ("M", 69, 75), ("N", 77, 82), ("O", 84, 84), ("P", 85, 85), ("Q", 86, 88), ("R", 90, 93),
    ("S", 94, 96), ("T", 97, 98), ("U", 99, 99),
)  # fmt: skip
_OKED_CODE = re.compile(r"^(?:[A-U]|\d{2}(?:\.?\d{1,3})?)$")


class RefDataError(LookupError):
    """A code is malformed or not in the reference data."""


@dataclass(frozen=True)
class Region:
    iso: str
    name_kk: str
    name_ru: str
    name_en: str
    type: str  # "region" or "city" (of republican significance)
    centroid: tuple[float, float]  # (lon, lat), a point inside the polygon
    bbox: tuple[float, float, float, float]  # (min_lon, min_lat, max_lon, max_lat)
    employed_2024: int
    employees_2024: int
    avg_wage_kzt: int | None
    mining_metallurgy_weight: float  # illustrative
    oil_gas_weight: float  # illustrative


@dataclass(frozen=True)
class OkedEntry:
    code: str
    level: str  # "section" or "division"
    section: str
    name_kk: str
    name_ru: str
    name_en: str


@dataclass(frozen=True)
class RiskClass:
    risk_class: int
    tariff_pct: Decimal  # per cent of payroll
    status: str  # "official" or "illustrative"
    source: str


@dataclass(frozen=True)
class InsuranceParams:
    min_wage_kzt: dict[int, int]
    salary_cap_min_wages: int
    contract_months: int
    min_premium_min_wages: int

    def min_wage(self, year: int) -> int:
        try:
            return self.min_wage_kzt[year]
        except KeyError:
            raise RefDataError(f"no minimum wage recorded for {year}") from None


def _read_csv(name: str) -> list[dict[str, str]]:
    text = _DATA.joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _read_json(name: str) -> Any:
    return json.loads(_DATA.joinpath(name).read_text(encoding="utf-8"))


def _region(raw: dict[str, Any]) -> Region:
    profile = raw["industry_profile"]
    return Region(
        iso=raw["iso"], name_kk=raw["name_kk"], name_ru=raw["name_ru"], name_en=raw["name_en"],
        type=raw["type"], centroid=(raw["centroid"][0], raw["centroid"][1]),
        bbox=tuple(raw["bbox"]), employed_2024=raw["employed_2024"],
        employees_2024=raw["employees_2024"], avg_wage_kzt=raw["avg_wage_kzt"],
        mining_metallurgy_weight=profile["mining_metallurgy"], oil_gas_weight=profile["oil_gas"],
    )  # fmt: skip


@cache
def load_regions() -> tuple[Region, ...]:
    """The 20 first-level units (17 regions + 3 cities), sorted by ISO code."""
    return tuple(_region(raw) for raw in _read_json("regions.json")["regions"])


@cache
def _regions_by_iso() -> dict[str, Region]:
    return {r.iso: r for r in load_regions()}


def region_by_iso(iso: str) -> Region:
    try:
        return _regions_by_iso()[iso.strip().upper()]
    except KeyError:
        raise RefDataError(f"unknown region ISO code {iso!r}") from None


@cache
def load_oked() -> tuple[OkedEntry, ...]:
    """OKED sections A–U and the divisions shipped (see docs/reference-data.md)."""
    return tuple(OkedEntry(**row) for row in _read_csv("oked.csv"))


@cache
def _oked_by_code() -> dict[str, OkedEntry]:
    return {e.code: e for e in load_oked()}


def oked_by_code(code: str) -> OkedEntry:
    try:
        return _oked_by_code()[code.strip().upper()]
    except KeyError:
        raise RefDataError(f"OKED code {code!r} not in the shipped list") from None


def section_of(code: str) -> str:
    """Section letter of an OKED code: 'C', '24', '24.10' and '24101' all work."""
    norm = code.strip().upper()
    if not _OKED_CODE.match(norm):
        raise RefDataError(f"malformed OKED code {code!r}")
    if norm.isalpha():
        return norm
    division = int(norm[:2])
    for section, first, last in _SECTION_DIVISIONS:
        if first <= division <= last:
            return section
    raise RefDataError(f"OKED division {norm[:2]} does not exist")


@cache
def load_risk_classes() -> tuple[RiskClass, ...]:
    """The 22 occupational risk classes with tariffs, sorted by class."""
    rows = _read_csv("risk_classes.csv")
    classes = (
        RiskClass(int(r["risk_class"]), Decimal(r["tariff_pct"]), r["status"], r["source"])
        for r in rows
    )
    return tuple(sorted(classes, key=lambda c: c.risk_class))


@cache
def _oked_class_map() -> dict[str, int]:
    return {r["code"]: int(r["risk_class"]) for r in _read_csv("oked_risk_class.csv")}


def oked_risk_class(code: str) -> RiskClass:
    """Risk class of an activity: by its division when mapped, else by its section."""
    section = section_of(code)  # validates the code
    norm = code.strip().upper()
    mapping = _oked_class_map()
    number = mapping.get(norm[:2]) if not norm.isalpha() else None
    if number is None:
        number = mapping[section]
    return load_risk_classes()[number - 1]


@cache
def load_insurance_params() -> InsuranceParams:
    raw = _read_json("insurance_params.json")
    return InsuranceParams(
        min_wage_kzt={int(y): int(v) for y, v in raw["min_wage_kzt"].items()},
        salary_cap_min_wages=int(raw["salary_cap_min_wages"]),
        contract_months=int(raw["contract_months"]),
        min_premium_min_wages=int(raw["min_premium_min_wages"]),
    )
