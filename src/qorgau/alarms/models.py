"""Alarm tables: devices, gateways, alarm occurrences and their ISA-18.2 transitions,
1-minute roll-ups, dead letters, notifications, escalation contacts, presence, withdrawals.

Raw readings are not here: they go to columnar segment files (store.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from qorgau.core.db import Base, CreatedMixin, utcnow
from qorgau.core.security import ScopeSpec

SCOPE = ScopeSpec(region="region_code", enterprise="enterprise_id")


class Device(CreatedMixin, Base):
    """One measured channel at a site (a multi-gas head is several devices)."""

    __tablename__ = "alarm_device"
    __scope__ = SCOPE
    __table_args__ = (UniqueConstraint("site_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[str] = mapped_column(String(20))
    zone_code: Mapped[str] = mapped_column(String(40), default="")
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    life_safety: Mapped[bool] = mapped_column(default=False)
    calibrated_on: Mapped[date | None]
    calibration_due: Mapped[date | None]
    installation_id: Mapped[int | None]
    worker_id: Mapped[int | None]  # wearable: who wears it
    enabled: Mapped[bool] = mapped_column(default=True)
    # ISA-18.2: danger alarms stay latched after clearing until an operator resets them
    latching: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # out of service (maintenance, calibration): who, since when, why; None = in service
    oos_since: Mapped[datetime | None]
    oos_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    oos_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    revision: Mapped[int] = mapped_column(default=1)
    last_seq: Mapped[int] = mapped_column(Integer, default=-1)
    # exact dedup window below last_seq (ingest/order.py): NULL = every sequence in it stored
    seq_window: Mapped[bytes | None] = mapped_column(LargeBinary)
    seq_floor: Mapped[int] = mapped_column(BigInteger, default=-1, server_default="-1")
    # the last segment frame of the site's ledger owner that the counters and roll-ups
    # include (ingest/ledger.py: a replay skips frames up to it)
    ledger_frame: Mapped[int | None] = mapped_column(BigInteger)
    last_seen_at: Mapped[datetime | None]
    last_value: Mapped[float | None] = mapped_column(Float)
    n_accepted: Mapped[int] = mapped_column(Integer, default=0)
    n_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)


class Gateway(CreatedMixin, Base):
    """A site gateway with its own ingest credential: the key is stored as a SHA-256 digest
    (HTTP ingest) and as a Mosquitto password hash (`broker_hash`, `$7$`), both made when the
    key is issued, so the broker configuration is written from the database (NULL: a key
    issued before the broker hash was kept; rotate it to give the gateway MQTT access)."""

    __tablename__ = "alarm_gateway"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64))
    broker_hash: Mapped[str | None] = mapped_column(String(200), default=None)


class AlarmRecord(Base):
    """One alarm occurrence (device × condition, raise to clear) with its durations."""

    __tablename__ = "alarm_occurrence"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_alarm_occurrence_open", "device_id", "kind", "open"),
                      Index("ix_alarm_occurrence_site_state", "site_id", "state"))
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_device.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    enterprise_id: Mapped[int] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    zone_code: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=3)
    life_safety: Mapped[bool] = mapped_column(default=False)
    latching: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    state: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)  # process condition
    open: Mapped[bool] = mapped_column(default=True)  # not yet resolved/normal
    message: Mapped[str] = mapped_column(String(300), default="")  # the English record
    # what the text is rendered from in each reader's language (alarms/texts.py): device code
    # and quantity, value, a forecast's limit and minutes, a failed notice's channel/target
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    value: Mapped[float | None] = mapped_column(Float)
    peak: Mapped[float | None] = mapped_column(Float)
    raised_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(200))
    shelved_until: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(20))
    tier: Mapped[int] = mapped_column(Integer, default=1)
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlarmEvent(Base):
    """An ISA-18.2 transition of one occurrence: from, to, trigger, actor, time, reason."""

    __tablename__ = "alarm_event"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarm_occurrence.id"), index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    frm: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    # lets a new occurrence and its first transition go in one flush (two INSERTs, no UPDATE)
    alarm: Mapped[AlarmRecord] = relationship(lazy="raise_on_sql")


class Rollup(Base):
    """1-minute aggregate of one device's readings."""

    __tablename__ = "alarm_rollup"
    __scope__ = SCOPE
    device_id: Mapped[int] = mapped_column(ForeignKey("alarm_device.id"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    n: Mapped[int] = mapped_column(Integer)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)
    vsum: Mapped[float] = mapped_column(Float)
    vlast: Mapped[float] = mapped_column(Float)


class DeadLetter(Base):
    """A rejected message or reading, with the reason (shown per device on the console)."""

    __tablename__ = "alarm_dead_letter"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(index=True)
    device_id: Mapped[int | None] = mapped_column(index=True)
    enterprise_id: Mapped[int | None]
    region_code: Mapped[str | None] = mapped_column(String(5))
    source: Mapped[str] = mapped_column(String(20))
    device_code: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(60), index=True)
    detail: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(CreatedMixin, Base):
    """Escalation tier member: who is told through which channel, edited in the UI."""

    __tablename__ = "alarm_contact"
    __table_args__ = {"sqlite_autoincrement": True}  # removed: its id is never given again
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    tier: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(30))  # dispatcher | mine_rescue | inspectorate
    channel: Mapped[str] = mapped_column(String(10))  # inapp | webhook | email | sms
    target: Mapped[str] = mapped_column(String(300))
    secret: Mapped[str] = mapped_column(String(100), default="")  # webhook HMAC key
    min_priority: Mapped[int] = mapped_column(Integer, default=3)
    name: Mapped[str] = mapped_column(String(120), default="")  # the person, for people
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    lang: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")  # kk|ru|en
    # Quiet hours, minutes after local midnight (may wrap past midnight): no non-life-safety
    # notice goes to this channel then; life-safety always does. The console still shows all.
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)


class EscalationPolicy(CreatedMixin, Base):
    """Per-site escalation: seconds unacknowledged before tier 1→2, 2→3, 3→4, then reminders;
    and the site's work shifts (exposure doses restart at each) with the console operators on
    duty at a time (the alarm KPIs' operators). Sites without a row use the product defaults
    (ESCALATION_S, REMINDER_S, DEFAULT_SHIFTS, one operator)."""

    __tablename__ = "alarm_escalation"
    __scope__ = SCOPE
    __table_args__ = (CheckConstraint("console_operators BETWEEN 1 AND 20",
                                      name="console_operators_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), unique=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    tier2_after_s: Mapped[int] = mapped_column(Integer)
    tier3_after_s: Mapped[int] = mapped_column(Integer)
    tier4_after_s: Mapped[int] = mapped_column(Integer)
    reminder_s: Mapped[int] = mapped_column(Integer)
    # local "HH:MM" starts of the site's work shifts, sorted; NULL = C.DEFAULT_SHIFTS
    shift_starts: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # operators at the site's alarm console at a time, on every shift (1-20)
    console_operators: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    revision: Mapped[int] = mapped_column(Integer, default=1)


class Console(CreatedMixin, Base):
    """An alarm console shared by sites of one enterprise in one region (a central dispatch
    room for several mines): the alarms of its sites are one load for its operators, so the
    KPIs count them together (EEMUA 191 counts per operator position, not per site). A site
    not on a shared console has its own (its settings' `console_operators`). Never deleted:
    a console without sites is out of use, and past windows keep it."""

    __tablename__ = "alarm_console"
    __scope__ = SCOPE
    __table_args__ = (UniqueConstraint("enterprise_id", "name"),
                      CheckConstraint("operators BETWEEN 1 AND 20", name="operators_range"))
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(80))
    operators: Mapped[int] = mapped_column(Integer)  # on duty at a time now (history: staffing)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class ConsoleMember(CreatedMixin, Base):
    """From `valid_from` on, the site's alarms go to the shared console `console_id` (NULL:
    back to the site's own console), until the site's next row. Appended, never edited."""

    __tablename__ = "alarm_console_member"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_alarm_console_member_site_from", "site_id", "valid_from"),
                      Index("ix_alarm_console_member_console", "console_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    console_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_console.id"),
                                                   nullable=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    valid_from: Mapped[datetime]


class ConsoleStaffing(CreatedMixin, Base):
    """Operators at an alarm console from `valid_from` on, until that console's next row: a
    site's own console (`site_id`) or a console shared by sites (`console_id`), one of the two.
    Appended whenever the number changes (`shifts.set_settings`, `consoles.save`), never
    edited, so the KPIs of a past window divide by the operators on duty then, not today's."""

    __tablename__ = "alarm_console_staffing"
    __scope__ = SCOPE
    __table_args__ = (CheckConstraint("operators BETWEEN 1 AND 20", name="operators_range"),
                      CheckConstraint("(site_id IS NULL) <> (console_id IS NULL)",
                                      name="site_or_console"),
                      Index("ix_alarm_console_staffing_site_from", "site_id", "valid_from"),
                      Index("ix_alarm_console_staffing_console_from", "console_id",
                            "valid_from"))
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), nullable=True)
    console_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_console.id"),
                                                   nullable=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    operators: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime]


class Notification(Base):
    """One delivery attempt series; `dedup_key` is unique so redundant workers send once."""

    __tablename__ = "alarm_notification"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_alarm_notification_status_claimed", "status", "claimed_at"),
                      CheckConstraint("alarm_id IS NOT NULL OR withdrawal_id IS NOT NULL",
                                      name="alarm_or_order"))
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(120), unique=True)
    # None for a command of a withdraw order given without an alarm: `withdrawal_id` is set
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_occurrence.id"), index=True)
    withdrawal_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_withdrawal.id"),
                                                      index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(300))
    tier: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]  # "sending" since (a lease: see delivery.CLAIM_LEASE_S)
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # its process (core.liveness)
    # a flood summary's machine part (its webhook body: type, counts), None for an alarm's row
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Presence(Base):
    """Where a wearable (and so its wearer) is now."""

    __tablename__ = "alarm_presence"
    __scope__ = SCOPE
    device_id: Mapped[int] = mapped_column(ForeignKey("alarm_device.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    zone_code: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]


class Withdrawal(Base):
    """A withdraw order for zones of a site; `people` tracks each person to a safe zone."""

    __tablename__ = "alarm_withdrawal"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_occurrence.id"))
    zones: Mapped[list[str]] = mapped_column(JSON)
    # each person: {device_id, device, worker_id, zone, safe_at}
    people: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    inside: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    completed_at: Mapped[datetime | None]


class IngestProcess(Base):
    """Health of one ingest process (alarm worker or danger sentinel), written by the process
    itself every second or few (`health.py`). Infrastructure, not an enterprise's record: no
    tenant scope, and heartbeats are not audited (they would flood the audit chain)."""

    __tablename__ = "alarm_ingest_process"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # worker | sentinel
    source: Mapped[str] = mapped_column(String(20))  # mqtt | nats | inprocess
    state: Mapped[str] = mapped_column(String(10))  # running | stopped
    every_s: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)
    queue_depth: Mapped[int] = mapped_column(BigInteger, default=0)
    lag_s: Mapped[float] = mapped_column(Float, default=0.0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IngestMark(Base):
    """Where a site's ingest ledger stands (`ingest/ledger.py`), written in every ingest
    transaction: the last committed segment frame, and from which frame (and where in which
    hour's file) readings whose roll-ups and counters are not yet written begin. Worker state,
    not an enterprise's record: no tenant scope, not audited (one row per site per batch)."""

    __tablename__ = "alarm_ingest_mark"
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)
    committed_frame: Mapped[int] = mapped_column(BigInteger)
    replay_from: Mapped[int | None] = mapped_column(BigInteger)  # NULL: nothing pending
    tail: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # hour → byte offset
    # bumped in the transaction of any change to the site's devices (`_devices_changed`): the
    # ingest runtime's signature, read per batch by primary key (counting the site's devices
    # was a scan of 50,000 rows, 9 ms, in every batch of a large site)
    devices_rev: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    owner: Mapped[str | None] = mapped_column(String(160))  # the process that holds the ledger
    owner_until: Mapped[float | None] = mapped_column(Float)  # its lease, epoch seconds


_BUMP = text("""
INSERT INTO alarm_ingest_mark (site_id, committed_frame, tail, devices_rev)
VALUES (:site, 0, '{}', 1)
ON CONFLICT (site_id) DO UPDATE SET devices_rev = alarm_ingest_mark.devices_rev + 1""")


@event.listens_for(Session, "before_flush")
def _devices_changed(session: Session, _context: Any, _instances: Any) -> None:
    """Any device added, changed or deleted through the ORM (every device write is) bumps its
    site's `devices_rev` in the same transaction."""
    sites = {o.site_id for o in (*session.new, *session.deleted) if isinstance(o, Device)}
    sites |= {o.site_id for o in session.dirty
              if isinstance(o, Device) and session.is_modified(o)}
    for site_id in sorted(sites):
        session.execute(_BUMP, {"site": site_id})
