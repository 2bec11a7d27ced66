"""Every role against every scoped registry endpoint: out of scope is 403/404 and no data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from conftest import ENTERPRISES, World

ROLES = ["admin", "analyst", "inspector_krg", "inspector_ala", "akimat_krg", "mchs_krg",
         "industry", "osh_krg", "osh_ala", "worker_krg", "insurer", "hospital"]
# Which of the world's two enterprises each role may see.
VISIBLE = {
    "admin": {"mine_krg", "build_ala"}, "analyst": {"mine_krg", "build_ala"},
    "industry": {"mine_krg", "build_ala"}, "inspector_krg": {"mine_krg"},
    "akimat_krg": {"mine_krg"}, "mchs_krg": {"mine_krg"}, "inspector_ala": {"build_ala"},
    "osh_krg": {"mine_krg"}, "osh_ala": {"build_ala"}, "worker_krg": set(), "insurer": set(),
    "hospital": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_enterprise_detail_and_list_scope(
    role: str, client_as: Callable[[str], TestClient], world: World
) -> None:
    c = client_as(role)
    for key, ent_id in world.enterprises.items():
        # Search by the exact name so other tests' enterprises cannot push it off the page.
        name = ENTERPRISES[key][2]
        listed = c.get("/api/v1/enterprises", params={"q": name, "size": 200})
        r = c.get(f"/api/v1/enterprises/{ent_id}")
        if key in VISIBLE[role]:
            assert r.status_code == 200, (role, key)
            assert ent_id in [e["id"] for e in listed.json()["items"]]
        else:
            assert r.status_code in (403, 404), (role, key, r.status_code)
            assert "bin" not in r.text
            if listed.status_code == 200:
                assert ent_id not in [e["id"] for e in listed.json()["items"]]


@pytest.mark.parametrize("role", ROLES)
def test_sites_and_workers_scope(
    role: str, client_as: Callable[[str], TestClient], world: World
) -> None:
    c = client_as(role)
    for key, site_id in world.sites.items():
        r = c.get(f"/api/v1/sites/{site_id}")
        assert (r.status_code == 200) == (key in VISIBLE[role]), (role, key, r.status_code)
    for key, ent_id in world.enterprises.items():
        r = c.get("/api/v1/workers", params={"enterprise_id": ent_id})
        if r.status_code == 200:
            assert (r.json()["total"] > 0) == (key in VISIBLE[role]), (role, key)
        else:
            assert r.status_code == 403


REGION_OF = {"mine_krg": "KZ-35", "build_ala": "KZ-75"}
NATIONAL = {"admin", "analyst", "industry"}


@pytest.mark.parametrize("role", ROLES)
def test_headcount_is_scoped(role: str, client_as: Callable[[str], TestClient],
                             world: World) -> None:
    r = client_as(role).get("/api/v1/headcount", params={"group_by": "region"})
    if r.status_code == 403:
        assert not VISIBLE[role]
        return
    regions = {row["key"] for row in r.json()["rows"]}
    if role not in NATIONAL:
        # A regional or enterprise role sees headcount only where it may see enterprises.
        assert regions <= {REGION_OF[key] for key in VISIBLE[role]}, (role, regions)


def test_employer_cannot_create_site_for_another_enterprise(
    client_as: Callable[[str], TestClient], world: World
) -> None:
    r = client_as("osh_krg").post("/api/v1/sites", json={
        "enterprise_id": world.enterprises["build_ala"], "kind": "construction",
        "name": "Not mine", "lon": 76.9, "lat": 43.2})
    assert r.status_code == 422
    ok = client_as("osh_krg").post("/api/v1/sites", json={
        "enterprise_id": world.enterprises["mine_krg"], "kind": "mine",
        "name": "Shaft 2", "lon": 73.2, "lat": 49.9})
    assert ok.status_code == 201


def test_inspector_cannot_write_registry(client_as: Callable[[str], TestClient],
                                         world: World) -> None:
    r = client_as("inspector_krg").patch(
        f"/api/v1/enterprises/{world.enterprises['mine_krg']}",
        json={"name": "Hijack", "reason": "testing"})
    assert r.status_code == 403


def test_a_site_zone_needs_a_unique_code_and_a_known_kind(
    client_as: Callable[[str], TestClient], world: World
) -> None:
    """A zone's code is what position readings and withdraw orders name: one without it, two
    with the same code, or a kind other than working/safe is a 422 naming the zones; a good
    list is stored as given."""
    c = client_as("osh_krg")
    site = {"enterprise_id": world.enterprises["mine_krg"], "kind": "mine", "name": "Shaft 3",
            "lon": 73.2, "lat": 49.9}
    for zones in ([{"name": "Lamp room", "kind": "safe"}],
                  [{"code": "L1"}, {"code": "L1", "kind": "safe"}],
                  [{"code": "L1", "kind": "refuge"}]):
        r = c.post("/api/v1/sites", json={**site, "zones": zones})
        assert r.status_code == 422, zones
        assert r.json()["detail"][0]["loc"][:2] == ["body", "zones"], r.json()
    r = c.post("/api/v1/sites", json={**site, "zones": [
        {"code": "L1", "name": "Longwall 1"}, {"code": "SAFE", "kind": "safe"}]})
    assert r.status_code == 201, r.text
    assert r.json()["zones"] == [{"code": "L1", "name": "Longwall 1", "kind": "working"},
                                 {"code": "SAFE", "name": "", "kind": "safe"}]
