"""Request bodies shared by incident tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def report_body(iin: str | None = None, **over: Any) -> dict[str, Any]:
    victim: dict[str, Any] = {"severity": "minor"}
    if iin:
        victim["iin"] = iin
    else:
        victim.update(full_name="Белгісіз Ер Адам", birth_date="1980-01-01")
    body = {
        "occurred_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        "severity": "minor",
        "circumstances": "Fell from a ladder while inspecting a conveyor belt in drift 4.",
        "victims": [victim],
        "esaw_deviation": "51",
        "esaw_contact": "31",
        "esaw_injury_type": "020",
        "esaw_body_part": "62",
    }
    body.update(over)
    return body
