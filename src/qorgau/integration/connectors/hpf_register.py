"""Emergency ministry's register of hazardous production facilities (HPF) → inspections.

Source: JSON lines, one facility per line (file drop or HTTP pages).

| source field  | our row field | notes                                                   |
|---------------|---------------|---------------------------------------------------------|
| facility_id   | facility_no   | natural key in the HPF register (our `reg_no`)          |
| owner_bin     | owner_bin     | operating enterprise; must be in the business register  |
| name          | name          |                                                         |
| hazard_class  | hazard_class  | I–IV (Law on Civil Protection, art. 70) → 1–4           |
| kind          | kind          | mine chemical gas oil metallurgy explosives lifting boiler |
| lon / lat     | lon / lat     | WGS84, inside Kazakhstan's bounding box                 |
| registered_on | registered_on | ISO date                                                |

Apply: `qorgau.inspections.service.register_facilities` creates or updates facilities by
registration number (each change audited); an unknown owner BIN rejects the whole delivery
with every bad row named.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from qorgau.core.security import Actor
from qorgau.inspections.schemas import FACILITY
from qorgau.integration.bulk import Applied, FeedHandler
from qorgau.integration.connectors.base import Connector, via_service


class HpfRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    facility_no: str = Field(min_length=1, max_length=40)
    owner_bin: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=2, max_length=300)
    hazard_class: str = Field(pattern="^(I|II|III|IV)$")
    kind: str = Field(pattern=FACILITY)
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
    from qorgau.inspections import service as inspections

    return via_service(lambda d, a, r: inspections.register_facilities(db=d, actor=a, rows=r))(
        db, actor, rows, delivery_id
    )


CONNECTOR = Connector(
    feed="hpf-register",
    source_format="jsonl",
    sample="hpf_register.jsonl",
    to_row=to_row,
    to_source=to_source,
    handler=FeedHandler(HpfRow, _apply),
)
