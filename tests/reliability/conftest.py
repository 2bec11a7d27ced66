"""Fault-test fixtures (see server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reliability.server import Server, make_server


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[tuple[Server, dict[str, Any]]]:
    server, world = make_server(f"sqlite:///{tmp_path / 'qorgau.sqlite3'}", tmp_path)
    try:
        yield server, world
    finally:
        server.stop()
