"""`make demo`'s command on a fresh SQLite file, as the README promises: migrations, the small
twin with every domain's simulator, the demo logins (the demo worker linked to a worker with
instructions to confirm), and an intact audit chain."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_sets_up_a_fresh_database(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QORGAU_")}
    env |= {"QORGAU_VAR_DIR": str(tmp_path), "QORGAU_DATABASE_URL": ""}
    cli = [sys.executable, "-c", "from qorgau.cli import app; app()"]
    out = subprocess.run([*cli, "demo", "--no-serve"], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for login in ("inspector.krg", "osh.mine", "worker.mine", "analyst", "admin"):
        assert login in out.stdout
    db = sqlite3.connect(tmp_path / "qorgau.sqlite3")
    assert db.execute("SELECT count(*) FROM enterprise").fetchone()[0] > 100
    assert db.execute("SELECT count(*) FROM accident").fetchone()[0] > 0
    linked = db.execute(
        "SELECT count(*) FROM risk_worker_account a JOIN app_user u ON u.id = a.user_id "
        "WHERE u.username = 'worker.mine' AND a.unlinked_at IS NULL").fetchone()[0]
    assert linked == 1
    # the demo mine's people are the simulated mine's: its alarms reach its dispatcher's
    # console (two rules had put the accounts and the site at different enterprises)
    (site_ent,) = db.execute("SELECT enterprise_id FROM site WHERE name LIKE '%(simulated)'"
                             ).fetchone()
    people = dict(db.execute(
        "SELECT u.username, o.enterprise_id FROM app_user u JOIN organisation o "
        "ON o.id = u.organisation_id WHERE u.username LIKE '%.mine'").fetchall())
    assert set(people) == {"osh.mine", "dispatcher.mine", "worker.mine"}
    assert set(people.values()) == {site_ent}
    verify = subprocess.run([*cli, "audit", "verify"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr
