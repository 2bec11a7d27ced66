"""A serving process (`qorgau serve`) freezes its start-up heap, as the alarm worker does: a
full collection over the modules, ORM registries and kernels it loaded held a process for up
to ~170 ms on a slow machine, and in a web process that is a live console's push held back."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from reliability.server import Server

pytestmark = pytest.mark.slow


def _frozen(server: Server) -> float:
    body = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(r"^qorgau_gc_frozen_objects (\S+)$", body, re.M)
    assert found, body[:2000]
    return float(found.group(1))


def test_the_serving_process_freezes_its_start_up_heap(
        sqlite_server: tuple[Server, dict[str, Any]]) -> None:
    server, _world = sqlite_server
    server.start()
    # every domain's models and routers are loaded by then: far more than a bare interpreter
    assert _frozen(server) > 50_000
