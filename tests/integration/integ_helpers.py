"""Builders for integration tests: delivery envelopes and rows."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from factories import make_bin, make_iin


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def envelope(rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"delivery_id": f"d-{secrets.token_hex(4)}", "sent_at": now_iso(), "rows": rows, **extra}


def hire(contract_no: str, bin_: str, **extra: Any) -> dict[str, Any]:
    return {
        "op": "hire",
        "contract_no": contract_no,
        "enterprise_bin": bin_,
        "worker": {"iin": make_iin(), "last_name": "Ахметов", "first_name": "Нұрлан"},
        "occupation": "driller",
        "start_date": "2025-03-01",
        "monthly_wage": 400000,
        "changed_at": now_iso(),
        **extra,
    }


def enterprise_row(bin_: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "bin": bin_ or make_bin(),
        "name": "Қарағанды Көмір ЖШС",
        "activity_code": "05",
        "region_code": "KZ-35",
        "address": "Қарағанды",
        "lon": 73.1,
        "lat": 49.8,
        "size_band": "medium",
        "hazardous": True,
        "changed_at": now_iso(),
        **extra,
    }
