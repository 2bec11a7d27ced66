"""The telemetry simulator against ground truth: each scenario's danger is detected by the
alarm it should raise, after the danger began; the predictive methane warning's lead time and
false-warning rate; a quiet mine raises nothing; the command end to end, in process and over
the real Mosquitto with its access-control list."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from alarms.conftest import Mine
from alarms.test_brokers import (
    _wait,
    mosquitto,  # noqa: F401 - fixture
)
from qorgau.alarms import kpis, simulate
from qorgau.alarms.models import AlarmRecord, Device, Rollup
from qorgau.alarms.scenarios import MINE_ZONES, SCENARIOS, Scenario, Stream, default_scenarios

_n = itertools.count(1)


@pytest.fixture
def sim(db, world):
    """A fresh simulated mine with the standard devices (code → quantity)."""
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    site = registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=world.enterprises["mine_krg"], kind="mine",
        name=f"Simulated mine {next(_n)}", lon=73.1, lat=49.8, zones=MINE_ZONES))
    return site, simulate.ensure_devices(db, site)


def run(db, proc, sim, scenarios, seconds):
    """`seconds` of the mine on the readings' own clock (ending about now), then measured."""
    site, devices = sim
    stream = Stream(dict(devices), scenarios, seed=3)
    t0 = time.time() - seconds - 5
    simulate.feed(db, site.id, stream, t0, seconds, proc=proc)
    return t0, simulate.evaluate(db, site.id, t0, stream.truth(t0), until=t0 + seconds)


def entry(result, scenario):
    return next(t for t in result["truth"] if t["scenario"] == scenario)


def raised_before(db, site, t):
    """Alarm raises at the site before time t (nothing may precede the danger)."""
    return [(c, k) for c, k, tr, at in simulate._transitions(db, site.id, 0, t)
            if tr == "raise" and at < t - 1e-3]


def record(db, site, code, kind):
    return db.scalar(select(AlarmRecord).join(Device, Device.id == AlarmRecord.device_id).where(
        AlarmRecord.site_id == site.id, Device.code == code, AlarmRecord.kind == kind))


def test_methane_build_up_warned_before_the_limits_and_a_levelled_off_one_is_false(db, proc,
                                                                                   sim):
    """CH4-1 rises 0.1 %/min from 60 s (1 % after ~390 s, 1.5 % after ~690 s); CH4-2 rises as
    fast but levels off at +0.5 % (0.85 %): its warning is the false one."""
    t0, r = run(db, proc, sim, [
        Scenario("methane_buildup", "CH4-1", 60, {"rate_per_min": 0.1}),
        Scenario("methane_buildup", "CH4-2", 60, {"rate_per_min": 0.1, "max_rise": 0.5})],
        1200)
    real = entry(r, "methane_buildup")
    assert real["device"] == "CH4-1" and real["began_at"] == pytest.approx(t0 + 60)
    assert raised_before(db, sim[0], t0 + 60) == []
    got = real["alarms"]
    assert 0 < got["FORECAST"] < got["HI"] < got["HIHI"]
    assert 360 <= got["HI"] <= 400 and 660 <= got["HIHI"] <= 700  # the physics: 0.65, 1.15 %
    assert r["forecast_lead_s"] == [pytest.approx(got["HI"] - got["FORECAST"], abs=0.11)]
    assert r["forecast_lead_s"][0] > 120
    assert record(db, sim[0], "CH4-1", "HIHI").life_safety
    levelled = next(t for t in r["truth"] if t["device"] == "CH4-2")
    assert "FORECAST" in levelled["alarms"] and "HI" not in levelled["alarms"]
    n_false = levelled["raises"]["FORECAST"]
    assert r["forecast_warnings"] == real["raises"]["FORECAST"] + n_false
    assert (r["false_warnings"], r["pending_warnings"]) == (n_false, 0)
    assert r["false_warning_rate"] == round(n_false / r["forecast_warnings"], 3)
    assert r["false_warnings_per_device_hour"] == round(n_false / (2 * 1200 / 3600), 3)
    assert "per warning" not in r["definitions"]["false_warning_rate"]  # defined as computed
    assert r["definitions"]["false_warning_rate"].startswith("false_warnings / ")


def test_a_warning_whose_horizon_is_not_over_is_pending(db, proc, sim):
    _t0, r = run(db, proc, sim, [
        Scenario("methane_buildup", "CH4-2", 30, {"rate_per_min": 0.1, "max_rise": 0.5})], 300)
    assert r["forecast_warnings"] >= 1
    assert r["pending_warnings"] == r["forecast_warnings"] and r["false_warnings"] == 0
    assert r["false_warning_rate"] is None


def test_ventilation_failure_fan_alarm_then_methane_with_the_fan_off(db, proc, sim):
    scen = default_scenarios(["ventilation_failure"], 600)
    assert [(s.name, s.device, s.start) for s in scen] == [
        ("ventilation_failure", "FAN-1", 60), ("ventilation_failure_ch4", "CH4-2", 90)]
    t0, r = run(db, proc, sim, scen, 600)
    assert raised_before(db, sim[0], t0 + 60) == []
    fan = entry(r, "ventilation_failure")["alarms"]
    assert 0 <= fan["LOLO"] <= 1  # the fan's own alarm at its first reading off
    ch4 = entry(r, "ventilation_failure_ch4")["alarms"]
    assert 360 <= ch4["COMBO"] <= 400  # CH4 ≥ 1 % (0.1 %/min from 0.35 %) with the fan off
    assert record(db, sim[0], "CH4-2", "COMBO").life_safety
    assert record(db, sim[0], "CH4-1", "COMBO") is None  # its methane stayed background


@pytest.mark.parametrize(("scenario", "device", "seconds", "kinds"), [
    ("co_fire", "CO-1", 330, {"HI": (200, 230), "HIHI": (260, 290)}),
    ("h2s_release", "H2S-1", 90, {"HI": (0, 0), "HIHI": (0, 0)}),
    ("worker_fall", "W-1", 60, {"FALL": (0, 0)}),
])
def test_danger_raises_its_life_safety_alarm_after_it_began(db, proc, sim, scenario, device,
                                                            seconds, kinds):
    start = 30.5 if scenario == "worker_fall" else 30  # a fall mid-second keeps its own time
    t0, r = run(db, proc, sim, [Scenario(scenario, device, start)], seconds)
    e = entry(r, scenario)
    assert (e["device"], e["real_danger"]) == (device, True)
    assert e["began_at"] == pytest.approx(t0 + start)
    assert raised_before(db, sim[0], t0 + start) == []
    for kind, (lo, hi) in kinds.items():
        assert lo <= e["alarms"][kind] <= hi + 0.5, (kind, e["alarms"])
        assert record(db, sim[0], device, kind).life_safety
    assert r["detection_delay_s"] == [min(e["alarms"][k] for k in kinds)]


def test_dropout_raises_stale_from_the_timers(db, proc, sim):
    _t0, r = run(db, proc, sim, [Scenario("sensor_dropout", "TEMP-1", 40)], 150)
    e = entry(r, "sensor_dropout")
    assert e["real_danger"] is False
    assert 59 <= e["alarms"]["STALE"] <= 71  # stale_s 60, the timer ticks every 10 s here
    assert set(e["alarms"]) == {"STALE"} and r["detection_delay_s"] == []
    temp = db.scalar(select(Device).where(Device.site_id == sim[0].id, Device.code == "TEMP-1"))
    db.refresh(temp)
    assert temp.n_accepted == 40  # nothing after the dropout


def test_drift_is_in_the_readings_but_raises_nothing(db, proc, sim):
    """The code's claim: a slow calibration drift (+0.02 ppm CO per minute) is not a danger,
    so the alarms stay silent; the drift is really in the stored readings."""
    _t0, r = run(db, proc, sim, [Scenario("sensor_drift", "CO-2", 0)], 900)
    e = entry(r, "sensor_drift")
    assert e["real_danger"] is False and e["alarms"] == {} and r["alarms"] == 0
    dev = db.scalar(select(Device.id).where(Device.site_id == sim[0].id, Device.code == "CO-2"))
    means = [s / n for s, n in db.execute(select(Rollup.vsum, Rollup.n).where(
        Rollup.device_id == dev, Rollup.n == 60).order_by(Rollup.minute))]
    assert len(means) >= 13
    assert means[-1] - means[0] == pytest.approx(0.02 * (len(means) - 1), abs=0.12)


def test_nuisance_chatter_shows_as_chattering_in_the_kpis(db, proc, sim, as_):
    t0, r = run(db, proc, sim, [Scenario("nuisance_chatter", "CO-3", 30)], 150)
    e = entry(r, "nuisance_chatter")
    assert e["real_danger"] is False
    assert e["raises"]["HI"] >= 5  # 20 ± 0.6 ppm around the 20 ppm limit, every 20 s
    assert raised_before(db, sim[0], t0 + 30) == []
    k = kpis.compute(db=db, actor=as_("osh_krg"), site_id=sim[0].id, hours=1)
    chat = [c for c in k["chattering"] if c["device"] == "CO-3"]
    assert chat and chat[0]["kind"] == "HI" and chat[0]["count"] == e["raises"]["HI"]


def test_a_quiet_mine_raises_nothing(db, proc, sim):
    _t0, r = run(db, proc, sim, [], 900)
    assert r["alarms"] == 0 and r["truth"] == []
    assert (r["forecast_warnings"], r["false_warnings"]) == (0, 0)
    assert r["false_warning_rate"] is None and r["false_warnings_per_device_hour"] == 0.0
    assert db.scalar(select(func.count()).select_from(AlarmRecord).where(
        AlarmRecord.site_id == sim[0].id, AlarmRecord.life_safety.is_(True))) == 0


def test_default_scenarios_spread_over_the_run():
    scen = default_scenarios(list(SCENARIOS), 1000)
    starts = [s.start for s in scen if s.name != "ventilation_failure_ch4"]
    assert [s.name for s in scen if s.name != "ventilation_failure_ch4"] == list(SCENARIOS)
    assert starts == sorted(starts) and starts[0] >= 100 and starts[-1] < 600


def _telemetry(*args: str):
    from qorgau.cli import app

    res = CliRunner().invoke(app, ["simulate", "telemetry", "--rate", "12", "--seconds", "3",
                                   *args])
    return res


def _accepted(db, site_id):
    db.expire_all()
    return db.scalar(select(func.sum(Device.n_accepted)).where(Device.site_id == site_id)) or 0


def test_command_in_process_end_to_end(db, world, proc):
    """Twice on the same simulated mine: the second run's readings continue the devices'
    sequences (not dropped as duplicates of the first's)."""
    for scenario, device, kind, n in [("worker_fall", "W-1", "FALL", 37),
                                      ("h2s_release", "H2S-1", "HIHI", 36)]:
        res = _telemetry("--scenario", scenario)
        assert res.exit_code == 0, res.output
        out = json.loads(res.output)
        e = entry(out, scenario)
        assert e["device"] == device and 0 <= e["alarms"][kind] <= 1  # 0.3 s into the run
        # 3 s × (11 standard devices + 1 filler head) (and the fall)
        assert out["readings_sent"] == out["readings_accepted"] == n
        assert out["detection_delay_s"] == [min(e["alarms"].values())]
        assert {"false_warning_rate", "false_warnings_per_device_hour"} <= set(
            out["definitions"])


def test_the_simulated_mine_is_the_demo_mines_only(db, world, as_):
    """The simulator had taken the first site of its name anywhere: a site another
    enterprise named so got the simulated devices, contacts and methane alarms."""
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import SiteIn

    planted = registry.create_site(db=db, actor=as_("osh_ala"), data=SiteIn(
        enterprise_id=world.enterprises["build_ala"], kind="construction",
        name=simulate.SITE_NAME, lon=76.9, lat=43.25))
    site = simulate.ensure_site(db)
    assert site.id != planted.id
    assert site.enterprise_id == registry.demo_mine(db).id == world.enterprises["mine_krg"]
    assert simulate.ensure_site(db).id == site.id  # found again, not made twice
    db.delete(planted)  # the shared world's other tests count build_ala's sites
    db.commit()


@pytest.fixture
def mine(db, world):
    """The broker fixture's gateway (tests/alarms/test_brokers.py): one of the simulated mine's,
    whose site the command streams."""
    site = simulate.ensure_site(db)
    simulate.ensure_devices(db, site, filler=1)
    gw, key = simulate.gateway(db, site)
    return Mine(site.id, gateway=gw, key=key)


@pytest.mark.brokers
def test_command_over_mosquitto_with_credentials(db, proc, mine, mosquitto):  # noqa: F811
    url = f"mqtt://127.0.0.1:{mosquitto}"
    before = _accepted(db, mine.site_id)
    res = _telemetry("--to", "mqtt", "--url", url, "--scenario", "h2s_release",
                     "--gateway", mine.gateway, "--gateway-key", mine.key,
                     "--username", "ingest", "--password", "ingest-pw")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["readings_sent"] == out["readings_accepted"] == 36
    assert _accepted(db, mine.site_id) - before == 36
    h2s = db.scalar(select(Device).where(Device.site_id == mine.site_id,
                                         Device.code == "H2S-1"))
    assert h2s.last_value == pytest.approx(25.2, abs=0.3)  # the release came through
    assert entry(out, "h2s_release")["began_at"] > h2s.last_seen_at.timestamp() - 3


@pytest.mark.brokers
def test_command_refused_gateway_credentials_stop_the_run(db, mine, mosquitto):  # noqa: F811
    res = _telemetry("--to", "mqtt", "--url", f"mqtt://127.0.0.1:{mosquitto}",
                     "--gateway", mine.gateway, "--gateway-key", "wrong")
    assert res.exit_code != 0
    assert "--gateway" in res.output


# --- over HTTP, against the app served by uvicorn, its ingest bound forced to one batch -------

@pytest.fixture
def one_batch(monkeypatch):
    """One HTTP ingest batch in progress at a time (the settings object is the process's)."""
    from qorgau.core.config import get_settings

    monkeypatch.setattr(get_settings(), "alarm_ingest_max_batches", 1)


@pytest.fixture
def served(proc):
    """(base URL, hold): the app on a free port; hold(site) puts a batch of that site in
    progress and keeps it there (its ingest lock held, as a slow commit holds it) until the
    returned release is called, so each batch that comes meanwhile is over the bound."""
    import httpx

    from livesite import live_server
    from qorgau.alarms.ingest.admission import ADMISSION

    with live_server() as live, httpx.Client(base_url=live, timeout=60) as gw:
        held: list[threading.Thread] = []

        def hold(other) -> Callable[[], None]:
            lock = proc._locks[other.site_id]
            lock.acquire()
            body = other.batch([("CO-1", 3.0, -1)])
            t = threading.Thread(target=gw.post, args=("/api/v1/alarms/ingest",), kwargs={
                "json": body, "headers": {"x-gateway": other.gateway,
                                          "x-gateway-key": other.key}})
            t.start()
            held.append(t)
            assert _wait(lambda: ADMISSION.load()["in_flight"] >= 1, 10)
            once = threading.Lock()  # the timer and the test's finally may both release

            def release() -> None:
                if once.acquire(blocking=False):
                    lock.release()
            return release
        yield live, hold
        for t in held:
            t.join(30)


def _shed_at(site_id: int) -> int:
    from qorgau.alarms.ingest.admission import ADMISSION

    return ADMISSION.load()["sites"].get(str(site_id), {}).get("shed", 0)


def _duplicates(db, site_id):
    db.expire_all()
    return db.scalar(select(func.sum(Device.n_duplicate)).where(Device.site_id == site_id)) or 0


def test_retry_after_in_seconds_or_a_date_within_the_cap():
    import email.utils

    now = 1_700_000_000.0
    assert simulate.retry_after("2", 10.0) == 2.0
    assert simulate.retry_after("120", 10.0) == 10.0  # capped: the run stays near real time
    assert simulate.retry_after("-3", 10.0) == 0.0
    assert simulate.retry_after(None, 10.0) == simulate.retry_after("soon", 10.0) == 2.0
    date = email.utils.formatdate(now + 5, usegmt=True)
    assert simulate.retry_after(date, 10.0, now=now) == pytest.approx(5.0)


def test_http_batches_shed_under_overload_are_sent_again_and_counted_once(
        db, proc, mine, new_mines, one_batch, served):
    """The server sheds the simulator's batches while another site's batch is in progress;
    the simulator waits Retry-After and sends each again until it is taken: every reading it
    sent is accepted exactly once (no duplicate, none lost) and its retries are reported."""
    live, hold = served
    before, dup_before, shed_before = (_accepted(db, mine.site_id),
                                       _duplicates(db, mine.site_id), _shed_at(mine.site_id))
    release = hold(new_mines())
    timer = threading.Timer(3.0, release)  # mid-run: a first retry (after 2 s) is shed too
    timer.start()
    try:
        res = _telemetry("--to", "http", "--url", live, "--scenario", "h2s_release",
                         "--gateway", mine.gateway, "--gateway-key", mine.key)
    finally:
        timer.cancel()
        release()
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    got = out["delivery"]
    assert got["retries"] >= 1 and _shed_at(mine.site_id) - shed_before == got["retries"]
    assert (got["given_up_batches"], got["given_up_readings"], got["refused"]) == (0, 0, {})
    assert out["readings_sent"] == got["accepted"] == 36 and got["duplicates"] == 0
    proc.close()  # the served process's device counters written now
    assert _accepted(db, mine.site_id) - before == 36
    assert _duplicates(db, mine.site_id) == dup_before  # each retry taken whole, once
    assert "HIHI" in entry(out, "h2s_release")["alarms"]  # the release came through


def test_http_gives_up_after_its_attempts_and_never_retries_a_refusal(
        db, proc, mine, new_mines, one_batch, served):
    live, hold = served
    before, shed_before = _accepted(db, mine.site_id), _shed_at(mine.site_id)
    release = hold(new_mines())
    try:  # in progress for the whole run: 2 s × (standard devices, filler head) all shed
        res = _telemetry("--to", "http", "--url", live, "--seconds", "2", "--attempts", "2",
                         "--retry-cap", "0.1", "--gateway", mine.gateway,
                         "--gateway-key", mine.key)
    finally:
        release()
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)["delivery"]
    assert (got["retries"], got["given_up_batches"], got["given_up_readings"]) == (4, 4, 24)
    assert got["accepted"] == 0 and _shed_at(mine.site_id) - shed_before == 8

    res = _telemetry("--to", "http", "--url", live, "--seconds", "2",
                     "--gateway", mine.gateway, "--gateway-key", "wrong")
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)["delivery"]
    assert got["refused"] == {"401 bad_credentials": {"batches": 4, "readings": 24}}
    assert (got["retries"], got["given_up_batches"], got["accepted"]) == (0, 0, 0)
    proc.close()
    assert _accepted(db, mine.site_id) == before  # nothing of either run stored
