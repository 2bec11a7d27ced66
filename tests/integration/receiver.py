"""A webhook receiver for tests: verifies signatures, can fail the first attempts, records all."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from qorgau.integration.signing import verify


@dataclass
class Hit:
    event_id: int
    type: str
    attempt: int
    signed_ok: bool
    at: float
    status: int
    body: dict[str, Any]


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0  # per event id, answer 500 to this many attempts
    always_fail: bool = False
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    _seen: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> list[Hit]:
        return [h for h in self.hits if h.status == 200]

    def start(self) -> Receiver:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                sig = self.headers.get("X-Qorgau-Signature", "")
                # an empty secret (docs test: the secret is generated later) only checks presence
                ok = verify(rec.secret, body, sig) if rec.secret else sig.startswith("t=")
                data = json.loads(body)
                if rec.delay:
                    time.sleep(rec.delay)
                with rec._lock:
                    n = rec._seen.get(data["id"], 0) + 1
                    rec._seen[data["id"]] = n
                    status = 500 if rec.always_fail or n <= rec.fail_first or not ok else 200
                    rec.hits.append(
                        Hit(
                            data["id"],
                            data["type"],
                            int(self.headers.get("X-Qorgau-Delivery-Attempt", 0)),
                            ok,
                            time.monotonic(),
                            status,
                            data,
                        )
                    )
                self.send_response(status)
                self.end_headers()

            def do_GET(self) -> None:
                payload = str(len(rec.delivered())).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
