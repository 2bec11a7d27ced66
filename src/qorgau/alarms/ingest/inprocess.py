"""In-process queue for the embedded default (no broker): producers put decoded batches,
a worker thread drains them through the processor. Not durable until processed: producers
that need durability (HTTP) call the processor directly and answer after the commit."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from qorgau.alarms.ingest.core import METRICS


class InProcessSource:
    name = "inprocess"

    def __init__(self, maxsize: int = 10_000) -> None:
        self.q: queue.Queue[tuple[int | None, Any]] = queue.Queue(maxsize=maxsize)
        self.closed = False
        self.shed = 0

    def put(self, doc: Any, site_id: int | None = None, *, block: bool = True) -> bool:
        """Enqueue; a full queue with block=False sheds the batch and counts it (visible)."""
        try:
            self.q.put((site_id, doc), block=block, timeout=5 if block else None)
        except queue.Full:
            self.shed += 1
            METRICS.counts["shed"] += 1
            return False
        METRICS.queue_depth = self.q.qsize()
        return True

    def fetch(self, timeout: float) -> list[tuple[int | None, Any, Callable[[], None]]]:
        out = []
        try:
            out.append(self.q.get(timeout=timeout))
            while len(out) < 64:
                out.append(self.q.get_nowait())
        except queue.Empty:
            pass
        METRICS.queue_depth = self.q.qsize()
        return [(s, d, lambda: None) for s, d in out]


def start(source: InProcessSource) -> threading.Thread:
    from qorgau.alarms.worker import drain

    th = threading.Thread(target=drain, args=(source,), daemon=True, name="alarm-inprocess")
    th.start()
    return th
