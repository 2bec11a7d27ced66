"""In-process sliding-window rate limits (per API key, per anonymous client).

One process per node is the embedded default; behind several workers each worker limits on its
own, which bounds the total at workers × limit (docs/operations.md).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from qorgau.core.errors import TooManyRequests

_lock = threading.Lock()
_hits: dict[str, deque[float]] = defaultdict(deque)


def check_rate(key: str, per_minute: int, *, now: float | None = None) -> None:
    now = time.monotonic() if now is None else now
    with _lock:
        window = _hits[key]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= per_minute:
            raise TooManyRequests("rate limit exceeded; slow down")
        window.append(now)


def reset() -> None:
    with _lock:
        _hits.clear()
