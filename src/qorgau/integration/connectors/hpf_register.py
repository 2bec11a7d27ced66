"""Emergency ministry's register of hazardous production facilities (HPF) → inspections.

Source: JSON lines, one facility per line (file drop or HTTP pages).

| source field  | our row field | notes                                          |
|---------------|---------------|------------------------------------------------|
| facility_id   | facility_no   | natural key in the HPF register                |
| owner_bin     | owner_bin     | operating enterprise                           |
| name          | name          |                                                |
| hazard_class  | hazard_class  | I–IV (Law on Civil Protection, art. 70)        |
| kind          | kind          | mine, open_pit, plant, oil_gas, power, ...     |
| lon / lat     | lon / lat     | WGS84                                          |
| registered_on | registered_on | ISO date                                       |

Apply: UNFINISHED. The target, `qorgau.inspections.service.register_facilities`, does not exist
yet (the inspections domain is being built); until it does, a delivery is parsed and validated
here and answered 501, and nothing is stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from qorgau.core.security import Actor
from qorgau.integration.bulk import Applied, FeedHandler
from qorgau.integration.connectors.base import Connector, not_ready, service_function, via_service


class HpfRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    facility_no: str = Field(min_length=1, max_length=40)
    owner_bin: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=2, max_length=300)
    hazard_class: str = Field(pattern="^(I|II|III|IV)$")
    kind: str = Field(min_length=2, max_length=20)
    lon: float = Field(ge=46.0, le=88.0)
    lat: float = Field(ge=40.0, le=56.0)
    registered_on: date


def to_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "facility_no": r["facility_id"],
        "owner_bin": r["owner_bin"],
        "name": r["name"],
        "hazard_class": r["hazard_class"],
        "kind": r["kind"],
        "lon": r["lon"],
        "lat": r["lat"],
        "registered_on": r["registered_on"],
    }


def to_source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "facility_id": row["facility_no"],
        **{k: v for k, v in row.items() if k != "facility_no"},
    }


def _apply(db: Session, actor: Actor, rows: list[Any], delivery_id: str) -> Applied:
    fn = service_function("inspections", "register_facilities")
    if fn is None:
        return not_ready("inspections", "register_facilities")(db, actor, rows, delivery_id)
    return via_service(lambda d, a, r: fn(db=d, actor=a, rows=r))(db, actor, rows, delivery_id)


CONNECTOR = Connector(
    feed="hpf-register",
    source_format="jsonl",
    sample="hpf_register.jsonl",
    to_row=to_row,
    to_source=to_source,
    handler=FeedHandler(HpfRow, _apply),
)
