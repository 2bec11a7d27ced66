"""The role × route × tenant matrix covers every route; a new route fails until it is reviewed.

Invariants checked on every run: no route answers 5xx to anyone; anonymous callers get 401 or a
redirect to the login page except on the declared public routes; roles outside the Karaganda
mine's tenant never get 200 on a route addressed by that mine's enterprise or site id. Every
route must appear in the reviewed snapshot
(tests/security/route_matrix.json, with the statuses seen when it was reviewed; statuses for ids
other than the mine's depend on what other tests created, so only the route set is compared).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import World
from route_matrix import OUTSIDE_MINE, PARAM, observe

# one worker for the module: its matrix (every route × role, ~25 s) is built once, not once
# on each worker that drew one of its tests
pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
              pytest.mark.xdist_group("route_matrix")]

SNAPSHOT = Path(__file__).with_name("route_matrix.json")
OUT = Path(__file__).resolve().parents[2] / "test-artifacts" / "route_matrix.json"
# Reachable without logging in, on purpose.
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/login", "/lang/", "/static",
                   "/api/openapi.json", "/docs", "/embed/", "/api/v1/map/embed/",
                   "/api/v1/map/regions.geojson", "/api/v1/auth/token", "/hazard",
                   "/api/v1/hazard-reports", "/api/v1/public", "/incidents-sw.js",
                   "/manifest")


@pytest.fixture(scope="module")
def matrix(app: FastAPI, world: World,
           client_as: Callable[[str], TestClient]) -> dict[str, dict[str, int]]:
    ids = {"enterprise": world.enterprises["mine_krg"], "site": world.sites["mine_krg"]}
    observed = observe(app, ids, client_as)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(observed, indent=1, sort_keys=True), encoding="utf-8")
    return observed


def test_no_route_answers_with_a_server_error(matrix: dict[str, dict[str, int]]) -> None:
    errors = {route: row for route, row in matrix.items() if any(s >= 500 for s in row.values())}
    assert errors == {}


def test_anonymous_is_refused_outside_public_routes(matrix: dict[str, dict[str, int]]) -> None:
    leaks = {route: row["anonymous"] for route, row in matrix.items()
             if not route.split(" ", 1)[1].startswith(PUBLIC_PREFIXES)
             and row["anonymous"] not in (401, 303, 403, 404, 405, 422)}
    assert leaks == {}


def test_other_tenants_never_read_the_mine(matrix: dict[str, dict[str, int]]) -> None:
    leaks = {}
    for route, row in matrix.items():
        method, path = route.split(" ", 1)
        if method != "GET" or not ("{enterprise" in path or "{site" in path):
            continue
        if path.startswith(PUBLIC_PREFIXES):
            continue
        bad = {role: status for role, status in row.items()
               if role in OUTSIDE_MINE and status == 200}
        if bad:
            leaks[route] = bad
    assert leaks == {}


def test_every_route_is_in_the_reviewed_matrix(matrix: dict[str, dict[str, int]]) -> None:
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    new = sorted(set(matrix) - set(expected))
    gone = sorted(set(expected) - set(matrix))
    assert not new, f"routes missing from the reviewed matrix: {new}"
    assert not gone, f"routes in the matrix that no longer exist: {gone}"


# The roles that answer alarms without configuring them: every GET right pinned route by route.
RESPONDERS = ("dispatcher_krg", "rescue_krg")


def _stable(path: str) -> bool:
    """Addressed by nothing or by the mine's enterprise/site only: the same answer whatever
    other tests created (an id 1 of anything else may be anyone's)."""
    names = PARAM.findall(path)
    return all("enterprise" in n or "site" in n or not n.endswith("_id") for n in names)


def test_responder_roles_read_exactly_what_was_reviewed(
        matrix: dict[str, dict[str, int]]) -> None:
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = {f"{route} {role}": (expected[route].get(role), status)
               for route, row in matrix.items()
               if route in expected and _stable(route.split(" ", 1)[1])
               for role, status in row.items() if role in RESPONDERS
               and status != expected[route].get(role)}
    assert changed == {}
