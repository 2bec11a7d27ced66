"""The real server as a `qorgau serve` subprocess on its own database, so a fault test can
kill -9 it and start it again, exactly as an operator's supervisor would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
SETUP = Path(__file__).with_name("setup_world.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One `qorgau serve` process on 127.0.0.1; `kill9()` and `start()` again."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> list[str]:
        return [str(BIN / "qorgau"), *args]

    def qorgau(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "qorgau"), "serve", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        # A liveness bound, not a speed check: a loaded 2-core CI machine can take a while.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {self.log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not answer /healthz within 180 s")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


def make_server(url: str, var_dir: Path) -> tuple[Server, dict[str, Any]]:
    """Migrate with `qorgau db upgrade`, create the test world, return the server and world."""
    env = {
        **os.environ,
        "QORGAU_DATABASE_URL": url,
        "QORGAU_VAR_DIR": str(var_dir),
        "QORGAU_ENV": "test",
        "QORGAU_BACKGROUND": "0",
    }
    server = Server(env=env, log=var_dir / "server.log")
    done = server.qorgau("db", "upgrade")
    assert done.returncode == 0, done.stdout + done.stderr
    made = subprocess.run(
        [sys.executable, str(SETUP)], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return server, json.loads(made.stdout.strip().splitlines()[-1])

