"""The pooled webhook sender: answers in request order, keep-alive reuse, no redirects followed,
long answers cost only their connection, and transport failures become errors (not raises)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qorgau.integration.sender import MAX_RESPONSE_BYTES, Request, Sender


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    peers: set[int] = set()  # client ports seen (one per connection)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        _Handler.peers.add(self.client_address[1])
        if self.path == "/redirect":
            self._answer(302, b"", [("Location", "/ok")])
        elif self.path == "/big":
            self._answer(200, b"x" * (MAX_RESPONSE_BYTES * 2))
        elif self.path.startswith("/status/"):
            self._answer(int(self.path.rsplit("/", 1)[1]), b"")
        else:
            self._answer(200, self.path.encode())

    def _answer(self, code: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Handler.peers = set()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _req(url: str) -> Request:
    return Request(url, b'{"id": 1}', {"Content-Type": "application/json"})


def test_answers_in_order_and_connections_are_reused(base):
    with Sender(concurrency=4, timeout=5) as s:
        codes = [201, 500, 204, 404] * 25
        answers = s.post_many([_req(f"{base}/status/{c}") for c in codes])
        assert [a.code for a in answers] == codes
        assert [a.ok for a in answers] == [c < 300 for c in codes]
        assert answers[1].error == "HTTP 500" and answers[0].error == ""
    assert 1 <= len(_Handler.peers) <= 4  # 100 POSTs over at most `concurrency` connections


def test_redirect_is_a_failure_and_big_answers_do_not_break_the_pool(base):
    with Sender(concurrency=2, timeout=5) as s:
        assert s.post(_req(f"{base}/redirect")).code == 302
        assert not s.post(_req(f"{base}/redirect")).ok
        assert s.post(_req(f"{base}/big")).ok
        assert s.post(_req(f"{base}/after")).ok  # the next request on the pool still works


def test_transport_failures_are_reported_not_raised():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
    with Sender(concurrency=2, timeout=2) as s:
        refused, bad = s.post_many(
            [_req(f"http://127.0.0.1:{port}/hook"), _req("http://[::1/hook")]
        )
    assert refused.code is None and not refused.ok and refused.error
    assert bad.code is None and bad.error
