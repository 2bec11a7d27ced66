"""Digital Map of Enterprises over HTTP: 500 K enterprises in SQLite and in a fresh PostgreSQL
database, the real app under uvicorn on a loopback port, httpx as the client.

Figures per backend: index cold start (first map request of a fresh server process: the one
SELECT, risk and layer providers, build), viewport request p50/p95 at every zoom 4..16 with
random filter combinations (HTTP included, keep-alive), payload max/p95, first map paint in
headless Chromium (navigation start → first cluster marker in the DOM). Baselines measured in
the same run: (a) a naive server sending every filtered point (SQL + JSON, same database),
(b) supercluster 8 in Node over the same points, unfiltered (benchmarks/js/).

Data: numpy-generated enterprises (the columns the index reads, plus BIN and name), bulk
inserted (SQLite executemany, PostgreSQL COPY); the PostgreSQL database is dropped afterwards.

Run: .venv/bin/python benchmarks/map_http.py [--points 500000] [--per-zoom 40]
     [--backends sqlite,postgresql] [--no-append] [--cold-only]

`--cold-only` measures only the index cold start: a first server that builds the index, then
three fresh server processes over the same data and var dir that load the saved index.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks._common import report  # noqa: E402
from benchmarks.map_viewport import measure_supercluster, random_viewports, synthesise  # noqa: E402

from qorgau.geo.filters import OKED_SECTIONS, REGION_CODES, RISK_BANDS, SIZE_BANDS  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ZOOMS = range(4, 17)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZE_NAMES = list(SIZE_BANDS)


def q(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if xs else float("nan")


# --- data ------------------------------------------------------------------------------------
def enterprise_rows(n: int, url: str) -> tuple[dict[str, Any], list[tuple]]:
    """The synthetic twin of map_viewport.py, with activity codes that exist in the database."""
    from sqlalchemy import create_engine, text

    cols = synthesise(n)
    cols["lon"] = np.clip(cols["lon"], 46.01, 87.99)  # the table's in_kazakhstan check
    cols["lat"] = np.clip(cols["lat"], 40.01, 55.99)
    eng = create_engine(url)
    with eng.connect() as c:
        acts = c.execute(text("select code, section from activity where level = 'division'")).all()
    eng.dispose()
    rng = np.random.default_rng(5)
    pick = rng.integers(0, len(acts), n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    cols["ids"] = ids
    regions = np.array(REGION_CODES)[rng.integers(0, len(REGION_CODES), n)]
    bins = [f"{900000000000 + i:012d}" for i in range(n)]
    now = "2026-01-01 00:00:00+00:00"
    rows = [
        (
            int(i),
            b,
            f"Bench enterprise {i}",
            acts[a][0],
            acts[a][1],
            r,
            "",
            float(x),
            float(y),
            SIZE_NAMES[s],
            bool(h),
            1,
            now,
            "bench",
        )
        for i, b, a, r, x, y, s, h in zip(
            ids.tolist(),
            bins,
            pick.tolist(),
            regions.tolist(),
            cols["lon"].tolist(),
            cols["lat"].tolist(),
            cols["size"].tolist(),
            cols["hazardous"].tolist(),
            strict=True,
        )
    ]
    return cols, rows


COLUMNS = (
    "id",
    "bin",
    "name",
    "activity_code",
    "section",
    "region_code",
    "address",
    "lon",
    "lat",
    "size_band",
    "hazardous",
    "revision",
    "created_at",
    "created_by",
)


def load_sqlite(path: Path, rows: list[tuple]) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")  # a scratch database: no WAL for the bulk load
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")  # keep the index B-trees in memory
    marks = ",".join("?" * len(COLUMNS))
    con.executemany(f"insert into enterprise ({','.join(COLUMNS)}) values ({marks})", rows)
    con.commit()
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")  # what the app uses
    con.close()


def load_postgres(dbname: str, rows: list[tuple]) -> None:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={dbname}") as con:
        copy = f"COPY enterprise ({','.join(COLUMNS)}) FROM STDIN"
        with con.cursor() as cur, cur.copy(copy) as cp:
            for row in rows:
                cp.write_row(row)
        # COPY with explicit ids leaves the id sequence at 1: later inserts would collide
        con.execute(
            "SELECT setval(pg_get_serial_sequence('enterprise', 'id'), max(id)) FROM enterprise"
        )
        con.execute("ANALYZE enterprise")


@contextmanager
def database(backend: str, tmp: Path):
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'qorgau.sqlite3'}", None
        return
    name = f"qorgau_maphttp_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'create database "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name
    finally:
        with admin.connect() as c:
            c.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def make_tokens(url: str) -> dict[str, str]:
    """A national analyst with a bearer token (API) and a cookie session (the page)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    import qorgau.registry.models  # noqa: F401 - the tables accounts' foreign keys name
    from qorgau.accounts import service
    from qorgau.accounts.models import Organisation, User

    eng = create_engine(url)
    with Session(eng) as s:
        org = Organisation(kind="ministry", name="Bench ministry", region_code=None)
        s.add(org)
        s.flush()
        user = User(
            username=f"bench-{secrets.token_hex(3)}",
            full_name="Bench analyst",
            role="ministry_analyst",
            password_hash="!",
            organisation_id=org.id,
            language="en",
        )
        s.add(user)
        s.commit()
        bearer, _ = service.open_session(s, user=user, kind="bearer")
        cookie, _ = service.open_session(s, user=user, kind="cookie")
    eng.dispose()
    return {"bearer": bearer, "cookie": cookie}


# --- server ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, var_dir: Path):
    port = free_port()
    env = {
        **os.environ,
        "QORGAU_DATABASE_URL": url,
        "QORGAU_VAR_DIR": str(var_dir),
        "QORGAU_COOKIE_SECURE": "false",
        "QORGAU_ALARMS_TICKER": "0",
        "PYTHONPATH": str(ROOT / "src"),
    }
    log = open(var_dir / f"uvicorn-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "qorgau.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/api/v1/map/regions.geojson", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not start; see " + log.name)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        for line in Path(log.name).read_text(errors="replace").splitlines():
            if '"qorgau.geo"' in line:  # index build times, logged by the server
                print(line)


# --- measurements ----------------------------------------------------------------------------
def random_params(rng: np.random.Generator, flags: list[str]) -> list[tuple[str, str]]:
    """Any combination of the map's filters: each facet present with p = 0.3 (1–3 values)."""
    out: list[tuple[str, str]] = []
    activities = [*OKED_SECTIONS, *(f"{d:02d}" for d in range(1, 100))]
    for key, values in (
        ("region", list(REGION_CODES)),
        ("activity", activities),
        ("size", SIZE_NAMES),
        ("risk", list(RISK_BANDS)),
    ):
        if rng.random() < 0.3:
            for v in rng.choice(values, int(rng.integers(1, 4)), replace=False).tolist():
                out.append((key, v))
    if rng.random() < 0.3:
        out.append(("hazardous", "true" if rng.random() < 0.5 else "false"))
    for f in flags:
        if f != "hazardous" and rng.random() < 0.15:  # same key as the facet: one value only
            out.append((f, "true"))
    if rng.random() < 0.05:  # BIN prefix search
        out.append(("q", f"9000000{int(rng.integers(0, 99999)):05d}"[:9]))
    return out


def measure_viewports(base: str, token: str, cols: dict, per_zoom: int, flags: list[str]) -> dict:
    rng = np.random.default_rng(11)
    by_zoom: dict[int, list[float]] = {z: [] for z in ZOOMS}
    sizes: list[int] = []
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
        vps = [v for v in random_viewports(rng, cols, per_zoom * 40)]
        for z in ZOOMS:
            mine = [v for v in vps if v[4] == z][:per_zoom]
            for w, s, e, n, _ in mine:
                params = [
                    ("bbox", f"{w:.5f},{s:.5f},{e:.5f},{n:.5f}"),
                    ("zoom", str(z)),
                    *random_params(rng, flags),
                ]
                t0 = time.perf_counter()
                r = c.get("/api/v1/map/clusters", params=params)
                body = r.content
                by_zoom[z].append((time.perf_counter() - t0) * 1e3)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    sizes.append(len(body))
    alltimes = [t for ts in by_zoom.values() for t in ts]
    return {
        "p50_ms": q(alltimes, 50),
        "p95_ms": q(alltimes, 95),
        "max_ms": max(alltimes),
        "p95_by_zoom": {z: round(q(ts, 95), 1) for z, ts in by_zoom.items()},
        "p50_by_zoom": {z: round(q(ts, 50), 1) for z, ts in by_zoom.items()},
        "worst_zoom_p95": max(q(ts, 95) for ts in by_zoom.values()),
        "max_bytes": max(sizes),
        "p95_bytes": q(sizes, 95),
        "statuses": statuses,
    }


def measure_naive(url: str, k: int = 12) -> dict:
    """Baseline (a): what a server without aggregation does: SELECT every filtered point and
    serialise it (client-side clustering); same database, no HTTP (so flattering)."""
    from sqlalchemy import create_engine, text

    rng = np.random.default_rng(3)
    eng = create_engine(url)
    times, sizes = [], []
    with eng.connect() as c:
        for i in range(k):
            where, args = "1=1", {}
            if i % 3 == 1:
                where, args = "region_code = :r", {"r": str(rng.choice(REGION_CODES))}
            elif i % 3 == 2:
                where, args = "size_band = :s", {"s": "micro"}
            t0 = time.perf_counter()
            rows = c.execute(
                text(f"select id, lon, lat, section from enterprise where {where}"), args
            ).all()
            body = orjson.dumps({"points": [list(r) for r in rows]})
            times.append((time.perf_counter() - t0) * 1e3)
            sizes.append(len(body))
    eng.dispose()
    return {"p50_ms": q(times, 50), "p95_ms": q(times, 95), "max_bytes": max(sizes)}


def measure_paint(base: str, cookie: str, runs: int = 3) -> dict:
    """Navigation start → first cluster marker, /map as a national analyst, 1366×768."""
    from playwright.sync_api import sync_playwright

    watch = """
      window.__firstCluster = null;
      new MutationObserver((m, o) => {
        if (document.querySelector('.cl')) {
          window.__firstCluster = performance.now(); o.disconnect();
        }
      }).observe(document, {childList: true, subtree: true});
    """
    out, foreign = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(runs):
            ctx = browser.new_context(viewport={"width": 1366, "height": 768})
            ctx.add_cookies([{"name": "qorgau_session", "value": cookie, "url": base}])
            ctx.add_init_script(watch)
            page = ctx.new_page()
            page.on(
                "request",
                lambda r: (
                    foreign.append(r.url)
                    if not r.url.startswith(base) and not r.url.startswith("data:")
                    else None
                ),
            )
            page.goto(base + "/map?lang=en")
            page.wait_for_selector(".cl", timeout=30_000)
            page.wait_for_function("window.__firstCluster !== null")
            out.append(float(page.evaluate("window.__firstCluster")))
            ctx.close()
        browser.close()
    return {
        "first_ms": out[0],
        "median_ms": float(np.median(out)),
        "runs_ms": out,
        "foreign_requests": foreign,
    }


def cold_start(base: str, token: str) -> float:
    t0 = time.perf_counter()
    r = httpx.get(
        base + "/api/v1/map/count", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )
    r.raise_for_status()
    return time.perf_counter() - t0


def wait_full_build(base: str, token: str, limit_s: float = 300) -> float:
    """The first build skips inspections' scores and a full one follows in the background;
    measure viewports after it (its Python loop would otherwise compete for the GIL)."""
    t0 = time.perf_counter()
    h = {"Authorization": f"Bearer {token}"}
    while time.perf_counter() - t0 < limit_s:
        r = httpx.get(base + "/api/v1/map/enterprises/1/card", headers=h, timeout=limit_s)
        src = r.json()["risk"]
        if "pending" not in (src.get("source") or ""):
            break
        time.sleep(0.5)
    return time.perf_counter() - t0


def saved_index_ready(var_dir: Path, limit_s: float = 300) -> bool:
    """The full build is written to <var_dir>/map-index/ right after it is swapped in."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        if any((var_dir / "map-index").glob("*.npz")):
            return True
        time.sleep(0.5)
    return False


def run_cold(backend: str, n: int, restarts: int = 3) -> dict:
    """Cold start twice over: a server that must build the index (first run after a load),
    then fresh server processes over the same data that find the index saved on disk."""
    from qorgau.core.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        with database(backend, tmp) as (url, pgname):
            upgrade(url)
            _, rows = enterprise_rows(n, url)
            if pgname:
                load_postgres(pgname, rows)
            else:
                load_sqlite(tmp / "qorgau.sqlite3", rows)
            del rows
            tokens = make_tokens(url)
            with server(url, tmp) as base:
                build = cold_start(base, tokens["bearer"])
                wait_full_build(base, tokens["bearer"])
                saved = saved_index_ready(tmp)
            again = []
            for _ in range(restarts):
                with server(url, tmp) as base:
                    again.append(cold_start(base, tokens["bearer"]))
            changed = []
            for i in range(restarts):  # registry writes since the save: a delta on start
                change_enterprises(url, new=1 + i, revised=100)
                with server(url, tmp) as base:
                    changed.append(cold_start(base, tokens["bearer"]))
            return {
                "backend": backend,
                "build_s": build,
                "saved": saved,
                "restart_s": again,
                "changed_restart_s": changed,
            }


def bench_bin(rng: np.random.Generator) -> str:
    """A valid BIN (entity-type digit 4, check digit) outside the synthetic twin's range."""
    from qorgau.core.identifiers import complete

    while True:
        number = complete(f"880140{int(rng.integers(0, 10**5)):05d}")
        if number:
            return number


def change_enterprises(url: str, *, new: int, revised: int) -> None:
    """Registry writes through the service (audited, as the feed and the forms do)."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from qorgau.core.models import load_all_models
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service
    from qorgau.registry.models import Enterprise
    from qorgau.registry.schemas import EnterpriseIn, EnterprisePatch

    load_all_models()
    eng = create_engine(url)
    rng = np.random.default_rng()  # fresh BINs on every call
    with Session(eng) as s:
        for _ in range(new):
            service.create_enterprise(
                db=s,
                actor=SYSTEM_ACTOR,
                data=EnterpriseIn(
                    bin=bench_bin(rng),
                    name="Bench new enterprise",
                    activity_code="41",
                    region_code="KZ-35",
                    lon=73.1,
                    lat=49.8,
                    size_band="small",
                ),
            )
        top = int(s.scalar(select(Enterprise.id).order_by(Enterprise.id.desc()).limit(1)))
        for eid in rng.integers(1, top, revised).tolist():
            service.update_enterprise(
                db=s,
                actor=SYSTEM_ACTOR,
                enterprise_id=int(eid),
                data=EnterprisePatch(hazardous=bool(rng.random() < 0.5), reason="bench change"),
            )
    eng.dispose()


def cold_main(args: argparse.Namespace) -> None:
    for b in args.backends.split(","):
        r = run_cold(b, args.points)
        restart = float(np.median(r["restart_s"]))
        load = uptime()
        print(json.dumps({**r, "loadavg": load}))
        line = (
            f"map_http_{b}_index_cold_restart",
            restart,
            "s",
            r["build_s"],
            f"s first start building the index (no saved index); median of "
            f"{len(r['restart_s'])} restarts {[round(x, 2) for x in r['restart_s']]}",
        )
        changed = float(np.median(r["changed_restart_s"]))
        line2 = (
            f"map_http_{b}_index_cold_restart_after_changes",
            changed,
            "s",
            r["build_s"],
            f"s first start building the index (no saved index); saved index + delta of "
            f"1–3 new and 100 revised enterprises per restart, median of "
            f"{len(r['changed_restart_s'])} {[round(x, 2) for x in r['changed_restart_s']]}",
        )
        for ln in (line, line2):
            if args.no_append or not r["saved"]:
                print(f"{ln[0]}: {ln[1]:.3g} s (build: {ln[3]:.3g} s; saved={r['saved']})")
            else:
                report(*ln[:4], ln[4] + f"; load {load}")


def available_flags(base: str, token: str) -> list[str]:
    r = httpx.get(base + "/api/v1/map/layers", headers={"Authorization": f"Bearer {token}"})
    return [la["name"] for la in r.json() if la["kind"] == "flag" and la["available"]]


def run_backend(backend: str, n: int, per_zoom: int) -> dict:
    from qorgau.core.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        with database(backend, tmp) as (url, pgname):
            t0 = time.perf_counter()
            upgrade(url)
            t_mig = time.perf_counter() - t0
            cols, rows = enterprise_rows(n, url)
            t0 = time.perf_counter()
            if pgname:
                load_postgres(pgname, rows)
            else:
                load_sqlite(tmp / "qorgau.sqlite3", rows)
            t_load = time.perf_counter() - t0
            del rows
            tokens = make_tokens(url)
            with server(url, tmp) as base:
                cold = cold_start(base, tokens["bearer"])
                full = wait_full_build(base, tokens["bearer"])
                # the full build is written to disk right after it is swapped in (≈ 50 MB):
                # a one-off cost of the build, not of the viewport requests measured next
                saved_index_ready(tmp)
                flags = available_flags(base, tokens["bearer"])
                vp = measure_viewports(base, tokens["bearer"], cols, per_zoom, flags)
                paint = measure_paint(base, tokens["cookie"])
            naive = measure_naive(url)
            print(json.dumps({"backend": backend, "migrate_s": t_mig, "load_s": t_load}))
            return {
                "backend": backend,
                "cold_s": cold,
                "full_build_wait_s": full,
                "flags": flags,
                "viewports": vp,
                "paint": paint,
                "naive": naive,
                "cols": cols,
                "load_s": t_load,
            }


def uptime() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=500_000)
    ap.add_argument("--per-zoom", type=int, default=40)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--no-append", action="store_true", help="print only")
    ap.add_argument(
        "--cold-only", action="store_true", help="index cold start: build vs saved index"
    )
    args = ap.parse_args()
    if args.cold_only:
        cold_main(args)
        return
    results = [run_backend(b, args.points, args.per_zoom) for b in args.backends.split(",")]
    cols = results[0]["cols"]
    rng = np.random.default_rng(11)
    sc = measure_supercluster(cols, random_viewports(rng, cols, 500))
    load = uptime()
    lines = []
    for r in results:
        b, vp, paint, naive = r["backend"], r["viewports"], r["paint"], r["naive"]
        lines += [
            (
                f"map_http_{b}_viewport_p95_worst_zoom",
                vp["worst_zoom_p95"],
                "ms",
                naive["p95_ms"],
                "ms naive all filtered points (no HTTP)",
            ),
            (
                f"map_http_{b}_viewport_p95_all",
                vp["p95_ms"],
                "ms",
                sc["p95_ms"],
                "ms supercluster getClusters (unfiltered, no HTTP)",
            ),
            (
                f"map_http_{b}_viewport_p50_all",
                vp["p50_ms"],
                "ms",
                sc["p50_ms"],
                "ms supercluster getClusters (unfiltered, no HTTP)",
            ),
            (
                f"map_http_{b}_payload_max",
                vp["max_bytes"] / 1e3,
                "KB",
                naive["max_bytes"] / 1e3,
                "KB naive all points",
            ),
            (
                f"map_http_{b}_payload_p95",
                vp["p95_bytes"] / 1e3,
                "KB",
                sc["p95_bytes"] / 1e3,
                "KB supercluster GeoJSON",
            ),
            (
                f"map_http_{b}_index_cold_start",
                r["cold_s"],
                "s",
                sc["load_ms"] / 1e3,
                "s supercluster load",
            ),
            (
                f"map_http_{b}_first_paint",
                paint["median_ms"] / 1e3,
                "s",
                (naive["p50_ms"] + sc["load_ms"]) / 1e3,
                "s naive fetch + supercluster load (client-side clustering, estimate)",
            ),
        ]
    for figure, value, unit, base, base_unit in lines:
        if args.no_append:
            print(f"{figure}: {value:.4g} {unit} (baseline: {base:.4g} {base_unit})")
        else:
            report(figure, value, unit, base, base_unit + f"; load {load}")
    details = {r["backend"]: {k: v for k, v in r.items() if k != "cols"} for r in results}
    details["supercluster"] = sc
    details["loadavg"] = load
    print(json.dumps(details, indent=1, default=float))


if __name__ == "__main__":
    main()
