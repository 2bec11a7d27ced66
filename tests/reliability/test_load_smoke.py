"""The mixed-load benchmark (benchmarks/load_mix.py) for ~10 s at a small user count against the
real `qorgau serve` on a fresh SQLite database: no server error, every accident answered 201 is
in the database afterwards, and the gateways' telemetry was accepted and counted.

The script runs as a subprocess: locust monkey-patches the interpreter with gevent on import,
which must not happen inside the test process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load_mix.py"


def test_mixed_load_has_no_server_errors_and_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--world", "tiny", "--users", "6", "--seconds", "10",
         "--background", "0", "--workdir", str(tmp_path), "--json", str(out), "--no-append"],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    (level,) = result["levels"]
    checks = result["checks"]

    # every class was exercised during the measured window, and nothing answered 5xx at all
    # (warm-up and shutdown included)
    assert all(level["classes"][c]["n"] > 0 for c in ("dashboard", "telemetry")), level
    assert level["5xx"] == 0, level
    fives = {k: n for k, n in result["statuses"].items() if k.split()[-1].startswith("5")}
    assert fives == {}, fives
    assert level["errors"] == 0, result["statuses"]

    # every acknowledged accident exists, read from the database file the server wrote
    acked = set(result["checks"]["accidents_acknowledged_ids"])
    assert acked, "no accident was acknowledged"
    with sqlite3.connect(tmp_path / "qorgau.sqlite3") as con:
        stored = {i for (i,) in con.execute("select id from accident")}
        counted = con.execute("select coalesce(sum(n_accepted), 0) from alarm_device").fetchone()
    assert acked <= stored, sorted(acked - stored)
    assert checks["accidents_lost"] == []

    # telemetry: every reading sent was acknowledged and the device counters agree
    assert checks["readings_sent"] > 0
    assert checks["readings_accepted"] == checks["readings_sent"], checks
    assert checks["readings_stored"] == checks["readings_accepted"] == counted[0], checks
