"""Enterprises changed after the index was built are applied as a delta (audit log →
changed ids → those rows re-read), not by a full build; counts stay equal to plain SQL."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from factories import make_bin


@pytest.fixture
def saved(db, geo_world):
    import qorgau.geo.service  # noqa: F401 - registers the flag layers, as the app does
    from qorgau.geo import index

    index.invalidate()
    snap = index.get_snapshot(db)  # a full build (BACKGROUND is off in tests), saved
    yield index, snap
    index.invalidate()


def _restart_without_build(index, monkeypatch) -> None:
    with index._cache.lock:
        index._cache.snapshots.clear()

    def refuse(*a, **k):
        raise AssertionError("built in full instead of applying the delta")

    monkeypatch.setattr(index, "build", refuse)


def _new(db, **kw):
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service
    from qorgau.registry.schemas import EnterpriseIn

    data = {"bin": make_bin(), "name": "GEO-DELTA new", "activity_code": "41",
            "region_code": "KZ-35", "lon": 73.3, "lat": 49.8, "size_band": "small",
            "hazardous": False, **kw}
    return service.create_enterprise(db=db, actor=SYSTEM_ACTOR, data=EnterpriseIn(**data))


def _sql_count(db, **where) -> int:
    from qorgau.registry.models import Enterprise

    stmt = select(func.count(Enterprise.id))
    for col, value in where.items():
        stmt = stmt.where(getattr(Enterprise, col) == value)
    return int(db.scalar(stmt))


def test_restart_after_changes_applies_a_delta(db, saved, monkeypatch) -> None:
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.geo.filters import Filters
    from qorgau.geo.service import _bin_prefix_ids
    from qorgau.registry import service
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EnterprisePatch

    index, built = saved
    added = _new(db, hazardous=True, size_band="large")
    moved = db.scalar(
        select(Enterprise).where(
            Enterprise.name.startswith("GEO-TEST"), Enterprise.region_code == "KZ-35",
            Enterprise.hazardous.is_(False),
        )
    )
    service.update_enterprise(
        db=db, actor=SYSTEM_ACTOR, enterprise_id=moved.id,
        data=EnterprisePatch(hazardous=True, lon=74.0, lat=50.0, reason="new boiler house"),
    )
    _restart_without_build(index, monkeypatch)
    snap = index.get_snapshot(db)
    assert len(snap.index) == len(built.index) + 1
    assert list(snap.ids) == sorted(snap.ids.tolist())
    assert added.id in set(snap.ids.tolist())
    for f, where in [
        (Filters(), {}),
        (Filters(regions=("KZ-35",)), {"region_code": "KZ-35"}),
        (Filters(regions=("KZ-35",), hazardous=True), {"region_code": "KZ-35", "hazardous": True}),
        (Filters(sizes=("large",)), {"size_band": "large"}),
    ]:
        assert snap.index.count(f) == _sql_count(db, **where), f
    point = snap.index.match_ids(Filters(ids=(moved.id,)), (73.99, 49.99, 74.01, 50.01))
    assert point.tolist() == [moved.id]
    assert _bin_prefix_ids(snap, added.bin) == (added.id,)
    assert _bin_prefix_ids(snap, moved.bin) == (moved.id,)


def test_delta_keeps_layer_flags_of_revised_enterprises(db, saved) -> None:
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.geo.filters import Filters
    from qorgau.registry import service
    from qorgau.registry.schemas import EnterprisePatch

    index, built = saved
    flagged = [n for n in built.index.flag_names
               if built.index.count(Filters(flags={n: True}))]
    if not flagged:
        pytest.skip("no flag layer has enterprises in this world")
    name = flagged[0]
    target = int(built.index.match_ids(Filters(flags={name: True}))[0])
    service.update_enterprise(
        db=db, actor=SYSTEM_ACTOR, enterprise_id=target,
        data=EnterprisePatch(address="Delta street 1", reason="address corrected"),
    )
    new = index.caught_up(db, built)
    assert new is not None
    assert new.index.count(Filters(ids=(target,), flags={name: True})) == 1
    assert new.index.count(Filters(flags={name: True})) == built.index.count(
        Filters(flags={name: True})
    )


def test_rows_written_without_the_audit_log_force_a_full_build(db, saved) -> None:
    from qorgau.registry.models import Enterprise

    index, built = saved
    db.add(Enterprise(bin=make_bin(), name="GEO-DELTA unaudited", activity_code="41",
                      section="F", region_code="KZ-35", lon=73.1, lat=49.7,
                      size_band="micro", hazardous=False, created_by="test"))
    db.commit()
    assert index.caught_up(db, built) is None  # the table's count disagrees: full build
    with index._cache.lock:
        index._cache.snapshots.clear()
    snap = index.get_snapshot(db)
    assert len(snap.index) == _sql_count(db)
    assert np.array_equal(snap.ids, np.sort(snap.ids))
