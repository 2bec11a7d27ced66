"""JetStream scale-out: the same backlog of telemetry drained by 1, 2 and 4 alarm workers.

A private stream (16 subject partitions, one site per partition) is filled with JSON batches
before the workers start; each worker is a real `qorgau alarms worker --source nats` process
owning a share of the partitions (round robin). The figure is the drain rate (readings/s,
10 % → 90 % of the backlog accepted, so process start-up is left out), printed for each
worker count beside the 1-worker rate with the ratio. Each run uses a fresh stream and fresh
sites. The database is PostgreSQL by default (a temporary database on 127.0.0.1:5432, dropped
afterwards): workers in separate processes contend for SQLite's single writer lock.

Usage: .venv/bin/python benchmarks/jetstream_scaleout.py [--workers 1,2,4] [--messages 240]
       [--rows 500] [--devices 20] [--db postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _common import report

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from factories import make_bin

PARTITIONS = 16
NATS = "nats://127.0.0.1:4222"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TMP = Path(tempfile.mkdtemp(prefix="qorgau-jsscale-"))


def database(kind: str) -> tuple[str, str | None]:
    """(SQLAlchemy URL, PostgreSQL database name to drop or None)."""
    if kind == "sqlite":
        return f"sqlite:///{TMP}/bench.sqlite3", None
    import psycopg

    name = f"qorgau_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_database(name: str | None) -> None:
    if name:
        import psycopg

        from qorgau.core.db import reset_engine

        reset_engine()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_sites(n_devices: int) -> dict[int, list[str]]:
    """One mine site per partition (site id % 16 covers every partition), CO devices."""
    from qorgau.alarms.models import Device
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn, SiteIn

    sites: dict[int, list[str]] = {}
    with get_sessionmaker()() as db:
        ent = registry.create_enterprise(db=db, actor=SYSTEM_ACTOR, data=EnterpriseIn(
            bin=make_bin(), name="Scale-out bench", activity_code="05", region_code="KZ-35",
            lon=73.1, lat=49.8, size_band="large", hazardous=True))
        while {s % PARTITIONS for s in sites} != set(range(PARTITIONS)):
            site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
                enterprise_id=ent.id, kind="mine", name=f"bench {uuid.uuid4().hex[:6]}",
                lon=73.1, lat=49.8))
            if site.id % PARTITIONS in {s % PARTITIONS for s in sites}:
                continue  # one site per partition: the partitions carry equal load
            codes = [f"CO-{k}" for k in range(n_devices)]
            db.add_all([Device(site_id=site.id, enterprise_id=ent.id, region_code="KZ-35",
                               code=c, kind="gas", quantity="CO",
                               limits={"high": 20.0, "highhigh": 50.0}) for c in codes])
            sites[site.id] = codes
        db.commit()
    return sites


def backlog(sites: dict[int, list[str]], messages: int, rows: int) -> list[tuple[int, bytes]]:
    """`messages` JSON batches of `rows` readings, spread evenly over the sites."""
    rng = np.random.default_rng(1)
    ids = sorted(sites)
    seq = {s: 0 for s in ids}
    t0 = time.time() - 3600
    docs = []
    for m in range(messages):
        site = ids[m % len(ids)]
        codes = sites[site]
        per_dev = max(1, rows // len(codes))
        d, s, t = [], [], []
        for code in codes:
            d += [code] * per_dev
            s += list(range(seq[site], seq[site] + per_dev))
            t += [t0 + seq[site] + k for k in range(per_dev)]
        seq[site] += per_dev
        v = rng.normal(5.0, 1.0, len(d)).round(3).tolist()
        docs.append((site, orjson.dumps({"site_id": site, "d": d, "s": s, "t": t, "v": v})))
    return docs


def accepted(site_ids: list[int]) -> int:
    from sqlalchemy import func, select

    from qorgau.alarms.models import Device
    from qorgau.core.db import get_sessionmaker

    with get_sessionmaker()() as db:
        return int(db.scalar(select(func.coalesce(func.sum(Device.n_accepted), 0)).where(
            Device.site_id.in_(site_ids))))


def run(n_workers: int, a: argparse.Namespace) -> dict[str, float]:
    from qorgau.alarms.ingest import nats as ni

    tag = uuid.uuid4().hex[:8]
    stream, prefix = f"QB_{tag}", f"qb{tag}.telemetry"
    ni.STREAM, ni.PREFIX = stream, prefix
    env = {**os.environ, "QORGAU_ALARMS_STREAM": stream, "QORGAU_ALARMS_SUBJECT": prefix,
           "QORGAU_ALARMS_PARTITIONS": str(PARTITIONS)}
    sites = make_sites(a.devices)
    docs = backlog(sites, a.messages, a.rows)
    total = sum(len(orjson.loads(d)["s"]) for _s, d in docs)
    asyncio.run(ni.publish(NATS, docs))
    shares = [[k for k in range(PARTITIONS) if k % n_workers == w] for w in range(n_workers)]
    cmd = [sys.executable, "-c", "from qorgau.alarms.cli import app; app()", "worker",
           "--source", "nats", "--seconds", str(a.timeout)]
    logs = [open(TMP / f"w{n_workers}-{w}.log", "w") for w in range(n_workers)]  # noqa: SIM115
    procs = [subprocess.Popen([*cmd, "--partitions", ",".join(map(str, share))], env=env,
                              stdout=log, stderr=log) for share, log in zip(shares, logs,
                                                                         strict=True)]
    start, marks, ids = time.time(), {}, list(sites)
    try:
        while time.time() - start < a.timeout:
            n = accepted(ids)
            for frac in (0.1, 0.9, 1.0):
                if n >= frac * total and frac not in marks:
                    marks[frac] = (time.time(), n)
            if n >= total:
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for log in logs:
            log.close()
        asyncio.run(_drop_stream(stream))
    done = accepted(ids)
    if 0.9 not in marks or 0.1 not in marks:
        return {"workers": n_workers, "rate": float("nan"), "total": total, "done": done,
                "wall": float("nan")}
    (t1, n1), (t9, n9) = marks[0.1], marks[0.9]
    wall = marks[1.0][0] - start if 1.0 in marks else float("nan")
    return {"workers": n_workers, "rate": (n9 - n1) / max(t9 - t1, 1e-9), "total": total,
            "done": done, "wall": wall}


async def _drop_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(NATS)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--messages", type=int, default=240)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--timeout", type=float, default=300.0)
    a = ap.parse_args()
    url, pg_name = database(a.db)
    os.environ.update(QORGAU_VAR_DIR=str(TMP), QORGAU_DATABASE_URL=url, QORGAU_ENV="test")
    from qorgau.core.migrate import upgrade
    from qorgau.core.models import load_all_models

    load_all_models()
    upgrade(url)
    try:
        results = [run(int(n), a) for n in a.workers.split(",")]
    finally:
        drop_database(pg_name)
    base = results[0]["rate"]
    for r in results:
        print(f"{r['workers']} worker(s): {r['rate']:,.0f} readings/s (10→90 %), "
              f"{r['done']:,}/{r['total']:,} accepted, backlog drained in {r['wall']:.1f} s "
              f"from spawn, ×{r['rate'] / base:.2f} of {results[0]['workers']} worker")
    for r in results:
        report(f"jetstream_scaleout drain rate, {r['workers']} worker(s), 16 partitions, "
               f"{a.devices} devices per site, {r['total']:,} readings, {a.db}, "
               f"no loss={r['done'] == r['total']}", r["rate"], "readings/s",
               base, f"readings/s with {results[0]['workers']} worker")


if __name__ == "__main__":
    main()
