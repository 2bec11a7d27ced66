"""The tick's deliveries off the ingest worker's loop. The loop's tick sent the outbox's
backlog itself, up to 200 rows, so a channel that hangs — a webhook endpoint that accepts and
never answers, an SMTP relay that stalls: three tries of a 3-s timeout per row — held the loop
for minutes: no reading evaluated, no alarm raised, nothing acknowledged to the broker. Now
the tick asks this thread, and a request while a run is going on is merged into the next run.

A batch's life-safety rows and withdraw orders are still sent by the loop right after its
commit (the fast path, `core._after_commit`): the backlog run leaves such rows younger than
`SETTLE_S` to it, so that path keeps its rows (and its crash behaviour: a message is
acknowledged only after its rows' sending); other rows go at once. Rows are claimed as before
(`delivery._claim`): nothing is sent twice, and what a dead process had claimed is sent by
the next one after the lease. `close` ends the run in progress before its next claim (what
it has claimed is sent), waiting at most `timeout_s`."""

from __future__ import annotations

import logging
import threading

from qorgau.alarms import delivery
from qorgau.core.db import get_sessionmaker

log = logging.getLogger("qorgau.alarms.sender")
SETTLE_S = 2.0  # a row younger than this is the fast path's


class Sender:
    def __init__(self) -> None:
        self._wanted = threading.Event()  # the backlog asked for since its last run began
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarm-send-backlog",
                                        daemon=True)
        self._thread.start()

    def backlog(self) -> None:
        """Pending rows and lapsed claims, as the tick's `delivery.deliver(db)` sent them."""
        self._wanted.set()

    def close(self, timeout_s: float = 30.0) -> None:
        self._stopping.set()
        self._wanted.set()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping.is_set():
                return
            try:
                with get_sessionmaker()() as db:
                    delivery.deliver(db, settle_s=SETTLE_S, stop=self._stopping.is_set)
            except Exception:  # the rows stay claimable: the next run or process takes them
                log.exception("delivery of the backlog failed")
