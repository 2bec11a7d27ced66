"""Compute the access matrix: every route × anonymous and every role → HTTP status.

The test writes the observed matrix to
test-artifacts/route_matrix.json when it differs, so a reviewer can copy it over the snapshot
(tests/security/route_matrix.json) after checking every changed line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

ROLES = ["admin", "analyst", "inspector_krg", "inspector_ala", "akimat_krg", "mchs_krg",
         "industry", "osh_krg", "osh_ala", "worker_krg", "insurer", "hospital",
         "dispatcher_krg", "rescue_krg"]
# Roles that must never see the Karaganda mine's enterprise-scoped data.
OUTSIDE_MINE = {"inspector_ala", "osh_ala", "insurer", "hospital"}
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _flatten(items: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """Routes, including those of included routers (FastAPI keeps them wrapped)."""
    found = []
    for route in items:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            extra = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            found += _flatten(list(inner.routes), prefix + extra)
            continue
        methods = getattr(route, "methods", None)
        if isinstance(route, Mount) or not methods:
            continue
        found += [(m, prefix + route.path) for m in methods if m not in ("HEAD", "OPTIONS")]
    return found


def routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(set(_flatten(list(app.routes))))


def fill(path: str, ids: dict[str, int]) -> str:
    """Put the Karaganda mine's ids into enterprise/site parameters, 1 elsewhere."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if "enterprise" in name:
            return str(ids["enterprise"])
        if "site" in name:
            return str(ids["site"])
        if name in ("code", "lang"):
            return "kk"
        if name.endswith("path") or name == "filename":
            return "x"
        return "1"

    return PARAM.sub(value, path)


def observe(app: FastAPI, ids: dict[str, int],
            client_as: Callable[[str], TestClient]) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = {}
    anon = TestClient(app, base_url="https://testserver", follow_redirects=False)
    clients = {role: client_as(role) for role in ROLES}
    for client in clients.values():
        client.follow_redirects = False
    for method, path in routes(app):
        if path.endswith("/stream"):
            continue  # server-sent events never end; covered by the alarms tests
        url = fill(path, ids)
        row: dict[str, Any] = {"anonymous": _call(anon, method, url)}
        if method == "GET":
            for role, client in clients.items():
                row[role] = _call(client, method, url)
        matrix[f"{method} {path}"] = row
    return matrix


def _call(client: TestClient, method: str, url: str) -> int:
    headers = {"accept": "application/json"}
    if method == "GET":
        return client.get(url, headers=headers).status_code
    return client.request(method, url, json={}, headers=headers).status_code
