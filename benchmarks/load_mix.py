"""Mixed load on loopback: dashboard users, accident submissions and gateway telemetry against
a real `qorgau serve` (uvicorn) process, driven by locust (headless, in-process runner) through
rising user counts. Per level: requests/s, p50/p99 per class, errors, 5xx, server CPU; then
the saturation point (the first level where throughput rises < 15 % over the previous level,
or p99 of any class exceeds --p99-limit-ms, or a 5xx appears).

World: a fresh database — `qorgau demo --no-serve` (small twin, demo logins) or `--world tiny`
(two enterprises and the demo logins, for the smoke test) — plus telemetry sites of the demo
mine, each with 20 detectors and its own gateway credential (one locust telemetry user = one
gateway, batches every second, sequences strictly increasing per device as a real gateway's).
Daily background jobs are run once before serving, so with `--background 1` (default, as
deployed) only the continuous loops (alarm tick, webhook delivery) run beside the requests.

Classes and weights (users): dashboard 5 (analyst / inspectors: home page, indicators summary
and table, map clusters, accident list; 0.5–2 s think time), accident 1 (employer OSH officer
posting a valid accident every 2–6 s), telemetry 2 (20 readings per request, 1 per second).

Run: .venv/bin/python benchmarks/load_mix.py [--users 5,10,20,40,80] [--seconds 20]
     [--db sqlite|postgresql] [--world demo|tiny] [--background 1] [--workdir DIR]
     [--json OUT] [--no-append]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "qorgau-demo-2026"  # the demo logins' published password (accounts/demo.py)
DASHBOARD_LOGINS = ("analyst", "inspector.krg", "inspector.ala")
REPORTER_LOGINS = ("osh.mine", "osh.build")
WEIGHTS = {"dashboard": 5, "accident": 1, "telemetry": 2}
STOP_TIMEOUT_S = 30.0  # > network_timeout: a stopped user's last request is answered or times out
DEVICES = ([("gas", "CH4", f"CH4-{k}") for k in range(4)]
           + [("gas", "CO", f"CO-{k}") for k in range(6)]
           + [("gas", "O2", f"O2-{k}") for k in range(2)]
           + [("temperature", "temp", f"TEMP-{k}") for k in range(4)]
           + [("dust", "dust", f"DUST-{k}") for k in range(4)])
NORMAL = {"CH4": (0.1, 0.5), "CO": (1.0, 8.0), "O2": (20.7, 20.9), "temp": (16.0, 22.0),
          "dust": (0.5, 3.0)}
DAILY_JOBS_NOTE = "daily jobs run before serving"
KZ = timezone(timedelta(hours=5))


# --- world (runs in a child process with QORGAU_DATABASE_URL set) -----------------------------
def setup_world(world: str, n_sites: int) -> dict[str, Any]:
    from qorgau.accounts.demo import ensure_demo_accounts
    from qorgau.core.db import get_sessionmaker

    if world == "tiny":  # migrate here: one interpreter start less than `qorgau db upgrade`
        from qorgau.core.migrate import upgrade

        upgrade()
    with get_sessionmaker()() as db:
        if world == "tiny":
            _tiny_enterprises(db)
        ensure_demo_accounts(db)
        sites = _telemetry_sites(db, n_sites)
    return {"sites": sites}


def _tiny_enterprises(db: Any) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from factories import make_bin
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn

    for name, code, lon in (("Шахта «Жүктеме» АО", "05", 73.1), ("Құрылыс ТОО", "41", 73.2)):
        registry.create_enterprise(db=db, actor=SYSTEM_ACTOR, data=EnterpriseIn(
            bin=make_bin(), name=name, activity_code=code, region_code="KZ-35", lon=lon,
            lat=49.8, size_band="large", hazardous=code == "05"))


def _telemetry_sites(db: Any, n_sites: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from qorgau.accounts.models import Organisation, User
    from qorgau.alarms import gateways
    from qorgau.alarms import service as alarms
    from qorgau.alarms.schemas import DeviceIn, GatewayIn
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    ent_id = db.scalar(select(Organisation.enterprise_id).join(User).where(
        User.username == "osh.mine"))
    out = []
    for k in range(n_sites):
        site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
            enterprise_id=ent_id, kind="mine", name=f"Load-test section {k + 1}",
            lon=73.1 + k * 0.001, lat=49.8))
        for kind, qty, code in DEVICES:
            alarms.create_device(db=db, actor=SYSTEM_ACTOR, data=DeviceIn(
                site_id=site.id, code=code, kind=kind, quantity=qty))
        gw, key = gateways.create_gateway(db=db, actor=SYSTEM_ACTOR, data=GatewayIn(
            site_id=site.id, name=f"load-gw-{k + 1}"))
        out.append({"site_id": site.id, "gateway": gw.name, "key": key,
                    "devices": [[code, qty] for _kind, qty, code in DEVICES]})
    return out


def run_daily_jobs() -> list[str]:
    """So the server's scheduler does not start them in the middle of a measured level."""
    from qorgau.core import jobs
    from qorgau.core.db import get_sessionmaker

    done = []
    with get_sessionmaker()() as db:
        for job in jobs.load_jobs():
            if job.daily_at is not None:
                jobs.run_job(db, job, f"load-setup-{os.getpid()}")
                done.append(job.name)
    return done


# --- database and server ------------------------------------------------------------------------
@dataclass
class Stack:
    workdir: Path
    url: str
    env: dict[str, str]
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    pg_db: str | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def make_stack(workdir: Path, db_kind: str, background: bool) -> Stack:
    pg_db = None
    if db_kind == "postgresql":
        from sqlalchemy import create_engine, text

        pg_db = f"qorgau_load_{secrets.token_hex(4)}"
        eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{pg_db}"'))
        eng.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_db}"
    else:
        url = f"sqlite:///{workdir / 'qorgau.sqlite3'}"
    env = {**os.environ, "QORGAU_DATABASE_URL": url, "QORGAU_VAR_DIR": str(workdir),
           "QORGAU_ENV": "production", "QORGAU_COOKIE_SECURE": "false",
           "QORGAU_BACKGROUND": "1" if background else "0"}
    return Stack(workdir=workdir, url=url, env=env, pg_db=pg_db)


def qorgau(stack: Stack, *args: str, timeout: float = 1800) -> str:
    done = subprocess.run([str(BIN / "qorgau"), *args], env=stack.env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode:
        raise RuntimeError(f"qorgau {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(stack: Stack, world: str, n_sites: int, daily_jobs: bool) -> dict[str, Any]:
    t0 = time.monotonic()
    if world == "demo":
        qorgau(stack, "demo", "--no-serve")
    args = [sys.executable, __file__, "--setup-world", world, "--sites", str(n_sites)]
    if daily_jobs:
        args.append("--daily-jobs")
    done = subprocess.run(args, env=stack.env, capture_output=True, text=True, timeout=1800,
                          check=False)
    if done.returncode:
        raise RuntimeError(f"world setup failed:\n{done.stdout}\n{done.stderr}")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    info["prepare_s"] = time.monotonic() - t0
    return info


def start_server(stack: Stack, workers: int) -> None:
    import socket

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        stack.port = int(s.getsockname()[1])
    log = (stack.workdir / "server.log").open("ab")
    stack.proc = subprocess.Popen(
        [str(BIN / "qorgau"), "serve", "--port", str(stack.port), "--workers", str(workers)],
        env=stack.env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            raise RuntimeError(f"server exited; see {stack.workdir / 'server.log'}")
        try:
            if requests.get(f"{stack.base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not answer /healthz within 90 s")


def stop_server(stack: Stack) -> None:
    if stack.proc is not None and stack.proc.poll() is None:
        stack.proc.terminate()
        try:
            stack.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.proc.wait(timeout=10)


def drop_database(stack: Stack) -> None:
    if stack.pg_db:
        from sqlalchemy import create_engine, text

        eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{stack.pg_db}" WITH (FORCE)'))
        eng.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were reaped (uvicorn workers)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    total = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(cpu_seconds(int(c)) for c in children)


def login(base: str) -> dict[str, Any]:
    """One bearer token per demo login (and a page cookie for dashboard users), taken before
    the run: a real user signs in once a day, so sign-in is not part of the measured mix."""
    import requests

    out: dict[str, Any] = {"dashboard": [], "reporters": []}
    for name in DASHBOARD_LOGINS + REPORTER_LOGINS:
        r = requests.post(f"{base}/api/v1/auth/token",
                          json={"username": name, "password": PASSWORD}, timeout=30)
        r.raise_for_status()
        cred = {"user": name, "bearer": r.json()["access_token"]}
        if name in DASHBOARD_LOGINS:
            page = requests.post(f"{base}/login", data={"username": name, "password": PASSWORD},
                                 allow_redirects=False, timeout=30)
            cred["cookie"] = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
            out["dashboard"].append(cred)
        else:
            out["reporters"].append(cred)
    return out


# --- measurements ---------------------------------------------------------------------------------
@dataclass
class Collector:
    recording: bool = False
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accident_ids: list[int] = field(default_factory=list)  # every 201, measured or not
    readings_sent: int = 0
    readings_accepted: int = 0
    readings_duplicates: int = 0
    started: int = 0  # requests sent, measured or not
    completed: int = 0

    def reset(self) -> None:
        self.samples.clear()
        self.errors.clear()
        self.server_errors.clear()

    def on_request(self, request_type: str, name: str, response_time: float,
                   response_length: int, response: Any = None, exception: Any = None,
                   **_kw: Any) -> None:
        self.completed += 1
        cls = name.split(":", 1)[0]
        status = int(getattr(response, "status_code", 0) or 0)
        self.statuses[f"{cls} {status}"] += 1
        if not self.recording:
            return
        self.samples[cls].append(response_time)
        if exception is not None or status == 0 or status >= 400:
            self.errors[cls] += 1
        if status >= 500:
            self.server_errors[cls] += 1


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def user_classes(base: str, creds: dict[str, Any], sites: list[dict[str, Any]],
                 col: Collector) -> list[type]:
    from gevent.lock import Semaphore
    from locust import between, constant_pacing, task
    from locust.contrib.fasthttp import FastHttpUser

    site_locks = [Semaphore() for _ in sites]
    seqs = [0 for _ in sites]
    picks = {"site": 0, "dash": 0, "rep": 0}

    def take(kind: str, n: int) -> int:
        picks[kind] += 1
        return (picks[kind] - 1) % n

    class Base(FastHttpUser):
        abstract = True
        host = base
        network_timeout = connection_timeout = 15.0  # a stalled request counts as an error

        def req(self, method: str, path: str, **kw: Any) -> Any:
            col.started += 1
            return self.client.request(method, path, **kw)

    class Dashboard(Base):
        weight = WEIGHTS["dashboard"]
        wait_time = between(0.5, 2.0)

        def on_start(self) -> None:
            cred = creds["dashboard"][take("dash", len(creds["dashboard"]))]
            self.api = {"Authorization": f"Bearer {cred['bearer']}"}
            self.page = {"Cookie": cred["cookie"]}

        @task(2)
        def home(self) -> None:
            self.req("GET", "/", headers=self.page, name="dashboard:GET /")

        @task(2)
        def summary(self) -> None:
            self.req("GET", "/api/v1/indicators/summary", headers=self.api,
                            name="dashboard:GET indicators/summary")

        @task(1)
        def table(self) -> None:
            by = random.choice(("region", "section", "cause"))
            self.req("GET", f"/api/v1/indicators/table?by={by}", headers=self.api,
                            name="dashboard:GET indicators/table")

        @task(3)
        def map_clusters(self) -> None:
            zoom = random.randint(4, 9)
            w, s = random.uniform(50, 80), random.uniform(42, 52)
            span = 40 / 2 ** (zoom - 4)
            bbox = f"{w:.3f},{s:.3f},{min(88, w + span):.3f},{min(56, s + span / 2):.3f}"
            self.req("GET", f"/api/v1/map/clusters?bbox={bbox}&zoom={zoom}", headers=self.api,
                            name="dashboard:GET map/clusters")

        @task(2)
        def accidents(self) -> None:
            self.req("GET", f"/api/v1/accidents?page={random.randint(1, 3)}&size=25",
                            headers=self.api, name="dashboard:GET accidents")

    class Accident(Base):
        weight = WEIGHTS["accident"]
        wait_time = between(2.0, 6.0)

        def on_start(self) -> None:
            cred = creds["reporters"][take("rep", len(creds["reporters"]))]
            self.api = {"Authorization": f"Bearer {cred['bearer']}"}

        @task
        def submit(self) -> None:
            r = self.req("POST", "/api/v1/accidents", json=accident_body(), headers=self.api,
                                 name="accident:POST accidents")
            if r.status_code == 201:
                col.accident_ids.append(int(r.json()["id"]))

    class Telemetry(Base):
        weight = WEIGHTS["telemetry"]
        wait_time = constant_pacing(1.0)

        def on_start(self) -> None:
            self.k = take("site", len(sites))
            self.site = sites[self.k]
            self.auth = {"X-Gateway": self.site["gateway"], "X-Gateway-Key": self.site["key"]}

        @task
        def post_batch(self) -> None:
            with site_locks[self.k]:  # one gateway sends one batch at a time, in order
                seqs[self.k] += 1
                now = time.time()
                rows = [{"d": code, "s": seqs[self.k], "t": now,
                         "v": round(random.uniform(*NORMAL[qty]), 3)}
                        for code, qty in self.site["devices"]]
                body = {"site_id": self.site["site_id"], "readings": rows}
                col.readings_sent += len(rows)  # before: a batch that never gets an answer
                r = self.req("POST", "/api/v1/alarms/ingest", json=body, headers=self.auth,
                                     name="telemetry:POST alarms/ingest")
                if r.status_code == 200:
                    res = r.json()
                    col.readings_accepted += int(res["accepted"])
                    col.readings_duplicates += int(res["duplicates"])

    return [Dashboard, Accident, Telemetry]


def accident_body() -> dict[str, Any]:
    at = datetime.now(KZ) - timedelta(minutes=random.randint(30, 3 * 24 * 60))
    victims = [{"full_name": f"Жұмысшы {secrets.token_hex(3)}",
                "birth_date": (date(1970, 1, 1) + timedelta(days=random.randint(0, 12000))
                               ).isoformat(),
                "severity": random.choices(("minor", "severe"), (9, 1))[0]}
               for _ in range(random.choice((1, 1, 1, 2)))]
    return {"occurred_at": at.isoformat(timespec="seconds"),
            "severity": max((v["severity"] for v in victims), key=("minor", "severe").index),
            "circumstances": "Падение с высоты при монтаже конструкций; load-test record "
                             + secrets.token_hex(4),
            "victims": victims}


def drive(base: str, creds: dict[str, Any], sites: list[dict[str, Any]], levels: list[int],
          seconds: float, server_pid: int) -> tuple[list[dict], Collector]:
    import gevent
    from locust.env import Environment

    col = Collector()
    # users finish the request they are in when stopped: a killed one leaves a batch the
    # server stored but the gateway never saw answered (counted in the database, not here)
    env = Environment(user_classes=user_classes(base, creds, sites, col),
                      stop_timeout=STOP_TIMEOUT_S)
    env.events.request.add_listener(col.on_request)
    runner = env.create_local_runner()
    warmup = min(5.0, max(2.0, seconds / 4))  # new users' first requests are not measured
    rows = []
    try:
        for n in levels:
            runner.start(n, spawn_rate=max(10, n))
            deadline = time.monotonic() + 60
            while runner.user_count < n and time.monotonic() < deadline:
                gevent.sleep(0.1)
            gevent.sleep(warmup)
            col.reset()
            cpu0, me0, t0 = cpu_seconds(server_pid), time.process_time(), time.monotonic()
            col.recording = True
            gevent.sleep(seconds)
            col.recording = False
            wall = time.monotonic() - t0
            rows.append(level_row(n, col, wall, (cpu_seconds(server_pid) - cpu0) / wall,
                                  (time.process_time() - me0) / wall,
                                  dict(runner.user_classes_count)))
            rows[-1]["in_flight"] = col.started - col.completed
            print(format_row(rows[-1]), flush=True)
    finally:
        runner.quit()
        gevent.sleep(1.0)  # let in-flight requests finish and be counted
    return rows, col


def level_row(n: int, col: Collector, wall: float, server_cpu: float, driver_cpu: float,
              mix: dict[str, int]) -> dict[str, Any]:
    per = {}
    for cls in WEIGHTS:
        xs = col.samples.get(cls, [])
        per[cls] = {"n": len(xs), "rps": len(xs) / wall, "p50": pct(xs, 50), "p99": pct(xs, 99),
                    "errors": col.errors.get(cls, 0), "5xx": col.server_errors.get(cls, 0)}
    allx = [x for xs in col.samples.values() for x in xs]
    return {"users": n, "mix": mix, "seconds": wall, "rps": len(allx) / wall,
            "p50": pct(allx, 50), "p99": pct(allx, 99), "classes": per,
            "errors": sum(col.errors.values()), "5xx": sum(col.server_errors.values()),
            "server_cpu": server_cpu, "driver_cpu": driver_cpu,
            "loadavg": os.getloadavg()[0]}


def format_row(r: dict[str, Any]) -> str:
    c = r["classes"]
    parts = [f"{k[:4]} {c[k]['rps']:.1f}/s {c[k]['p50']:.0f}/{c[k]['p99']:.0f} ms" for k in c]
    return (f"{r['users']:4d} users: {r['rps']:6.1f} req/s | " + " | ".join(parts)
            + f" | errors {r['errors']}, 5xx {r['5xx']}, in flight {r.get('in_flight', 0)}"
            f" | server CPU {r['server_cpu']:.0%},"
            f" driver CPU {r['driver_cpu']:.0%}, load {r['loadavg']:.1f}")


def saturation(rows: list[dict[str, Any]], p99_limit: float) -> tuple[int | None, str]:
    """First level where throughput stops rising (< +15 % over the previous level), any
    class's p99 passes the limit, or the server answers 5xx."""
    for i, r in enumerate(rows):
        worst = max((c["p99"] for c in r["classes"].values() if c["n"]), default=0.0)
        n = sum(c["n"] for c in r["classes"].values())
        if r["5xx"]:
            return r["users"], f"{r['5xx']} server errors"
        if not n or r["errors"] > 0.01 * n:
            return r["users"], (f"{r['errors']} errors of {n} requests, "
                                f"{r.get('in_flight', 0)} left in flight")
        if worst > p99_limit:
            return r["users"], f"p99 {worst:.0f} ms > {p99_limit:.0f} ms"
        if i and r["rps"] < 1.15 * rows[i - 1]["rps"]:
            return r["users"], (f"throughput {r['rps']:.1f} req/s, < +15 % over "
                                f"{rows[i - 1]['rps']:.1f} at {rows[i - 1]['users']} users")
    return None, f"not reached up to {rows[-1]['users']} users"


def verify(url: str, col: Collector, site_ids: list[int]) -> dict[str, Any]:
    """Every 201-answered accident is in the database; device counters match what was
    acknowledged to the gateways."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as c:
        found = {i for (i,) in c.execute(text("select id from accident"))}
        stored = c.execute(text("select coalesce(sum(n_accepted), 0) from alarm_device where "
                                f"site_id in ({','.join(map(str, site_ids)) or '0'})")).scalar()
    eng.dispose()
    lost = sorted(set(col.accident_ids) - found)
    return {"accidents_acknowledged": len(col.accident_ids),
            "accidents_acknowledged_ids": col.accident_ids, "accidents_lost": lost,
            "readings_sent": col.readings_sent, "readings_accepted": col.readings_accepted,
            "readings_duplicates": col.readings_duplicates, "readings_stored": int(stored)}


def record(rows: list[dict[str, Any]], sat: tuple[int | None, str], label: str,
           no_append: bool) -> None:
    from benchmarks._common import report

    doc = Path(tempfile.mkdtemp()) / "benchmarks.md" if no_append else None
    low = rows[0]
    for r in rows:
        c = r["classes"]
        detail = ", ".join(f"{k} {c[k]['rps']:.1f}/s p50 {c[k]['p50']:.0f} p99 "
                           f"{c[k]['p99']:.0f} ms" for k in c)
        report(f"load_mix {label}, {r['users']} users: throughput ({detail}; errors "
               f"{r['errors']}, 5xx {r['5xx']}; server CPU {r['server_cpu']:.0%}, load "
               f"{r['loadavg']:.1f})", r["rps"], "req/s", low["rps"],
               f"req/s at {low['users']} users", script="load_mix", doc=doc)
        report(f"load_mix {label}, {r['users']} users: p99 all classes", r["p99"], "ms",
               low["p99"], f"ms at {low['users']} users", script="load_mix", doc=doc)
    users, why = sat
    knee = max(rows, key=lambda r: r["rps"])
    report(f"load_mix {label}: saturation at {users or 'none'} users ({why}); peak "
           f"throughput at {knee['users']} users", knee["rps"], "req/s", low["rps"],
           f"req/s at {low['users']} users", script="load_mix", doc=doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", default="5,10,20,40,80")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--world", choices=("demo", "tiny"), default="demo")
    ap.add_argument("--background", type=int, choices=(0, 1), default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--p99-limit-ms", type=float, default=1000.0)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-append", action="store_true")
    ap.add_argument("--setup-world", choices=("demo", "tiny"), help=argparse.SUPPRESS)
    ap.add_argument("--sites", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--daily-jobs", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.setup_world:  # child process: build the world, print it as one JSON line
        info = setup_world(a.setup_world, a.sites)
        info["daily_jobs"] = run_daily_jobs() if a.daily_jobs else []
        print(json.dumps(info))
        return
    import locust  # noqa: F401  (gevent monkey-patches here, before any client socket exists)

    sys.path.insert(0, str(ROOT))
    levels = [int(x) for x in a.users.split(",")]
    tel_share = WEIGHTS["telemetry"] / sum(WEIGHTS.values())
    n_sites = max(1, math.ceil(max(levels) * tel_share) + 1)
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="qorgau-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stack = make_stack(workdir, a.db, bool(a.background))
    try:
        info = prepare(stack, a.world, n_sites, daily_jobs=bool(a.background))
        print(f"world {a.world} on {a.db} ready in {info['prepare_s']:.0f} s "
              f"({n_sites} telemetry sites; {DAILY_JOBS_NOTE}: {info['daily_jobs']})",
              flush=True)
        t0 = time.monotonic()
        start_server(stack, a.workers)
        assert stack.proc is not None
        creds = login(stack.base)
        print(f"server up and signed in in {time.monotonic() - t0:.0f} s", flush=True)
        rows, col = drive(stack.base, creds, info["sites"], levels, a.seconds, stack.proc.pid)
        stop_server(stack)  # then read what the server left behind
        checks = verify(stack.url, col, [s["site_id"] for s in info["sites"]])
    finally:
        stop_server(stack)
        drop_database(stack)
    sat = saturation(rows, a.p99_limit_ms)
    print(f"saturation: {sat[0] or 'none'} users — {sat[1]}")
    brief = {k: len(v) if isinstance(v, list) else v for k, v in checks.items()}
    print(f"checks: {json.dumps(brief)}")
    label = f"{a.db}, {a.world} twin, background {'on' if a.background else 'off'}"
    record(rows, sat, label, a.no_append)
    if a.json:
        a.json.write_text(json.dumps({"levels": rows, "saturation": sat, "checks": checks,
                                      "statuses": dict(col.statuses), "label": label},
                                     indent=1, default=str))


if __name__ == "__main__":
    main()
