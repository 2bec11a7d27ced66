"""Deliveries off the ingest worker's loop. The loop's tick sent the outbox's backlog itself,
up to 200 rows, so a channel that hangs — a webhook endpoint that accepts and never answers,
an SMTP relay that stalls: three tries of a 3-s timeout per row — held the loop for minutes:
no reading evaluated, no alarm raised, nothing acknowledged to the broker. Now the tick asks
this object's backlog thread, and a request while a run is going on is merged into the next
run.

A batch's life-safety rows and withdraw orders (the fast path, `core._after_commit`) go to
a pool of `FAST_THREADS` threads, a row each, as soon as the batch is committed: one hanging
channel holds neither the alarm's other channels nor the loop (it sent them itself, one
after the other, before acknowledging the batch). The rows are committed before the batch is
acknowledged, and a row is claimed under this process's name (`delivery._claim`), so the
guarantee is unchanged: what a killed process had not sent, or had claimed and not
recorded, is sent by the next process at once (pending rows after `SETTLE_S`, claims of a
dead process at its first backlog run). The backlog run leaves such rows younger than
`SETTLE_S` to the pool, so the two do not race for them (a claim would stop a second send
anyway); other rows go at once. `close` ends the backlog run in progress before its next
claim and waits for the rows it gave the pool (what has been claimed is sent), at most
`timeout_s`.

A web process's processor gets a Sender at the app's start (`app._send_beside`), so its
HTTP batches are answered after their commit, not after their channels. The console's
withdraw order sends its commands (a wearer each) on the same pool and waits for all
(`side_by_side`): the slowest row's time, not the sum. A processor without a Sender (the
CLI's, tests') sends a batch's rows one after the other before returning, in plan order."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from qorgau.alarms import delivery
from qorgau.core.db import get_sessionmaker

if TYPE_CHECKING:
    from qorgau.alarms.ingest.core import Processor

log = logging.getLogger("qorgau.alarms.sender")
SETTLE_S = 2.0  # a row younger than this is the fast path's
# the fast path's rows sent at once: a life-safety alarm reaches a site's contacts on a few
# channels, and a slow one (a webhook's 3-s timeout, three tries) holds a thread, not the rest
FAST_THREADS = 8


class Sender:
    def __init__(self) -> None:
        self._wanted = threading.Event()  # the backlog asked for since its last run began
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alarm-send-backlog",
                                        daemon=True)
        self._thread.start()
        self._sending: set[Future[None]] = set()

    def fast(self, ids: list[int]) -> None:
        """A committed batch's life-safety rows and withdraw orders: each sent on a thread
        of the pool, now."""
        for row_id in ids:
            f = _pool().submit(_send_row, row_id)
            self._sending.add(f)
            f.add_done_callback(self._sending.discard)

    def backlog(self) -> None:
        """Pending rows and lapsed claims, as the tick's `delivery.deliver(db)` sent them."""
        self._wanted.set()

    def close(self, timeout_s: float = 30.0) -> None:
        self._stopping.set()
        self._wanted.set()
        running = self._sending.copy()
        wait(running, timeout_s)
        for f in running:  # not begun: the rows stay pending, for the next process
            f.cancel()
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


def attach(proc: Processor) -> Callable[[], None] | None:
    """Give `proc` a Sender for deliveries beside its loop (a hanging channel must not stop
    it), unless it has one; returns the step that takes it back and closes it (what it was
    given is sent first), None when it had one (its owner closes that)."""
    if proc.sender is not None:
        return None
    sender = proc.sender = Sender()

    def detach() -> None:
        proc.sender = None
        sender.close()

    return detach


def side_by_side(db: Session, ids: list[int]) -> None:
    """Send rows each on a thread of the pool and return when all are done: for a caller
    that waits for its rows (the console's withdraw order to every wearer in the zones), the
    time of the slowest row instead of the sum (a wearer whose command fails costs its three
    tries, ~0.35 s)."""
    if len(ids) <= 1:
        delivery.deliver(db, ids)
        return
    wait([_pool().submit(_send_row, row_id) for row_id in ids])


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """This process's pool (made at its first use: a spawned child makes its own; an
    executor starts its threads at its first tasks, so one made twice in a race costs none)."""
    return ThreadPoolExecutor(FAST_THREADS, thread_name_prefix="alarm-send")


def _send_row(row_id: int) -> None:
    try:
        with get_sessionmaker()() as db:
            delivery.deliver(db, [row_id])
    except Exception:  # (the database: locked past its timeout, restarted, a deadlock)
        log.exception("fast-path delivery of notification %d failed", row_id)
        delivery.release(row_id)
