"""Cluster counts equal plain SQL counts under filters and scope, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qorgau.core.errors import Forbidden
from qorgau.core.roles import Role
from qorgau.core.security import SYSTEM_ACTOR, Actor
from qorgau.geo import service
from qorgau.geo.exceptions import MapInputError
from qorgau.registry.models import Enterprise

KZ = "46,40,88,56"


def _sql_count(db, *where) -> int:
    return db.scalar(select(func.count()).select_from(Enterprise).where(*where))


def _total(db, actor, **params) -> int:
    import orjson

    body = service.clusters(db=db, actor=actor, params={"bbox": [KZ], "zoom": ["5"], **params})
    res = orjson.loads(body)["layers"]["enterprises"]
    assert res["total"] == sum(c[1] for c in res["clusters"]) + len(res["points"])
    return res["total"]


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({}, ()),
        ({"region": ["KZ-35"]}, (Enterprise.region_code == "KZ-35",)),
        ({"activity": ["F"]}, (Enterprise.section == "F",)),
        ({"activity": ["05"], "region": ["KZ-10"]},
         (Enterprise.activity_code == "05", Enterprise.region_code == "KZ-10")),
        ({"size": ["large,medium"], "hazardous": ["true"]},
         (Enterprise.size_band.in_(["large", "medium"]), Enterprise.hazardous.is_(True))),
    ],
)
def test_cluster_counts_equal_sql(db, geo_world, params, where) -> None:
    assert _total(db, SYSTEM_ACTOR, **params) == _sql_count(db, *where)


def test_bbox_count_equals_sql(db, geo_world) -> None:
    n = _sql_count(db, Enterprise.lon.between(72.5, 74.5), Enterprise.lat.between(49.0, 50.5))
    import orjson

    body = service.clusters(
        db=db, actor=SYSTEM_ACTOR, params={"bbox": ["72.5,49.0,74.5,50.5"], "zoom": ["8"]}
    )
    assert orjson.loads(body)["layers"]["enterprises"]["total"] == n


def test_new_enterprise_appears_after_refresh(db, geo_world) -> None:
    from factories import make_bin
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn

    before = _total(db, SYSTEM_ACTOR)
    registry.create_enterprise(db=db, actor=SYSTEM_ACTOR, data=EnterpriseIn(
        bin=make_bin(), name="GEO-TEST new", activity_code="41", region_code="KZ-10",
        lon=80.0, lat=49.0, size_band="small", hazardous=False))
    from qorgau.geo import index

    for snap in index._cache.snapshots.values():
        snap.checked = 0.0  # skip the 2 s throttle
    assert _total(db, SYSTEM_ACTOR) == before + 1


def test_inspector_sees_only_region(db, geo_world) -> None:
    inspector = Actor(kind="user", id=1, name="i", role=Role.LABOUR_INSPECTOR, region="KZ-35")
    assert _total(db, inspector) == _sql_count(db, Enterprise.region_code == "KZ-35")
    assert _total(db, inspector, region=["KZ-75"]) == 0


def test_employer_sees_only_own(db, world, geo_world) -> None:
    osh = Actor(kind="user", id=2, name="o", role=Role.EMPLOYER_OSH, region="KZ-35",
                enterprise_id=world.enterprises["mine_krg"])
    assert _total(db, osh) == 1
    assert _total(db, osh, ids=[str(world.enterprises["build_ala"])]) == 0


@pytest.mark.parametrize("role", [Role.INSURER, Role.HOSPITAL_CLERK, Role.WORKER])
def test_roles_without_map_are_refused(db, geo_world, role) -> None:
    with pytest.raises(Forbidden):
        _total(db, Actor(kind="user", id=3, name="x", role=role, organisation_id=1))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": ["80,50,70,45"], "zoom": ["5"]}, "bbox"),
        ({"bbox": ["-10,-10,0,0"], "zoom": ["5"]}, "bbox"),
        ({"bbox": ["-180,-85,180,85"], "zoom": ["12"]}, "bbox"),
        ({"bbox": [KZ], "zoom": ["19"]}, "zoom"),
        ({"bbox": [KZ], "zoom": ["5"], "colour": ["red"]}, "colour"),
        ({"bbox": [KZ], "zoom": ["5"], "region": ["KZ-99"]}, "region"),
        ({"bbox": [KZ], "zoom": ["5"], "layers": ["nope"]}, "layers"),
        ({"bbox": [KZ], "zoom": ["5"], "layers": ["pending_test"]}, "layers"),
    ],
)
def test_bad_input_names_the_field(db, geo_world, pending_layer, params, field) -> None:
    with pytest.raises(MapInputError) as exc:
        service.clusters(db=db, actor=SYSTEM_ACTOR, params=params)
    assert exc.value.field == field


def test_flag_layer_counts_hazardous(db, geo_world) -> None:
    import orjson

    body = service.clusters(db=db, actor=SYSTEM_ACTOR,
                            params={"bbox": [KZ], "zoom": ["5"], "layers": ["hazardous"]})
    assert orjson.loads(body)["layers"]["hazardous"]["total"] == _sql_count(
        db, Enterprise.hazardous.is_(True))


@pytest.fixture
def pending_layer():
    """A layer whose domain function does not exist (yet): listed, never clustered."""
    from qorgau.geo import index
    from qorgau.geo.layers import LAYERS, register_layer

    register_layer("pending_test", label="Pending", roles=set(Role), flag_fn=lambda db, ids: set(),
                   requires=("qorgau.inspections.service:no_such_function",))
    index.invalidate()
    yield "pending_test"
    LAYERS.pop("pending_test", None)
    index.invalidate()


def test_layer_registry_marks_missing_domains(db, geo_world, pending_layer) -> None:
    layers = {la["name"]: la for la in service.layer_list(db=db, actor=SYSTEM_ACTOR)}
    assert layers["enterprises"]["available"]
    assert layers["open_violations"]["available"]
    assert not layers[pending_layer]["available"]
    assert layers[pending_layer]["note"]
