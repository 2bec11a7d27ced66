"""Rebuild regions.json from the packaged boundaries and regional statistics.

Run from the repository root:  .venv/bin/python src/qorgau/registry/data/build_regions.py
Inputs: ../../geo/data/kz-regions.geojson (names, type, geometry) and kz-regions-stats.csv
(BNS 2024 employment and average wage; copy of the project's shared calibration table).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).resolve().parent
GEOJSON = HERE.parent.parent / "geo" / "data" / "kz-regions.geojson"
STATS = HERE / "kz-regions-stats.csv"
OUT = HERE / "regions.json"

# Hired employees 2024, thousand (BNS table 102796 via kz-calibration.md §1b).
EMPLOYEES_2024_THOUSAND: dict[str, float] = {
    "KZ-10": 179.406, "KZ-11": 298.118, "KZ-15": 382.106, "KZ-19": 495.652,
    "KZ-23": 295.970, "KZ-27": 247.640, "KZ-31": 363.984, "KZ-33": 219.547,
    "KZ-35": 481.476, "KZ-39": 328.873, "KZ-43": 223.226, "KZ-47": 307.944,
    "KZ-55": 326.861, "KZ-59": 205.614, "KZ-61": 437.853, "KZ-62": 89.157,
    "KZ-63": 299.450, "KZ-71": 579.420, "KZ-75": 953.680, "KZ-79": 299.131,
}  # fmt: skip

# ILLUSTRATIVE weights (0..1) of each region's exposure to mining/metallurgy and oil & gas.
# Chosen by hand from the regions' known industrial base (DOMAIN.md: Karaganda, Ulytau and
# East Kazakhstan lead injuries); not a published statistic. Used only to seed simulations.
INDUSTRY_WEIGHTS: dict[str, tuple[float, float]] = {
    "KZ-10": (0.4, 0.0), "KZ-11": (0.3, 0.0), "KZ-15": (0.6, 0.4), "KZ-19": (0.1, 0.0),
    "KZ-23": (0.1, 1.0), "KZ-27": (0.1, 0.8), "KZ-31": (0.2, 0.1), "KZ-33": (0.2, 0.0),
    "KZ-35": (1.0, 0.0), "KZ-39": (0.6, 0.0), "KZ-43": (0.3, 0.7), "KZ-47": (0.1, 1.0),
    "KZ-55": (0.7, 0.2), "KZ-59": (0.1, 0.0), "KZ-61": (0.3, 0.0), "KZ-62": (1.0, 0.0),
    "KZ-63": (0.9, 0.0), "KZ-71": (0.1, 0.0), "KZ-75": (0.0, 0.0), "KZ-79": (0.1, 0.2),
}  # fmt: skip


def inner_point(geom: BaseGeometry) -> tuple[float, float]:
    """Centroid when it falls inside the polygon, else shapely's representative point."""
    centroid = geom.centroid
    point = centroid if geom.contains(centroid) else geom.representative_point()
    return round(point.x, 4), round(point.y, 4)


def load_stats() -> dict[str, dict[str, str]]:
    with STATS.open(encoding="utf-8", newline="") as fh:
        return {row["iso"]: row for row in csv.DictReader(fh)}


def region_record(feature: dict[str, Any], stats: dict[str, str]) -> dict[str, Any]:
    props = feature["properties"]
    geom = shape(feature["geometry"])
    iso = props["iso"]
    mining, oil_gas = INDUSTRY_WEIGHTS[iso]
    wage = stats["avg_wage_kzt"]
    return {
        "iso": iso,
        "name_kk": props["name_kk"],
        "name_ru": props["name_ru"],
        "name_en": props["name_en"],
        "type": props["type"],
        "centroid": list(inner_point(geom)),
        "bbox": [round(v, 4) for v in geom.bounds],
        "employed_2024": int(stats["employed"]),
        "employees_2024": round(EMPLOYEES_2024_THOUSAND[iso] * 1000),
        "avg_wage_kzt": int(wage) if wage else None,
        "industry_profile": {
            "mining_metallurgy": mining,
            "oil_gas": oil_gas,
            "status": "illustrative",
        },
    }


def build() -> dict[str, Any]:
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    stats = load_stats()
    regions = [region_record(f, stats[f["properties"]["iso"]])
               for f in features if f["properties"]["type"] != "country"]
    return {
        "_meta": {
            "centroid": "[lon, lat] WGS 84; centroid if inside the polygon, else a "
                        "representative point (shapely)",
            "bbox": "[min_lon, min_lat, max_lon, max_lat]",
            "employed_2024": "BNS, employed persons, annual average 2024 (kz-calibration.md §1b)",
            "employees_2024": "BNS, hired employees, annual average 2024 (table 102796)",
            "avg_wage_kzt": "BNS 2024 annual average monthly nominal wage; null = not found "
                            "(published for 8 of 20 regions, kz-calibration.md §5b)",
            "industry_profile": "ILLUSTRATIVE hand-set weights 0..1, not official statistics",
            "generated_by": "src/qorgau/registry/data/build_regions.py",
        },
        "regions": regions,
    }


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data['regions'])} regions to {OUT}")


if __name__ == "__main__":
    main()
