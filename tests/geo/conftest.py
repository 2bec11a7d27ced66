"""Geo fixtures: a few hundred enterprises spread over three regions, added once per backend."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from factories import make_bin

GEO_PREFIX = "GEO-TEST"
# region, lon range, lat range
AREAS = [("KZ-35", (72.5, 74.5), (49.0, 50.5)), ("KZ-75", (76.7, 77.1), (43.1, 43.4)),
         ("KZ-10", (78.0, 82.0), (48.0, 50.5))]
ACTIVITIES = [("05", "B"), ("41", "F"), ("01", "A"), ("24", "C"), ("49", "H")]
SIZES = ["micro", "small", "medium", "large"]


@pytest.fixture(scope="session")
def geo_world(db_url: str, world: object) -> dict[str, int]:
    from qorgau.core.db import get_sessionmaker
    from qorgau.geo import index
    from qorgau.registry.models import Enterprise

    rng = random.Random(7)
    with get_sessionmaker()() as db:
        if db.scalar(select(Enterprise.id).where(Enterprise.name.startswith(GEO_PREFIX))) is None:
            for i in range(300):
                region, (x0, x1), (y0, y1) = AREAS[i % 3]
                code, section = ACTIVITIES[rng.randrange(len(ACTIVITIES))]
                db.add(Enterprise(
                    bin=make_bin(), name=f"{GEO_PREFIX} {i:03d}", activity_code=code,
                    section=section, region_code=region, lon=rng.uniform(x0, x1),
                    lat=rng.uniform(y0, y1), size_band=SIZES[rng.randrange(4)],
                    hazardous=rng.random() < 0.3, created_by="test",
                ))
            db.commit()
    index.BACKGROUND = False
    index.invalidate()
    return {"n": 300}
