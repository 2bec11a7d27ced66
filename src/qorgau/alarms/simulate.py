"""Telemetry simulator: a Karaganda mine with the standard devices, scenarios with ground
truth, streamed to http | mqtt | nats | inprocess, and the predictive warning's lead time and
false-warning rate measured against threshold-only alarms. `simulate()` is the demo hook."""

from __future__ import annotations

import email.utils
import json
import math
import pathlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.alarms import gateways, service
from qorgau.alarms.ingest.runtime import FORECAST_HORIZON_S
from qorgau.alarms.models import AlarmEvent, AlarmRecord, Contact, Device
from qorgau.alarms.scenarios import MINE_ZONES, STANDARD_DEVICES, Scenario, Stream
from qorgau.alarms.schemas import ContactIn, DeviceIn, GatewayIn
from qorgau.alarms.service import dt
from qorgau.core.security import SYSTEM_ACTOR
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise, Site
from qorgau.registry.schemas import SiteIn

SITE_NAME = "Karaganda mine — gas monitoring (simulated)"


def ensure_site(db: Session) -> Any:
    """The simulated mine site of the demo's mine (the enterprise of the demo mine's
    accounts; before they exist `registry.demo_mine`, else `registry.demo_host`): the one
    made before there, else a new one. Only there: a site of the same name at another
    enterprise (anyone who may add sites can name one so) is not taken over with devices,
    contacts and alarms."""
    from qorgau.accounts.demo import demo_mine_enterprise

    ent_id = demo_mine_enterprise(db)
    ent = db.get(Enterprise, ent_id) if ent_id is not None else \
        registry.demo_mine(db) or registry.demo_host(db, region="KZ-35")
    if ent is None:
        raise RuntimeError("no enterprise in KZ-35 to host the simulated mine")
    site = db.scalar(select(Site).where(Site.enterprise_id == ent.id, Site.name == SITE_NAME)
                     .order_by(Site.id).limit(1))
    if site is not None:
        return site
    return registry.create_site(db=db, actor=SYSTEM_ACTOR, data=SiteIn(
        enterprise_id=ent.id, kind="mine", name=SITE_NAME, lon=ent.lon, lat=ent.lat,
        zones=MINE_ZONES))


def ensure_devices(db: Session, site: Any, *, filler: int = 0) -> dict[str, str]:
    """Standard devices, `filler` extra CO heads, escalation contacts. Returns code→quantity."""
    have = {d.code: d.quantity for d in db.scalars(select(Device).where(
        Device.site_id == site.id))}
    want = list(STANDARD_DEVICES) + [(f"F-{k}", "gas", "CO", "L2") for k in range(filler)]
    for code, kind, q, zone in want:
        if code not in have:
            service.create_device(db=db, actor=SYSTEM_ACTOR, data=DeviceIn(
                site_id=site.id, code=code, kind=kind, quantity=q, zone_code=zone))
            have[code] = q
    if not db.scalar(select(Contact.id).where(Contact.site_id == site.id)):
        for tier, role, channel, target in [(2, "mine_rescue", "sms", "+77212000112"),
                                            (3, "inspectorate", "email", "krg@emergency.kz"),
                                            (4, "management", "sms", "+77212000001")]:
            service.add_contact(db=db, actor=SYSTEM_ACTOR, data=ContactIn(
                site_id=site.id, tier=tier, role=role, channel=channel, target=target))
    return have


def gateway(db: Session, site: Any) -> tuple[str, str]:
    gw, key = gateways.create_gateway(db=db, actor=SYSTEM_ACTOR, data=GatewayIn(
        site_id=site.id, name=f"sim-{site.id}-{int(time.time() * 1000) % 10**9}"))
    return gw.name, key


def next_seqs(db: Session, site_id: int) -> dict[str, int]:
    """Each device's next sequence number: a run continues where the last one stopped, or
    the exact dedup drops its readings as duplicates of the last run's."""
    return {c: s + 1 for c, s in db.execute(select(Device.code, Device.last_seq).where(
        Device.site_id == site_id))}


def feed(db: Session, site_id: int, stream: Stream, t0: float, seconds: int, *,
         proc: Any = None, batch_s: int = 10) -> int:
    """`seconds` of the stream from t0, as fast as the processor takes them: the clock is the
    readings' own, and the site's timers (STALE) tick at each batch's end on that clock, so a
    half-hour scenario runs in seconds. Returns the readings sent."""
    from qorgau.alarms.ingest.core import processor
    from qorgau.alarms.worker import _tick_site

    proc = proc or processor()
    batch: list[dict[str, Any]] = []
    sent = 0
    for k in range(seconds):
        batch += stream.second(k, t0 + k)
        if (k + 1) % batch_s and k + 1 < seconds:
            continue
        proc.handle_raw(db, {"site_id": site_id, "readings": batch}, source="simulate")
        sent, batch = sent + len(batch), []
        _tick_site(db, proc, site_id, t0 + k + 1)
    return sent


INGEST_PATH = "/api/v1/alarms/ingest"
SEND_ATTEMPTS = 5  # sends of a batch the server sheds (503) before the simulator gives it up
RETRY_CAP_S = 10.0  # the longest Retry-After honoured: a run stays near real time
RETRY_DEFAULT_S = 2.0  # a 503 without a readable Retry-After (the server's own default)


def retry_after(value: str | None, cap_s: float, now: float | None = None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within [0, cap_s]."""
    if value is None:
        return min(RETRY_DEFAULT_S, cap_s)
    try:
        wait = float(value)
    except ValueError:
        try:
            at = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return min(RETRY_DEFAULT_S, cap_s)
        wait = at - (time.time() if now is None else now)
    return max(0.0, min(wait, cap_s))


@dataclass
class HttpDelivery:
    """The simulator as an HTTP gateway: a batch the server sheds under overload (503 +
    Retry-After) is sent again, the same bytes and so the same sequence numbers, which the
    server's device + sequence dedup keeps exactly-once; after `attempts` sends it is given up
    and counted. Any other refusal (4xx, other 5xx) is counted by status and type, never
    retried: sending it again would get the same answer."""

    client: Any  # httpx.Client on the server's base URL, gateway headers set
    attempts: int = SEND_ATTEMPTS
    cap_s: float = RETRY_CAP_S
    sleep: Callable[[float], None] = time.sleep
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    given_up_batches: int = 0
    given_up_readings: int = 0
    refused: dict[str, list[int]] = field(default_factory=dict)  # "status type": [batches, n]

    def post(self, body: bytes, n: int) -> bool:
        """Deliver one batch of n readings; True when the server answered it (200)."""
        for attempt in range(max(1, self.attempts)):
            r = self.client.post(INGEST_PATH, content=body,
                                 headers={"content-type": "application/json"})
            if r.status_code != 503:
                return self._answered(r, n)
            if attempt + 1 < self.attempts:
                self.retries += 1
                self.sleep(retry_after(r.headers.get("retry-after"), self.cap_s))
        self.given_up_batches += 1
        self.given_up_readings += n
        return False

    def _answered(self, r: Any, n: int) -> bool:
        body = _json(r)
        if r.status_code == 200:
            self.accepted += body.get("accepted", 0)
            self.duplicates += body.get("duplicates", 0)
            self.rejected += body.get("rejected", 0)
            return True
        detail = body.get("detail")
        kind = detail[0].get("type", "") if isinstance(detail, list) and detail and \
            isinstance(detail[0], dict) else ""
        seen = self.refused.setdefault(f"{r.status_code} {kind}".strip(), [0, 0])
        seen[0], seen[1] = seen[0] + 1, seen[1] + n
        return False

    def summary(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": self.rejected, "retries": self.retries,
                "given_up_batches": self.given_up_batches,
                "given_up_readings": self.given_up_readings,
                "refused": {k: {"batches": b, "readings": n}
                            for k, (b, n) in sorted(self.refused.items())}}


def _json(r: Any) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# What the measurements count (docs/alarms.md, "Telemetry simulator"):
THRESHOLD_KINDS = ("HI", "HIHI")  # the threshold-only alarms the forecast is measured against
NOT_DETECTION = ("FORECAST", "STALE")  # a warning, a silent sensor: not a detected danger


def evaluate(db: Session, site_id: int, since: float, truth: list[dict[str, Any]],
             until: float | None = None) -> dict[str, Any]:
    """What the alarm system raised in [since, until] against the ground truth.

    - per truth entry: the first raise of each alarm kind on its device at or after the
      danger began (seconds after), and how many raises;
    - forecast_lead_s: per CH4 danger, its first HI minus the first FORECAST between the
      danger's start and that HI (> 0: the warning came first);
    - false warnings: a FORECAST raise (a warning) is false when its device is not in HI or
      HIHI at any time within FORECAST_HORIZON_S after it, i.e. the 1 % it predicted did not
      come; reported as a count, a rate per warning and a rate per CH4 device-hour."""
    until = time.time() if until is None else until
    ev = _transitions(db, site_id, since, until)
    raises: dict[tuple[str, str], list[float]] = {}
    for code, kind, trig, at in ev:
        if trig == "raise":
            raises.setdefault((code, kind), []).append(at)
    per = [_against(t, raises) for t in truth]
    leads = [p["alarms"]["HI"] - p["alarms"]["FORECAST"] for p in per if p["real_danger"]
             and p["alarms"].get("FORECAST", math.inf) < p["alarms"].get("HI", -math.inf)]
    delays = [min(v for k, v in p["alarms"].items() if k not in NOT_DETECTION) for p in per
              if p["real_danger"] and set(p["alarms"]) - set(NOT_DETECTION)]
    warnings, false, pending = _false_warnings(ev, until)
    judged = warnings - pending
    ch4 = db.scalar(select(func.count()).select_from(Device).where(
        Device.site_id == site_id, Device.quantity == "CH4", Device.enabled.is_(True))) or 0
    device_h = ch4 * max(0.0, until - since) / 3600.0
    return {"alarms": sum(1 for _d, _k, tr, _a in ev if tr == "raise"), "truth": per,
            "forecast_lead_s": [round(x, 1) for x in leads],
            "detection_delay_s": [round(x, 1) for x in delays],
            "forecast_warnings": warnings, "pending_warnings": pending, "false_warnings": false,
            "false_warning_rate": round(false / judged, 3) if judged else None,
            "false_warnings_per_device_hour": round(false / device_h, 3) if device_h else None,
            "definitions": DEFINITIONS}


def _against(t: dict[str, Any], raises: dict[tuple[str, str], list[float]]) -> dict[str, Any]:
    """A truth entry with the alarms raised on its device from when its danger began: the
    first raise of each kind (seconds after the start) and how many raises."""
    # stored times are rounded to the microsecond: a raise at the start may read back before it
    got = {k: [max(0.0, a - t["began_at"]) for a in at if a >= t["began_at"] - 1e-3]
           for (d, k), at in raises.items() if d == t["device"]}
    got = {k: v for k, v in got.items() if v}
    return {**t, "alarms": {k: round(v[0], 1) for k, v in got.items()},
            "raises": {k: len(v) for k, v in got.items()}}


DEFINITIONS = {
    "forecast_lead_s": "per CH4 danger: first HI minus the first FORECAST after the danger "
                       "began (seconds the predictive warning came before the threshold alarm)",
    "false_warnings": f"FORECAST warnings whose device was not in HI/HIHI within "
                      f"{FORECAST_HORIZON_S:g} s (the horizon) after the warning",
    "pending_warnings": "warnings whose horizon had not passed at the end of the run, "
                        "no HI yet: neither true nor false",
    "false_warning_rate": "false_warnings / (forecast_warnings - pending_warnings), "
                          "null when no warning was judged",
    "false_warnings_per_device_hour": "false_warnings per CH4 detector-hour of the run",
    "detection_delay_s": "per real danger: seconds from its start to the first alarm on its "
                         "device other than FORECAST or STALE",
}


def _transitions(db: Session, site_id: int, since: float,
                 until: float) -> list[tuple[str, str, str, float]]:
    """(device code, kind, raise | clear, time) of the site's device alarms, in time order."""
    stmt = (select(Device.code, AlarmRecord.kind, AlarmEvent.trigger, AlarmEvent.at)
            .join(AlarmRecord, AlarmRecord.id == AlarmEvent.alarm_id)
            .join(Device, Device.id == AlarmRecord.device_id)
            .where(AlarmRecord.site_id == site_id, AlarmEvent.at >= dt(since),
                   AlarmEvent.at <= dt(until), AlarmEvent.trigger.in_(("raise", "clear")))
            .order_by(AlarmEvent.at, AlarmEvent.id))
    return [(c, k, tr, at.timestamp()) for c, k, tr, at in db.execute(stmt)]


def _false_warnings(ev: list[tuple[str, str, str, float]],
                    until: float) -> tuple[int, int, int]:
    """(warnings, false, pending): a warning is true when its device is in HI/HIHI at some
    time within the horizon after it (raised then, or raised before and not yet cleared)."""
    spans: dict[tuple[str, str], list[list[float]]] = {}  # [raise, clear] per device × kind
    for code, kind, trig, at in ev:
        s = spans.setdefault((code, kind), [])
        if trig == "raise":
            s.append([at, math.inf])
        elif s and s[-1][1] == math.inf:
            s[-1][1] = at
    warned = [(code, at) for code, kind, trig, at in ev if kind == "FORECAST" and
              trig == "raise"]
    true = [any(a <= at + FORECAST_HORIZON_S and b >= at for k in THRESHOLD_KINDS
                for a, b in spans.get((code, k), [])) for code, at in warned]
    late = [at + FORECAST_HORIZON_S > until for _code, at in warned]
    false = sum(1 for ok, lt in zip(true, late, strict=True) if not ok and not lt)
    pending = sum(1 for ok, lt in zip(true, late, strict=True) if not ok and lt)
    return len(warned), false, pending


def simulate(*, db: Session, seed: int, scale: str, truth_dir: pathlib.Path) -> dict[str, int]:
    """Demo: 30 min of a Karaganda mine ending now — methane build-up in L1 with W-1/W-2 there,
    a predictive warning, HI and HIHI (life-safety, left unacknowledged so it escalates),
    withdrawal of both wearers to the shaft station."""
    from qorgau.alarms.ingest.core import processor

    site = ensure_site(db)
    devices = ensure_devices(db, site)
    t0, seconds = time.time() - 1800, 1800
    sc = [Scenario("methane_buildup", "CH4-1", 600, {"rate_per_min": 0.08})]
    stream = Stream({c: q for c, q in devices.items() if not c.startswith("F-")}, sc, seed)
    proc = processor()
    pos = [{"d": "W-1", "z": "L1"}, {"d": "W-2", "z": "L1"}, {"d": "W-3", "z": "SHAFT"}]
    moves = {1500: [{"d": "W-1", "z": "SHAFT"}], 1620: [{"d": "W-2", "z": "SHAFT"}]}
    batch: list[dict[str, Any]] = []
    for k in range(seconds):
        rows = stream.second(k, t0 + k)
        for p in (pos if k == 0 else []) + moves.get(k, []):
            s = stream.seq.get(p["d"], 0)
            stream.seq[p["d"]] = s + 1
            rows.append({**p, "s": s, "t": t0 + k})
        batch += rows
        if k % 60 == 59:
            proc.handle_raw(db, {"site_id": site.id, "readings": batch}, source="simulate")
            batch = []
    proc.close(db)  # the demo's roll-ups and counters in the database before it serves
    truth = stream.truth(t0)
    result = evaluate(db, site.id, t0, truth)
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / "alarms_telemetry.json").write_text(json.dumps(
        {"site_id": site.id, "truth": truth, "evaluation": result}, indent=1))
    return {"alarm_devices": len(devices), "alarm_readings": sum(stream.seq.values()),
            "alarms": result["alarms"]}
