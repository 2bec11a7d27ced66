"""Map HTTP API: shapes, scope, 422s naming the field, 403s, export bounds, pages."""

from __future__ import annotations

import pytest

KZ = "46,40,88,56"


def test_clusters_payload_and_total(client_as, geo_world) -> None:
    r = client_as("analyst").get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5&region=KZ-35")
    assert r.status_code == 200
    assert len(r.content) < 50_000
    assert r.json()["layers"]["enterprises"]["total"] >= 100


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=80,50,70,45&zoom=5", "bbox"),
        ("bbox=1,2,3&zoom=5", "bbox"),
        (f"bbox={KZ}&zoom=40", "zoom"),
        (f"bbox={KZ}&zoom=5&bogus=1", "bogus"),
        (f"bbox={KZ}&zoom=5&layers=nope", "layers"),
        ("zoom=5", "bbox"),
    ],
)
def test_bad_input_is_422_naming_field(client_as, geo_world, query, field) -> None:
    r = client_as("inspector_krg").get(f"/api/v1/map/clusters?{query}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == field


@pytest.mark.parametrize("user", ["insurer", "hospital", "worker_krg"])
def test_roles_without_map_get_403(client_as, geo_world, user) -> None:
    assert client_as(user).get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5").status_code == 403


def test_anonymous_gets_401(client, geo_world) -> None:
    assert client.get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5").status_code == 401


def test_card_scope(client_as, world, geo_world) -> None:
    mine, build = world.enterprises["mine_krg"], world.enterprises["build_ala"]
    r = client_as("osh_krg").get(f"/api/v1/map/enterprises/{mine}/card")
    assert r.status_code == 200
    body = r.json()
    assert body["parts"]["enterprises"]["name"].startswith("Шахта")
    assert body["links"]["registry"] == f"/registry/enterprises/{mine}"
    assert client_as("osh_krg").get(f"/api/v1/map/enterprises/{build}/card").status_code == 404
    assert (
        client_as("inspector_krg").get(f"/api/v1/map/enterprises/{build}/card").status_code == 404
    )
    assert (
        client_as("inspector_ala").get(f"/api/v1/map/enterprises/{build}/card").status_code == 200
    )


def test_employer_clusters_only_own(client_as, geo_world) -> None:
    r = client_as("osh_ala").get(f"/api/v1/map/clusters?bbox={KZ}&zoom=5")
    assert r.json()["layers"]["enterprises"]["total"] == 1


def test_search_by_name_scoped(client_as, geo_world) -> None:
    hits = client_as("inspector_krg").get("/api/v1/map/search?q=GEO-TEST").json()
    assert hits and all(h["region_code"] == "KZ-35" for h in hits)
    assert client_as("inspector_krg").get("/api/v1/map/search?q=x").status_code == 422


def test_export_geojson_honours_scope(client_as, geo_world) -> None:
    r = client_as("inspector_krg").get("/api/v1/map/export.geojson?activity=B")
    assert r.status_code == 200
    feats = r.json()["features"]
    assert feats and {f["properties"]["region"] for f in feats} == {"KZ-35"}
    assert {f["properties"]["activity"][:2] for f in feats} == {"05"}


def test_export_refuses_too_many(client_as, geo_world, monkeypatch) -> None:
    from qorgau.geo import service

    monkeypatch.setattr(service, "EXPORT_MAX_FEATURES", 5)
    r = client_as("analyst").get("/api/v1/map/export.geojson")
    assert r.status_code == 422
    assert "filter" in r.json()["detail"][0]["msg"]


def test_choropleth(client_as, geo_world) -> None:
    r = client_as("analyst").get("/api/v1/map/choropleth?metric=enterprises")
    assert r.status_code == 200 and len(r.json()["rows"]) == 20
    rows = client_as("inspector_krg").get("/api/v1/map/choropleth?metric=enterprises").json()
    assert [row["region"] for row in rows["rows"]] == ["KZ-35"]
    listed = client_as("analyst").get("/api/v1/map/choropleth?metric=enterprises").json()
    assert all(m["available"] for m in listed["metrics"])  # every issue metric is served
    assert client_as("analyst").get("/api/v1/map/choropleth?metric=x").status_code == 422
    assert client_as("osh_krg").get("/api/v1/map/choropleth").status_code == 403


def test_regions_and_embed_public(client, geo_world) -> None:
    gj = client.get("/api/v1/map/regions.geojson").json()
    assert len(gj["features"]) == 21
    r = client.get(f"/api/v1/map/embed/clusters?bbox={KZ}&zoom=5&region=KZ-35")
    assert r.status_code == 200
    assert r.json()["point_fields"] == ["lon", "lat", "risk"]
    assert client.get(f"/api/v1/map/embed/clusters?bbox={KZ}&zoom=15").status_code == 422
    assert client.get(f"/api/v1/map/embed/clusters?bbox={KZ}&zoom=5&ids=1").status_code == 422
    page = client.get("/embed/map?region=KZ-35")
    assert page.status_code == 200 and "x-frame-options" not in page.headers


def test_map_page_renders_layers(client, world, geo_world) -> None:
    from qorgau.accounts import service as accounts
    from qorgau.accounts.models import User
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.deps import SESSION_COOKIE

    with get_sessionmaker()() as db:
        user = db.get(User, world.users["inspector_krg"])
        token, _ = accounts.open_session(db, user=user, kind="cookie")
    client.cookies.set(SESSION_COOKIE, token)
    r = client.get("/map")
    assert r.status_code == 200
    assert "/static/js/map.js" in r.text and "<script>" not in r.text
    assert 'value="open_violations"' in r.text and 'value="equipment_compliance"' in r.text
    assert 'value="open_violations" disabled' not in r.text  # served now, not "not yet"
