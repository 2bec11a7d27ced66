"""NATS JetStream: the scale-out path. Subjects are partitioned by site,
`qorgau.telemetry.<partition>.<site>` with partition = site % PARTITIONS, in one stream
(file storage, replicated in a cluster). A worker owns a set of partitions and has one durable
pull consumer per partition (`alarms-p<k>`): a partition is processed by one worker at a time,
so a site's readings stay in order and its engine state lives in one process. Messages are
acknowledged after the commit; unacknowledged ones are redelivered after `ack_wait` (crash,
kill -9), and the (device, sequence) dedup makes the redelivery harmless."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from qorgau.alarms.ingest.core import METRICS, Processor, processor
from qorgau.alarms.ingest.parse import BadPayload, decode
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


async def run(url: str, partitions: list[int], *, seconds: float | None = None,
              proc: Processor | None = None, batch: int = 64, tick_s: float = 1.0,
              ack_wait_s: float = 10.0) -> int:
    """Pull, process, ack, tick; until `seconds` pass (forever if None). Returns batches."""
    from qorgau.alarms.worker import tick

    proc = proc or processor()
    nc = await nats.connect(url, max_reconnect_attempts=-1)
    js = nc.jetstream()
    await ensure_stream(js)
    subs = [await js.pull_subscribe(
        f"{PREFIX}.{k}.*", durable=f"alarms-p{k}", stream=STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait_s,
                              max_ack_pending=10_000)) for k in partitions]
    end = time.time() + seconds if seconds else float("inf")
    done, next_tick = 0, 0.0
    try:
        while time.time() < end:
            for sub in subs:
                try:
                    msgs = await sub.fetch(batch, timeout=0.2)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                for msg in msgs:
                    if await asyncio.to_thread(_handle, proc, msg.subject, msg.data):
                        await msg.ack()
                        done += 1
                    else:
                        await msg.nak(delay=1.0)
                with contextlib.suppress(Exception):
                    METRICS.queue_depth = (await sub.consumer_info()).num_pending
            if time.time() >= next_tick:
                await asyncio.to_thread(_tick, tick, proc)
                next_tick = time.time() + tick_s
    finally:
        await nc.drain()
    return done


def _handle(proc: Processor, subj: str, data: bytes) -> bool:
    with get_sessionmaker()() as db:
        try:
            site_id = int(subj.rsplit(".", 1)[1])
            try:
                doc = decode(data)
            except BadPayload as exc:
                from qorgau.alarms.ingest.core import dead_letter

                dead_letter(db, site_id=site_id, source="nats", reason=exc.reason,
                            detail=exc.detail)
                db.commit()
                return True  # rejected for good: acknowledge, it is in the dead-letter store
            proc.handle_raw(db, doc, source="nats", site_id=site_id)
            return True
        except Exception:
            log.exception("nats batch failed")
            db.rollback()
            return False


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
