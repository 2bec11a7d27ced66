"""Backup and restore on SQLite and PostgreSQL; the audit chain verifies after a restore."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import World
from factories import make_bin
from qorgau.cli import app
from qorgau.core.db import get_sessionmaker
from qorgau.registry.models import Enterprise

runner = CliRunner()


def _count() -> int:
    with get_sessionmaker()() as db:
        return db.scalar(select(func.count()).select_from(Enterprise)) or 0


def test_backup_then_restore_rolls_back_later_writes(
    tmp_path: Path, client_as: Callable[[str], TestClient], world: World
) -> None:
    target = tmp_path / "qorgau.backup"
    result = runner.invoke(app, ["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0
    before = _count()
    r = client_as("admin").post("/api/v1/enterprises", json={
        "bin": make_bin(), "name": "После резервной копии", "activity_code": "41",
        "region_code": "KZ-35", "lon": 73.1, "lat": 49.8, "size_band": "small"})
    assert r.status_code == 201
    assert _count() == before + 1
    restored = runner.invoke(app, ["restore", str(target)])
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output
    assert _count() == before


def test_restore_of_missing_file_fails_cleanly(tmp_path: Path, world: World) -> None:
    result = runner.invoke(app, ["restore", str(tmp_path / "nope.backup")])
    assert result.exit_code != 0
    assert _count() > 0
