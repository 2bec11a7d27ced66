"""The map index kept on disk: a new process (here: an emptied in-memory cache) loads it
instead of rebuilding, and rebuilds when enterprises changed or the file is damaged."""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_bin


@pytest.fixture
def fresh(db, geo_world):
    from qorgau.geo import index, store

    index.invalidate()
    snap = index.get_snapshot(db)  # a full build (BACKGROUND is off in tests), saved
    yield index, store, snap
    index.invalidate()


def _forget_memory(index) -> None:
    with index._cache.lock:
        index._cache.snapshots.clear()


def _no_build(monkeypatch, index) -> None:
    def refuse(*a, **k):
        raise AssertionError("rebuilt instead of loading the saved index")

    monkeypatch.setattr(index, "build", refuse)


def test_saved_index_is_loaded_and_answers_the_same(db, fresh, monkeypatch) -> None:
    from qorgau.geo.filters import Filters

    index, store, built = fresh
    assert store.path_for(db).exists()
    _forget_memory(index)
    _no_build(monkeypatch, index)
    loaded = index.get_snapshot(db)
    assert loaded is not built
    assert len(loaded.index) == len(built.index)
    assert loaded.index.flag_names == built.index.flag_names
    assert np.array_equal(loaded.ids, built.ids) and np.array_equal(loaded.band, built.band)
    assert loaded.risk_source == built.risk_source
    f = Filters(regions=("KZ-35",), hazardous=True)
    bbox = (46.0, 40.0, 88.0, 56.0)
    assert loaded.index.count(f) == built.index.count(f)
    body = built.index.query(bbox, 6, f).to_json_bytes()
    assert loaded.index.query(bbox, 6, f).to_json_bytes() == body


def test_new_enterprise_makes_the_saved_index_stale(db, fresh) -> None:
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service
    from qorgau.registry.schemas import EnterpriseIn

    index, _, built = fresh
    ent = service.create_enterprise(
        db=db,
        actor=SYSTEM_ACTOR,
        data=EnterpriseIn(
            bin=make_bin(),
            name="GEO-STORE new",
            activity_code="41",
            region_code="KZ-35",
            lon=73.2,
            lat=49.9,
            size_band="small",
            hazardous=False,
        ),
    )
    _forget_memory(index)
    snap = index.get_snapshot(db)
    assert len(snap.index) == len(built.index) + 1
    assert ent.id in set(snap.ids.tolist())


def test_damaged_or_foreign_file_is_rebuilt(db, fresh) -> None:
    index, store, built = fresh
    path = store.path_for(db)
    path.write_bytes(b"not an npz")
    _forget_memory(index)
    snap = index.get_snapshot(db)
    assert len(snap.index) == len(built.index)
    assert store.load(path) is not None  # the rebuild saved a good file again


def test_index_saved_in_an_older_format_is_rebuilt(db, fresh, monkeypatch) -> None:
    """Format 1 stored the attributes as an n × 6 uint8 "attrs" column; such a file is
    rebuilt, never read as the current layout."""
    import json

    from qorgau.geo.filters import Filters

    index, store, built = fresh
    path = store.path_for(db)
    with np.load(path) as z:
        body = {k: z[k] for k in z.files}
    meta = json.loads(bytes(body.pop("meta")).decode())
    cols = built.index.to_arrays()
    body.pop("word")
    names = ("region", "section", "division", "size", "hazardous", "risk_band")
    body["attrs"] = np.stack([np.asarray(cols[k]).astype(np.uint8) for k in names], axis=1)
    body["meta"] = np.frombuffer(json.dumps({**meta, "format": 1}).encode(), np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **body)
    assert store.load(path) is None

    builds = []
    real_build = index.build
    monkeypatch.setattr(index, "build", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    _forget_memory(index)
    snap = index.get_snapshot(db)
    assert builds, "the old file was read instead of rebuilt"
    f = Filters(hazardous=True)
    bbox = (46.0, 40.0, 88.0, 56.0)
    assert (
        snap.index.query(bbox, 5, f).to_json_bytes()
        == built.index.query(bbox, 5, f).to_json_bytes()
    )
    assert store.load(path) is not None  # saved again in the current format
