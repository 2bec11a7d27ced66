"""The CLI against the test databases: migrations, users, audit verification."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from conftest import World
from qorgau.accounts.models import User
from qorgau.cli import app
from qorgau.core.audit import AuditEntry

runner = CliRunner()


def test_db_upgrade_on_a_fresh_sqlite_file(tmp_path: Path, db_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    old = os.environ["QORGAU_DATABASE_URL"]
    from qorgau.core.config import get_settings

    try:
        os.environ["QORGAU_DATABASE_URL"] = url
        get_settings.cache_clear()
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    finally:
        os.environ["QORGAU_DATABASE_URL"] = old
        get_settings.cache_clear()


def test_users_create_and_audit_verify_detects_tampering(db: Session, world: World) -> None:
    username = f"cli{secrets.token_hex(3)}"
    result = runner.invoke(app, ["users", "create", username, "CLI User", "labour_inspector",
                                 str(world.orgs["inspector_krg"]),
                                 "--password", "cli-password-123"])
    assert result.exit_code == 0, result.output
    assert db.scalar(select(User.id).where(User.username == username)) is not None
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    entry = db.scalar(select(AuditEntry).where(AuditEntry.object_type == "user")
                      .order_by(AuditEntry.seq.desc()))
    assert entry is not None
    original = dict(entry.diff)
    db.execute(update(AuditEntry).where(AuditEntry.id == entry.id)
               .values(diff={"before": None, "after": {"username": "someone-else"}}))
    db.commit()
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "edited" in bad.output
    db.execute(update(AuditEntry).where(AuditEntry.id == entry.id).values(diff=original))
    db.commit()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_users_create_rejects_role_that_does_not_fit(world: World) -> None:
    result = runner.invoke(app, ["users", "create", "misfit", "Misfit", "insurer",
                                 str(world.orgs["inspector_krg"]), "--password", "x" * 12])
    assert result.exit_code == 2
    assert "does not fit" in result.output
