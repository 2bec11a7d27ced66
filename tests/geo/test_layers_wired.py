"""Layers wired to other domains: concealment (flag + card + choropleth), alarms (points +
SSE), inspections' risk scores; each shown only to the roles that domain allows."""

from __future__ import annotations

import pytest

KZ = "46,40,88,56"


def _layers(client) -> dict[str, dict]:
    return {la["name"]: la for la in client.get("/api/v1/map/layers").json()}


def test_concealment_layer_only_for_case_readers(client_as, geo_world) -> None:
    assert _layers(client_as("inspector_krg"))["concealment"]["available"] is True
    assert _layers(client_as("analyst"))["concealment"]["kind"] == "flag"
    for user in ("akimat_krg", "mchs_krg", "industry", "osh_krg"):
        assert "concealment" not in _layers(client_as(user)), user
    r = client_as("akimat_krg").get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5&layers=concealment")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "layers"


def test_concealment_clusters_and_card_part(client_as, world, geo_world) -> None:
    c = client_as("inspector_krg")
    r = c.get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5&layers=concealment")
    assert r.status_code == 200
    assert r.json()["layers"]["concealment"]["total"] >= 0
    mine = world.enterprises["mine_krg"]
    part = c.get(f"/api/v1/map/enterprises/{mine}/card").json()["parts"]["concealment"]
    assert set(part) >= {"open_cases", "confirmed_cases", "max_probability", "kinds"}
    # the akimat may open the card but not the concealment part
    akimat = client_as("akimat_krg").get(f"/api/v1/map/enterprises/{mine}/card").json()
    assert "concealment" not in akimat["parts"]


def test_under_reporting_metric_by_permission(client_as, geo_world) -> None:
    r = client_as("analyst").get("/api/v1/map/choropleth?metric=under_reporting")
    assert r.status_code == 200
    body = r.json()
    assert body["available"] is True
    assert len(body["rows"]) == 20
    assert all(row["value"] is None or 0 <= row["value"] <= 100 for row in body["rows"])
    # the emergency inspector reads the choropleth but not concealment estimates
    r = client_as("mchs_krg").get("/api/v1/map/choropleth?metric=under_reporting")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "metric"
    names = [
        m["name"] for m in client_as("mchs_krg").get("/api/v1/map/choropleth").json()["metrics"]
    ]
    assert "under_reporting" not in names and "enterprises" in names


def test_alarms_layer_points_and_live_url(client_as, geo_world) -> None:
    c = client_as("inspector_krg")
    alarms = _layers(c)["alarms"]
    assert alarms["kind"] == "live" and alarms["live_url"] == "/api/v1/alarms/stream"
    r = c.get("/api/v1/map/points/alarms")
    assert r.status_code == 200
    assert all({"alarm_id", "site_id", "lon", "lat", "state"} <= set(a) for a in r.json())
    assert "alarms" not in _layers(client_as("akimat_krg"))  # no alarms.read
    assert client_as("akimat_krg").get("/api/v1/map/points/alarms").status_code == 422


def test_site_positions_scoped(client_as, world, geo_world) -> None:
    mine, build = world.sites["mine_krg"], world.sites["build_ala"]
    r = client_as("inspector_krg").get(f"/api/v1/map/sites?ids={mine},{build}")
    assert r.status_code == 200
    assert set(r.json()) == {str(mine)}  # the other region's site is not disclosed


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/map/points/nope", "layer"),
        ("/api/v1/map/points/enterprises", "layer"),
        ("/api/v1/map/points/alarms?bbox=1,2", "bbox"),
        ("/api/v1/map/sites?ids=a,b", "ids"),
        ("/api/v1/map/sites?ids=" + ",".join(["1"] * 201), "ids"),
    ],
)
def test_points_bad_input(client_as, geo_world, url, field) -> None:
    r = client_as("inspector_krg").get(url)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == field


def test_risk_from_inspections_scores(db, geo_world) -> None:
    from qorgau.geo import index

    snap = index.build(db)
    assert snap.risk_source.startswith("inspections")
    assert float(snap.score.min()) >= 0 and float(snap.score.max()) <= 100
