"""State business register (BIN register) → registry enterprises.

Source: JSON lines, one legal entity per line (file or HTTP pages `{"items": [...], "next"}`).

| source field | our row field | notes                                                        |
|--------------|---------------|--------------------------------------------------------------|
| BIN          | bin           | natural key; checksum validated                              |
| NAME_RU      | name          |                                                              |
| OKED         | activity_code | OKED division (2 digits) or section letter                   |
| KATO         | region_code   | `KZ-` + first two KATO digits (ISO 3166-2:KZ follows KATO)   |
| ADDRESS      | address       |                                                              |
| LON / LAT    | lon / lat     | WGS84, inside Kazakhstan                                     |
| EMPLOYEES    | size_band     | ≤15 micro, ≤100 small, ≤250 medium, else large               |
| HAZARDOUS    | hazardous     | "Y" / "N" (operates hazardous production facilities)        |
| UPDATED      | changed_at    | ISO 8601 with offset                                         |
"""

from __future__ import annotations

from typing import Any

from qorgau.integration.bulk import HANDLERS
from qorgau.integration.connectors.base import Connector

BANDS = ((15, "micro"), (100, "small"), (250, "medium"))
BAND_EMPLOYEES = {"micro": 10, "small": 50, "medium": 200, "large": 1000}


def size_band(employees: int) -> str:
    return next((band for limit, band in BANDS if employees <= limit), "large")


def to_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "bin": r["BIN"],
        "name": r["NAME_RU"],
        "activity_code": r["OKED"],
        "region_code": f"KZ-{str(r['KATO'])[:2]}",
        "address": r.get("ADDRESS", ""),
        "lon": r["LON"],
        "lat": r["LAT"],
        "size_band": size_band(int(r.get("EMPLOYEES", 0))),
        "hazardous": r.get("HAZARDOUS") == "Y",
        "changed_at": r["UPDATED"],
    }


def to_source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "BIN": row["bin"],
        "NAME_RU": row["name"],
        "OKED": row["activity_code"],
        "KATO": row["region_code"][3:] + "0000000",
        "ADDRESS": row["address"],
        "LON": row["lon"],
        "LAT": row["lat"],
        "EMPLOYEES": BAND_EMPLOYEES[row["size_band"]],
        "HAZARDOUS": "Y" if row["hazardous"] else "N",
        "UPDATED": row["changed_at"],
    }


CONNECTOR = Connector(
    feed="business-register",
    source_format="jsonl",
    sample="business_register.jsonl",
    to_row=to_row,
    to_source=to_source,
    handler=HANDLERS["business-register"],
)
