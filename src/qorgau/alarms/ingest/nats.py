"""NATS JetStream: the scale-out path. Subjects are partitioned by site,
`qorgau.telemetry.<partition>.<site>` with partition = site % PARTITIONS, in one stream
(file storage, replicated in a cluster). A worker owns a set of partitions and has one durable
pull consumer per partition (`alarms-p<k>`): a partition is processed by one worker at a time,
so a site's readings stay in order and its engine state lives in one process. Messages are
acknowledged after the commit, one by one in stream order.

Order matters for loss, not only for the engine: the (device, sequence) dedup drops every
reading at or below a device's stored sequence. JetStream redelivers an unacknowledged message
only after `ack_wait`, and meanwhile hands out newer ones; processing those first would move the
cursor past the older readings, which would then be dropped as duplicates — lost. So a worker
never processes a partition out of order: it takes the consumer over from its ack floor when
some delivery is held by nobody (a previous owner was killed, a delivery went missing in
transit, a batch failed), and everything after the last acknowledged message comes again, in
order; what had been committed but not acknowledged is dropped by the dedup (at-least-once)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from qorgau.alarms import sender
from qorgau.alarms.health import Heartbeat
from qorgau.alarms.ingest import sentinel
from qorgau.alarms.ingest.core import METRICS, Processor, dead_letter, processor
from qorgau.alarms.ingest.parse import BadPayload, decode
from qorgau.alarms.ingest.unprocessable import handle_alone
from qorgau.core.db import get_sessionmaker

log = logging.getLogger("qorgau.alarms.nats")
STREAM = os.environ.get("QORGAU_ALARMS_STREAM", "QORGAU_TELEMETRY")
PREFIX = os.environ.get("QORGAU_ALARMS_SUBJECT", "qorgau.telemetry")
PARTITIONS = int(os.environ.get("QORGAU_ALARMS_PARTITIONS", "16"))


def subject(site_id: int, partitions: int = PARTITIONS) -> str:
    return f"{PREFIX}.{site_id % partitions}.{site_id}"


async def ensure_stream(js, *, max_age_s: float = 7 * 86400) -> None:
    cfg = StreamConfig(name=STREAM, subjects=[f"{PREFIX}.>"], storage=StorageType.FILE,
                       max_age=max_age_s)
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(cfg)


class Partition:
    """One owned partition: its durable pull consumer and the next delivery sequence expected."""

    def __init__(self, k: int, ack_wait_s: float) -> None:
        self.k, self.ack_wait_s = k, ack_wait_s
        self.durable = f"alarms-p{k}"
        self.sub = None
        self.next_dseq = 1
        self.resets = 0

    def config(self, start_seq: int) -> ConsumerConfig:
        cfg = ConsumerConfig(name=self.durable, durable_name=self.durable,
                             filter_subject=f"{PREFIX}.{self.k}.*",
                             ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s,
                             max_ack_pending=10_000)
        if start_seq > 1:
            cfg.deliver_policy, cfg.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, start_seq
        return cfg

    async def take_over(self, js) -> None:
        """Bind to the durable consumer; recreate it from its ack floor if any of its
        deliveries is unacknowledged (nobody holds them: they would come back out of order)."""
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
            self.sub = None
        try:
            info = await js.consumer_info(STREAM, self.durable)
        except NotFoundError:
            info = None
        if info is not None and info.num_ack_pending == 0:
            self.next_dseq = info.delivered.consumer_seq + 1
        else:
            start = 1
            if info is not None:
                # a consumer recreated at S reports floor 0 until its first ack: keep S
                start = max(info.ack_floor.stream_seq + 1, info.config.opt_start_seq or 1)
                log.warning("partition %s: %s unacknowledged deliveries; restarting the "
                            "consumer in order from stream sequence %s", self.k,
                            info.num_ack_pending, start)
                await js.delete_consumer(STREAM, self.durable)
                self.resets += 1
            await js.add_consumer(STREAM, config=self.config(start))
            self.next_dseq = 1
        self.sub = await js.pull_subscribe_bind(durable=self.durable, stream=STREAM)


async def run(url: str, partitions: list[int], *, seconds: float | None = None,
              proc: Processor | None = None, batch: int = 64, tick_s: float = 1.0,
              ack_wait_s: float = 30.0, stop: threading.Event | None = None) -> int:
    """Pull, process, ack, tick; until `seconds` pass (forever if None) or `stop` is set.
    Returns messages."""
    from qorgau.alarms.worker import tick

    proc = proc or processor()
    nc = await nats.connect(url, max_reconnect_attempts=-1)
    js = nc.jetstream()
    await ensure_stream(js)
    parts = [Partition(k, ack_wait_s) for k in partitions]
    log.info("nats worker: stream %s, partitions %s", STREAM, partitions)
    end = time.time() + seconds if seconds else float("inf")
    done, next_tick = 0, 0.0
    health = Heartbeat("worker", "nats", every_s=tick_s)
    detach = sender.attach(proc)
    try:
        while time.time() < end and not (stop is not None and stop.is_set()):
            for part in parts:
                done += await _pull(js, part, proc, batch)
            if time.time() >= next_tick:
                await asyncio.to_thread(_tick, tick, proc)
                await asyncio.to_thread(health.beat)
                next_tick = time.time() + tick_s
    finally:
        await asyncio.to_thread(health.stop)
        await asyncio.to_thread(proc.close)
        if detach is not None:
            await asyncio.to_thread(detach)
        # not drain(): on pull subscriptions it waits out its 30 s timeout. Every processed
        # message is acknowledged already; anything else is taken over by the next owner.
        for part in parts:
            if part.sub is not None:
                with contextlib.suppress(Exception):
                    await part.sub.unsubscribe()
        with contextlib.suppress(Exception):  # a server already gone cannot be told "bye"
            await nc.close()
    log.info("nats worker: %s messages, %s consumer take-overs", done,
             sum(p.resets for p in parts))
    return done


async def _pull(js, part: Partition, proc: Processor, batch: int) -> int:
    """One fetch of one partition, processed strictly in delivery order. Returns acked."""
    if part.sub is None:
        try:
            await part.take_over(js)
        except Exception:
            log.exception("partition %s: take-over failed; retrying", part.k)
            await asyncio.sleep(1.0)
            return 0
    try:
        msgs = msgs_all = await part.sub.fetch(batch, timeout=0.2)
    except (TimeoutError, nats.errors.TimeoutError):
        return 0
    done = 0
    run = _in_order(part, msgs)
    if len(run) > 1 and await asyncio.to_thread(_handle_group, proc, run):
        msgs = run  # group commit done: acknowledge them in order below, nothing to redo
    grouped = msgs is run and len(run) > 1
    for msg in msgs:
        dseq = msg.metadata.sequence.consumer
        if dseq != part.next_dseq:  # a delivery we never received (lost in transit, stale pull)
            log.warning("partition %s: delivery %s expected, %s received; taking over again",
                        part.k, part.next_dseq, dseq)
            part.sub = None
            break
        if not grouped and not await asyncio.to_thread(_handle, proc, msg.subject, msg.data):
            part.sub = None  # not acknowledged: it and all after it come again, in order
            await asyncio.sleep(1.0)
            break
        try:
            await msg.ack()
        except Exception:
            log.exception("partition %s: ack failed; taking over again", part.k)
            part.sub = None
            break
        part.next_dseq = dseq + 1
        done += 1
    if grouped and len(run) < len(msgs_all):
        part.sub = None  # a delivery gap after the group: take over from the ack floor
    if part.sub is not None:
        with contextlib.suppress(Exception):
            METRICS.queue_depth = (await part.sub.consumer_info()).num_pending
    return done


def _in_order(part: Partition, msgs: list) -> list:
    """The leading messages whose consumer sequences follow on without a gap."""
    run = []
    for msg in msgs:
        if msg.metadata.sequence.consumer != part.next_dseq + len(run):
            break
        run.append(msg)
    return run


def _handle_group(proc: Processor, msgs: list) -> bool:
    """Group commit of consecutive messages (one fsync, one transaction); False if it failed
    (then they are handled one by one)."""
    with get_sessionmaker()() as db:
        try:
            docs = []
            for msg in msgs:
                site_id = int(msg.subject.rsplit(".", 1)[1])
                try:
                    docs.append((site_id, decode(msg.data)))
                    sentinel.screen(site_id, docs[-1][1])  # before the group's database work
                except BadPayload as exc:  # rejected for good, committed with the group
                    dead_letter(db, site_id=site_id, source="nats", reason=exc.reason,
                                detail=exc.detail)
            proc.handle_many(db, docs, source="nats")
            return True
        except Exception:
            log.exception("nats group of %d failed; one by one", len(msgs))
            db.rollback()
            return False


def _handle(proc: Processor, subj: str, data: bytes) -> bool:
    with get_sessionmaker()() as db:
        try:
            site_id = int(subj.rsplit(".", 1)[1])
            try:
                doc = decode(data)
            except BadPayload as exc:
                dead_letter(db, site_id=site_id, source="nats", reason=exc.reason,
                            detail=exc.detail)
                db.commit()
                return True  # rejected for good: acknowledge, it is in the dead-letter store
            sentinel.screen(site_id, doc)
        except Exception:
            log.exception("nats batch failed")
            db.rollback()
            return False
    return handle_alone(proc, doc, source="nats", site_id=site_id)


def _tick(tick, proc: Processor) -> None:
    with get_sessionmaker()() as db:
        tick(db, proc)


async def publish(url: str, docs: list[tuple[int, bytes]]) -> int:
    """Publish (site, payload) pairs with JetStream acks (used by simulate and benchmarks)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    futs = [js.publish(subject(site), data) for site, data in docs]
    for f in futs:
        await f
    await nc.close()
    return len(docs)
