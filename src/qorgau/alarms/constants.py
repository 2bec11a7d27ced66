"""Alarm permissions, device kinds, quantities, limit fields and ingest bounds."""

from __future__ import annotations

from qorgau.core.i18n import LANGUAGE_NAMES
from qorgau.core.labels import N_
from qorgau.core.roles import READ_SITE, Role, grant

# The people who answer alarms act on them without being able to reconfigure them: a mine's
# shift dispatcher (its enterprise) acknowledges, shelves, resolves and withdraws people; a
# mine rescue unit (its region) reads and acknowledges life-safety alarms only. Limits,
# devices, contacts, escalation and shifts stay with the OSH officer (CONFIGURE).
_RESPONDERS = {Role.SHIFT_DISPATCHER, Role.MINE_RESCUE}
READ = grant("alarms.read", {Role.EMPLOYER_OSH, Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR,
                             Role.MINISTRY_ANALYST, Role.INDUSTRY_OFFICER, Role.ADMIN,
                             *_RESPONDERS})
grant(READ_SITE, _RESPONDERS)  # the consoles name their site; no registry right beyond that
CONFIGURE = grant("alarms.configure", {Role.EMPLOYER_OSH, Role.ADMIN})
# Acknowledge any alarm / only a life-safety one (what mine rescue is called out for).
ACKNOWLEDGE = grant("alarms.acknowledge", {Role.EMPLOYER_OSH, Role.SHIFT_DISPATCHER, Role.ADMIN})
ACKNOWLEDGE_LIFE_SAFETY = grant("alarms.acknowledge.life_safety",
                                {Role.EMPLOYER_OSH, Role.SHIFT_DISPATCHER, Role.ADMIN,
                                 Role.MINE_RESCUE})
# Shelve / unshelve, reset a latched alarm, resolve: the site's operators.
OPERATE = grant("alarms.operate", {Role.EMPLOYER_OSH, Role.SHIFT_DISPATCHER, Role.ADMIN})
WITHDRAW = grant("alarms.withdraw", {Role.EMPLOYER_OSH, Role.SHIFT_DISPATCHER, Role.ADMIN})
INGEST = grant("alarms.ingest", {Role.SYSTEM, Role.ADMIN})
# the feed an API key must be issued for to send readings (every key is a system account with
# `alarms.ingest`: without it an insurer's contracts key could raise alarms at a mine)
TELEMETRY_FEED = "telemetry"
# A site's contact list (people's phones and e-mails): every reader but mine rescue, which is
# called out to act on life-safety alarms, not to read an enterprise's staff directory.
READ_CONTACTS = grant("alarms.contacts.read", {
    Role.EMPLOYER_OSH, Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR, Role.MINISTRY_ANALYST,
    Role.INDUSTRY_OFFICER, Role.ADMIN, Role.SHIFT_DISPATCHER})

# Device kind → the quantities it may measure (one device = one measured channel).
QUANTITIES: dict[str, tuple[str, ...]] = {
    "gas": ("CH4", "CO", "H2S", "O2"),
    "dust": ("dust",),
    "temperature": ("temp",),
    "ventilation": ("fan",),
    "seismic": ("seismic",),
    "wearable": ("position",),
}
UNITS = {"CH4": "%", "O2": "%", "CO": "ppm", "H2S": "ppm", "dust": "mg/m³", "temp": "°C",
         "fan": "on/off", "seismic": "mm/s", "position": ""}
KIND_LABELS = {"gas": N_("Gas detector"), "dust": N_("Dust meter"),
               "temperature": N_("Temperature"), "ventilation": N_("Ventilation state"),
               "seismic": N_("Seismic"), "wearable": N_("Wearable lone-worker device")}
LIMIT_FIELDS = ("high", "highhigh", "low", "lowlow", "deadband", "on_delay_s", "off_delay_s",
                "ror_per_min", "stale_s", "twa_limit", "stel_limit")
DEFAULT_STALE_S = 60.0
# Non-gas defaults (product defaults, editable per device).
EXTRA_DEFAULTS: dict[str, dict[str, float]] = {
    "dust": {"high": 10.0, "highhigh": 20.0},  # respirable coal dust, mg/m³ (indicative)
    "temp": {"high": 26.0, "highhigh": 30.0},  # mine air ≤ 26 °C in workings (CIS rules)
    "fan": {"lowlow": 0.0},  # fan stopped
    "seismic": {"high": 5.0, "highhigh": 20.0},
}

RESOLUTIONS = ("real", "false", "test", "dispatched")
KIND_NAMES = {1: "HI", 2: "HIHI", 3: "LO", 4: "LOLO", 5: "ROR", 6: "STALE", 7: "TWA", 8: "STEL",
              9: "COMBO", 10: "FALL", 11: "SOS", 12: "NO_MOTION", 13: "STEL_BREACH",
              20: "FORECAST", 21: "NOTIFY_FAILED"}
PRIORITY = {"HIHI": 1, "LOLO": 1, "COMBO": 1, "FALL": 1, "SOS": 1, "NO_MOTION": 1, "HI": 2,
            "LO": 2, "ROR": 2, "STEL": 2, "STEL_BREACH": 2, "TWA": 3, "STALE": 3, "FORECAST": 2,
            "NOTIFY_FAILED": 2}
# Conditions whose value is a count, not a reading of the device's quantity: a STEL_BREACH
# carries the shift's excursion count, which takes no unit.
COUNT_KINDS = frozenset({"STEL_BREACH"})
# Conditions that order withdrawal of people when raised by a life-safety device.
LIFE_SAFETY_KINDS = frozenset({"HIHI", "LOLO", "COMBO", "FALL", "SOS", "NO_MOTION"})
# A latching device latches its danger (priority 1) conditions; warnings (HI, LO), rate of
# rise, forecasts and lost signal return to normal by themselves.
LATCHING_KINDS = LIFE_SAFETY_KINDS

# Ingest bounds.
MAX_BATCH_READINGS = 20_000
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_FUTURE_S = 300.0
MAX_PAST_S = 7 * 86400.0
ESCALATION_S = (60.0, 180.0, 600.0)  # tier 1 → 2 → 3 → 4 when nobody acknowledges
REMINDER_S = 120.0
# Work shifts (local HH:MM starts): the TWA dose and STEL excursion counts restart at each.
DEFAULT_SHIFTS = ("00:00", "08:00", "16:00")  # three 8-h shifts
MAX_SHIFTS = 6
MIN_SHIFT_MINUTES = 4 * 60  # shorter "shifts" would reset doses before a TWA could build up
RESOLUTION_LABELS = {"real": N_("real"), "false": N_("false"), "test": N_("test"),
                     "dispatched": N_("dispatched")}

# The limits editor shows the fields that mean something for a quantity (TWA/STEL only for
# toxic gases and dust, LO/LOLO where a fall is the danger, rate-of-rise where it warns early).
_DELAYS = ("deadband", "on_delay_s", "off_delay_s", "stale_s")
APPLICABLE_LIMITS: dict[str, tuple[str, ...]] = {
    "CH4": ("high", "highhigh", "ror_per_min", *_DELAYS),
    "CO": ("high", "highhigh", "ror_per_min", *_DELAYS, "twa_limit", "stel_limit"),
    "H2S": ("high", "highhigh", "ror_per_min", *_DELAYS, "twa_limit", "stel_limit"),
    "O2": ("high", "highhigh", "low", "lowlow", *_DELAYS),
    "dust": ("high", "highhigh", *_DELAYS, "twa_limit"),
    "temp": ("high", "highhigh", "low", "lowlow", "ror_per_min", *_DELAYS),
    "fan": ("lowlow", "on_delay_s", "off_delay_s", "stale_s"),
    "seismic": ("high", "highhigh", "ror_per_min", *_DELAYS),
    "position": ("stale_s",),
}
LIMIT_LABELS = {
    "high": N_("HI: warning limit"), "highhigh": N_("HIHI: danger limit"),
    "low": N_("LO: low warning limit"), "lowlow": N_("LOLO: low danger limit"),
    "deadband": N_("Deadband (clears only this far back inside the limit)"),
    "on_delay_s": N_("On-delay, seconds"), "off_delay_s": N_("Off-delay, seconds"),
    "ror_per_min": N_("Rate of rise per minute"), "stale_s": N_("No signal after, seconds"),
    "twa_limit": N_("TWA limit (8 hours)"), "stel_limit": N_("STEL limit (15 minutes)"),
}

# the change history (`_trail.html`): audited fields and actions as people read them (the audit
# entry keeps the code's names)
CHANGE_FIELDS = {
    **LIMIT_LABELS, "code": N_("Code"), "kind": N_("Kind"), "quantity": N_("Quantity"),
    "zone_code": N_("Zone"), "life_safety": N_("Life-safety"),
    "calibrated_on": N_("Calibrated on"), "calibration_due": N_("Calibration due"),
    "enabled": N_("Device in service"), "latching": N_("Latching"),
    "installation_id": N_("Equipment installation"), "worker_id": N_("Worker"),
    "oos_since": N_("Out of service since"), "oos_by": N_("Taken out of service by"),
    "oos_reason": N_("Reason"), "alarms": N_("Alarms"), "tier": N_("Tier"), "role": N_("Role"),
    "channel": N_("Channel"), "target": N_("Address"), "min_priority": N_("Priority"),
    "name": N_("Name"), "user_id": N_("Account"), "quiet_start": N_("Quiet from"),
    "quiet_end": N_("Quiet until"), "lang": N_("Language"),
    "tier2_after_s": N_("Tier 2 is told after, seconds"),
    "tier3_after_s": N_("Tier 3 is told after, seconds more"),
    "tier4_after_s": N_("Tier 4 is told after, seconds more"),
    "reminder_s": N_("Then remind every, seconds"), "shift_starts": N_("Shift start times"),
    "console_operators": N_("Operators"), "operators": N_("Operators"), "sites": N_("Sites"),
}
CHANGE_ACTIONS = {
    "device.create": N_("added"), "device.revise": N_("changed"),
    "device.out_of_service": N_("taken out of service"),
    "device.return_to_service": N_("returned to service"),
    "contact.create": N_("added"), "contact.revise": N_("changed"),
    "contact.remove": N_("removed"), "escalation.set": N_("changed"),
    "shifts.set": N_("changed"), "gateway.create": N_("account issued"),
    "gateway.rotate": N_("new key issued"), "console.create": N_("added"),
    "console.save": N_("changed"), "console.release": N_("released"),
}
CONTACT_ROLES = {"dispatcher": N_("Shift dispatcher"), "mine_rescue": N_("Mine rescue"),
                 "inspectorate": N_("Inspectorate"), "management": N_("Management")}
CHANNEL_LABELS = {"inapp": N_("In-app (console)"), "email": N_("E-mail"), "sms": N_("SMS"),
                  "webhook": N_("Webhook")}
SENT_BY = {**CHANNEL_LABELS, "device": N_("Command to the device")}  # a notification's channel
# an alarm's page (`alarm.html`): its ISA-18.2 triggers and its notifications' channels and
# statuses as people read them (the rows keep the code's)
TRIGGER_LABELS = {
    "raise": N_("raised"), "clear": N_("cleared"), "ack": N_("acknowledged"),
    "reset": N_("reset"), "shelve": N_("shelved"), "shelve_expired": N_("shelving expired"),
    "unshelve": N_("unshelved"), "suppress": N_("suppressed"), "unsuppress": N_("unsuppressed"),
    "remove_from_service": N_("taken out of service"),
    "return_to_service": N_("returned to service"),
}
# a transition's actor when no person made it: the engine on a reading, the system's timers
ACTOR_LABELS = {"process": N_("process"), "system": N_("system")}
NOTE_STATUS_LABELS = {"pending": N_("waiting"), "sending": N_("sending"), "sent": N_("sent"),
                      "failed": N_("not delivered"), "held": N_("held")}
_VALUE_LABELS = {"role": CONTACT_ROLES, "channel": CHANNEL_LABELS, "kind": KIND_LABELS,
                 "lang": LANGUAGE_NAMES}


def change_label(key: str) -> str:
    """The English msgid of an audited field or action (`alarms.x.y` or `x.y`), translated by
    the page; a key without one stays as it is."""
    key = key.removeprefix("alarms.")
    return CHANGE_FIELDS.get(key) or CHANGE_ACTIONS.get(key) or key


def change_value(key: str, value: object) -> object:
    """A field's value as people read it where it is a code (a contact's role, channel and
    language, a device's kind): the English msgid (a language's own name); any other value as
    it is."""
    return _VALUE_LABELS.get(key, {}).get(value, value) if isinstance(value, str) else value
