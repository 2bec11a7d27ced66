"""Pooled webhook sender: keep-alive connection pools (urllib3, one per subscriber host, at most
`concurrency` connections each) and a thread pool that lives as long as the sender, so
connections and threads survive from one delivery pass to the next.

Why not httpx here: on the shared 2-core VM the same threads POSTing through one httpx.Client
spent most of their time waiting on the client's pool lock (~850 POSTs/s), httpx.AsyncClient did
~250/s; urllib3 did ~1,500-2,600/s (docs/benchmarks.md, webhook_delivery). The connectors'
HTTP drivers still use httpx: they make a few large requests, not thousands of small ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

import urllib3

MAX_RESPONSE_BYTES = 64 * 1024  # receivers answer briefly; a longer body costs its connection


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Response:
    code: int | None  # None: no HTTP answer (connection refused, timeout, bad URL)
    error: str  # "" when 2xx

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


class Sender:
    """POSTs many small signed bodies concurrently; redirects are not followed (a 3xx fails)."""

    def __init__(self, *, concurrency: int, timeout: float) -> None:
        self.concurrency = max(1, concurrency)
        self._pool = urllib3.PoolManager(
            num_pools=256,
            maxsize=self.concurrency,
            block=True,  # never more than `concurrency` connections to one receiver
            retries=False,  # retries are the outbox's job (backoff, dead letters)
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        )
        self._threads = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook")

    def post(self, req: Request) -> Response:
        try:
            resp = self._pool.request(
                "POST",
                req.url,
                body=req.body,
                headers=req.headers,
                redirect=False,
                preload_content=False,
            )
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            return Response(None, f"{type(exc).__name__}: {exc}"[:500])
        try:
            resp.read(MAX_RESPONSE_BYTES)
            if resp.read(1):  # more than we read: the connection cannot be reused
                resp.close()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            resp.close()
            return Response(None, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            resp.release_conn()
        code = resp.status
        return Response(code, "" if 200 <= code < 300 else f"HTTP {code}")

    def post_many(self, reqs: Sequence[Request]) -> list[Response]:
        """Answers in the order of the requests."""
        return [f.result() for f in self.submit_many(reqs)]

    def submit_many(self, reqs: Sequence[Request]) -> list[Future[Response]]:
        """Start the POSTs and return at once (the caller settles the previous batch meanwhile)."""
        return [self._threads.submit(self.post, r) for r in reqs]

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._pool.clear()

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
