"""docs/integration.md: every ```sh test block runs, in order, in one shell, against a live
uvicorn on a free port with a freshly migrated, seeded SQLite database; the ```python test
snippet verifies a real signature."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from integration.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integration.md"
PASSWORD = "docs-password-2026"

SEED = """
from qorgau.accounts.models import Organisation, User
from qorgau.core.db import get_sessionmaker
from qorgau.core.migrate import upgrade
from qorgau.core.security import hash_password
import os
upgrade(os.environ["QORGAU_DATABASE_URL"])
with get_sessionmaker()() as db:
    ministry = Organisation(kind="ministry", name="Ministry of Labour")
    system = Organisation(kind="state_system", name="State systems")
    db.add_all([ministry, system]); db.flush()
    db.add(User(username="admin", full_name="Admin", role="admin", organisation_id=ministry.id,
                password_hash=hash_password(os.environ["ADMIN_PASSWORD"])))
    db.commit()
    print(system.id)
"""


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang} test\n(.*?)```", DOC.read_text(), flags=re.S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_snippet_verifies_our_signatures():
    from qorgau.integration.signing import sign

    ns: dict = {}
    exec(blocks("python")[0], ns)
    body = b'{"id": 42}'
    assert ns["verify_signature"]("secret-secret-123", body, sign("secret-secret-123", body))
    assert not ns["verify_signature"](
        "secret-secret-123", body + b"x", sign("secret-secret-123", body)
    )


@pytest.mark.slow
def test_curl_examples_run_against_a_live_server(tmp_path):
    scripts = blocks("sh")
    assert len(scripts) >= 6
    received = tmp_path / "received"
    received.write_text("0")
    rec = Receiver(secret="")  # signatures are checked by the python test above
    rec.start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QORGAU_")}
    env |= {
        "QORGAU_DATABASE_URL": f"sqlite:///{tmp_path / 'docs.sqlite3'}",
        "QORGAU_VAR_DIR": str(tmp_path),
        "QORGAU_COOKIE_SECURE": "false",
        # The doc's own `worker deliver --once` step delivers: the server's in-process delivery
        # job would otherwise fan the feed's events out before the doc's subscription exists.
        "QORGAU_BACKGROUND": "0",
        "ADMIN_PASSWORD": PASSWORD,
        "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
    }
    org_id = subprocess.run(
        [sys.executable, "-c", SEED], env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "qorgau.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/api/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        script = f"set -euo pipefail\nRECEIVED={received}\n" + "\n".join(scripts)
        # after the worker run, write how many deliveries the receiver accepted to $RECEIVED
        script = script.replace(
            "python -m qorgau.integration.worker deliver --once\n",
            "python -m qorgau.integration.worker deliver --once\n"
            # the server's own background delivery may be the one that sends: wait for it
            f'for i in $(seq 100); do curl -s {rec.url.replace("/hook", "/count")} '
            '> "$RECEIVED"; [ "$(cat "$RECEIVED")" -ge 1 ] && break; sleep 0.1; done\n',
        )
        env |= {"QORGAU": base, "ORG_ID": org_id, "RECEIVER_URL": rec.url}
        proc = subprocess.run(
            ["bash", "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert any(h.type == "employment.delta" for h in rec.hits)
    finally:
        server.terminate()
        server.wait(10)
        rec.stop()
