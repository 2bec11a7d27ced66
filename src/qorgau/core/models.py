"""Import every domain's tables so the metadata (and Alembic) sees the whole schema."""

from __future__ import annotations

import importlib
import importlib.util

from sqlalchemy import MetaData

from qorgau.core.db import Base

MODEL_DOMAINS = [
    "core.audit",
    "core.jobs",
    "accounts.models",
    "registry.models",
    "incidents.models",
    "indicators.models",
    "concealment.models",
    "risk.models",
    "insurance.models",
    "equipment.models",
    "inspections.models",
    "alarms.models",
    "geo.models",
    "integration.models",
]


def load_all_models() -> MetaData:
    for name in MODEL_DOMAINS:
        full = f"qorgau.{name}"
        if importlib.util.find_spec(full) is not None:
            importlib.import_module(full)
    return Base.metadata
