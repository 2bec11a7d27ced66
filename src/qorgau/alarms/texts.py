"""Alarm texts in the reader's language: the console and the live feed in the viewer's, SMS,
e-mail and webhook texts in the contact's (`Contact.lang`). Rendered from an occurrence's
structured fields (kind, device code, quantity, zone, value and unit; a forecast's limit and
minutes; a failed notification's channel and target), never by translating the stored
`AlarmRecord.message`, which stays the English record of the audit trail. A record raised
before it had structured fields shows that record text after its translated kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qorgau.alarms import constants as C
from qorgau.core.i18n import LANGUAGES, get_language, translations
from qorgau.core.labels import N_

# ISA-18.2 wording operators know: a warning at H/L, an alarm at HH/LL; the code stays beside
KIND_LABELS = {
    "HI": N_("Warning (high)"), "HIHI": N_("Alarm (high-high)"),
    "LO": N_("Warning (low)"), "LOLO": N_("Alarm (low-low)"),
    "ROR": N_("Rising fast"), "STALE": N_("No signal"),
    "TWA": N_("Shift average over the limit (TWA)"),
    "STEL": N_("Short-term limit exceeded (STEL)"),
    "STEL_BREACH": N_("Short-term limit exceeded too often (STEL)"),
    "COMBO": N_("Combined danger"), "FALL": N_("Fall of a person"), "SOS": N_("SOS call"),
    "NO_MOTION": N_("No motion (man down)"), "FORECAST": N_("Predicted to exceed"),
    "NOTIFY_FAILED": N_("Notification not delivered"), "FLOOD": N_("Alarm flood"),
}
# gases keep their formula (CH4, CO, H2S, O2): what every detector and rule book shows
QUANTITY_LABELS = {"dust": N_("dust"), "temp": N_("temperature"), "fan": N_("fan"),
                   "seismic": N_("ground vibration"), "position": N_("position")}
UNIT_LABELS = {"mg/m³": N_("mg/m³"), "mm/s": N_("mm/s")}
CHANNEL_LABELS = {"sms": N_("SMS"), "email": N_("E-mail"), "webhook": N_("Webhook"),
                  "inapp": N_("In-app (console)"), "device": N_("Wearable lone-worker device")}
_DEVICE_AT_ZONE = N_("%(device)s, zone %(zone)s")
_FORECAST = N_("%(quantity)s predicted to reach %(limit)s %(unit)s within %(minutes)s min")
_FAILED = N_("%(channel)s to %(target)s failed: %(error)s")
# STEL rule: at most 4 excursions a shift, at least 60 min apart; the value is the count
_EXCURSION = N_("%(quantity)s: excursion no. %(n)s of the shift")
_LATE = N_("late reading of %(at)s UTC")
_LIFE_SAFETY = N_("LIFE-SAFETY")
_GROUP = N_("%(n)s alarms at site %(site)s")
_FALLBACK = N_("fallback: %(channel)s to %(target)s failed")
_FAN = (N_("stopped"), N_("running"))
_FLOOD_SLOT = N_("%(site)s: held %(start)s–%(end)s")
_FLOOD_OVER = N_("%(site)s: held during the flood %(start)s–%(end)s")
_FLOOD_COUNTS = N_("%(n)s alarms (%(priorities)s); top: %(devices)s")
_FLOOD_SLOT_TAIL = N_("Life-safety alarms still go out one by one; each alarm is on the "
                      "console")
_FLOOD_OVER_TAIL = N_("Alarms go out one by one again")
_HELD = N_("Held: alarm flood at the site since %(since)s (UTC+5), %(n)s alarms in 10 min; "
           "counted in the flood summary")
_HELD_SINCE = N_("Held: alarm flood at the site since %(since)s (UTC+5); counted in the flood "
                 "summary")
# a wearable's screen: the order, the danger, the zone; the wearer's language is unknown
DISPLAY_MAX = 40
WITHDRAW_CODE = "WITHDRAW"
GAS_WORDS = {"CH4": N_("Methane"), "CO": N_("Carbon monoxide"), "H2S": N_("Hydrogen sulfide"),
             "O2": N_("Low oxygen")}
_WITHDRAW = N_("EXIT! %(danger)s. Leave zone %(zone)s")
_WITHDRAW_ZONE = N_("EXIT! Leave zone %(zone)s")
_WITHDRAW_NOW = N_("EXIT! Leave the zone now")


def lang_or_default(lang: str | None) -> str:
    return lang if lang in LANGUAGES else get_language()


def _gt(lang: str | None) -> Callable[[str], str]:
    return translations(lang_or_default(lang), "alarms").gettext


def fields(rec: Any, dev: Any | None = None) -> dict[str, Any]:
    """An occurrence's text fields: its columns, the device's code and quantity (`dev`, for
    records raised before `detail`), then its stored `detail`."""
    f: dict[str, Any] = {"kind": rec.kind, "zone": rec.zone_code or "", "value": rec.value,
                         "message": rec.message}
    if dev is not None:
        f |= {"device": dev.code, "quantity": dev.quantity}
    return f | (rec.detail or {})


def label(kind: str, lang: str | None = None) -> str:
    return _gt(lang)(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def number(v: float, lang: str | None = None) -> str:
    """Three significant digits, the decimal comma of kk and ru."""
    s = f"{v:.3g}"
    return s.replace(".", ",") if lang_or_default(lang) in ("kk", "ru") else s


def describe(f: dict[str, Any], lang: str | None = None) -> str:
    """"<translated kind>: <what, where>", e.g. ru «Авария (очень высокий): CH4 1,8 % —
    CH4-1, зона L1»."""
    return f"{label(f['kind'], lang)}: {_body(f, lang)}"


def line(f: dict[str, Any], lang: str | None = None) -> str:
    """The code first (HIHI), then the description: a banner, a notification."""
    return f"{f['kind']} · {describe(f, lang)}"


def subject(f: dict[str, Any], priority: int, life_safety: bool, lang: str | None) -> str:
    tag = f" {_gt(lang)(_LIFE_SAFETY)}" if life_safety else ""
    return f"[P{priority}{tag}] {line(f, lang)}"


def group_subject(priority: int, n: int, site_id: int, lang: str | None) -> str:
    return f"[P{priority}] " + _gt(lang)(_GROUP) % {"n": n, "site": site_id}


def fallback_subject(f: dict[str, Any], channel: str, target: str, lang: str | None) -> str:
    head = _gt(lang)(_FALLBACK) % {"channel": _channel(channel, lang), "target": target}
    return f"[{head}] {line(f, lang)}"


def _channel(channel: str, lang: str | None) -> str:
    return _gt(lang)(CHANNEL_LABELS[channel]) if channel in CHANNEL_LABELS else channel


def _body(f: dict[str, Any], lang: str | None) -> str:
    gt = _gt(lang)
    if "channel" in f:  # NOTIFY_FAILED: how many failures, the latest one's target
        text = gt(_FAILED) % {"channel": _channel(f["channel"], lang),
                              "target": f.get("target", ""), "error": f.get("error", "")}
        n = int(f.get("value") or 1)
        return f"{n}× {text}" if n > 1 else text
    if "device" not in f:
        return str(f.get("message", ""))  # raised before structured fields: the record
    q = str(f.get("quantity", ""))
    name = gt(QUANTITY_LABELS[q]) if q in QUANTITY_LABELS else q
    raw_unit = C.UNITS.get(q, "")
    unit = gt(UNIT_LABELS[raw_unit]) if raw_unit in UNIT_LABELS else raw_unit
    if f["kind"] == "FORECAST" and "minutes" in f:
        what = gt(_FORECAST) % {"quantity": name, "limit": number(f["limit"], lang),
                                "unit": unit, "minutes": f["minutes"]}
    elif f["kind"] in C.COUNT_KINDS and f.get("value") is not None:
        what = gt(_EXCURSION) % {"quantity": name, "n": int(f["value"])}
    else:
        what = f"{name} {_value(f.get('value'), q, unit, lang)}".strip()
    place = gt(_DEVICE_AT_ZONE) % {"device": f["device"], "zone": f["zone"]} \
        if f.get("zone") else f["device"]
    late = f" — {gt(_LATE) % {'at': f['late']}}" if f.get("late") else ""
    return f"{what} — {place}{late}"


def _value(v: float | None, quantity: str, unit: str, lang: str | None) -> str:
    if v is None:
        return ""
    if quantity == "fan":  # a fan's state, not a measure
        return _gt(lang)(_FAN[v >= 0.5])
    return f"{number(v, lang)} {unit}".rstrip()


def webhook_fields(rec: Any, lang: str | None) -> dict[str, Any]:
    """What a webhook body adds to its machine fields: the structured fields and the text in
    the contact's language."""
    f = fields(rec)
    extra = {k: f[k] for k in ("device", "quantity", "minutes", "limit", "late") if k in f}
    if "quantity" in f:  # a count takes no unit
        extra["unit"] = "" if f["kind"] in C.COUNT_KINDS else C.UNITS.get(f["quantity"], "")
    lang = lang_or_default(lang)
    return {**extra, "lang": lang, "text": line(f, lang)}


def labels_for(lang: str | None = None) -> dict[str, str]:
    """Every kind's label, for the console's script (danger signals come as fields)."""
    return {k: label(k, lang) for k in KIND_LABELS}


def flood_summary(f: dict[str, Any], lang: str | None) -> str:
    """A flood summary's text from its machine fields (`flood._summaries`): the code
    ([FLOOD] or [FLOOD OVER]) first, the site, the held times (UTC+5), the count by priority,
    the top devices."""
    gt = _gt(lang)
    over = f["phase"] == "over"
    head = gt(_FLOOD_OVER if over else _FLOOD_SLOT) % {
        "site": f["site"], "start": f["start"], "end": f["end"]}
    prio = ", ".join(f"{p}: {k}" for p, k in sorted(f["by_priority"].items(),
                                                     key=lambda pk: int(pk[0][1:])))
    devices = ", ".join(f"{d['device']} ×{d['count']}" for d in f["top_devices"])
    counts = gt(_FLOOD_COUNTS) % {"n": f["count"], "priorities": prio, "devices": devices}
    tail = gt(_FLOOD_OVER_TAIL if over else _FLOOD_SLOT_TAIL)
    return f"[{'FLOOD OVER' if over else 'FLOOD'}] {head} (UTC+5): {counts}. {tail}"[:300]


def held_reason(since: str, n: int | None, lang: str | None = None) -> str:
    """Why a notification was held: the flood at its site, since when (UTC+5 time)."""
    if n is None:
        return _gt(lang)(_HELD_SINCE) % {"since": since}
    return _gt(lang)(_HELD) % {"since": since, "n": n}


def site_lang() -> str:
    """A site's language: the deployment's default (ru): sites carry none of their own."""
    from qorgau.core.config import get_settings

    return lang_or_default(get_settings().default_language)


def withdraw_display(quantity: str | None, zone: str | None, lang: str | None = None) -> str:
    """A withdraw order for a wearable's screen, at most DISPLAY_MAX characters: the danger
    is left out before the zone is."""
    gt = _gt(lang or site_lang())
    danger = gt(GAS_WORDS[quantity]) if quantity in GAS_WORDS else ""
    tries = [gt(_WITHDRAW) % {"danger": danger, "zone": zone}] if danger and zone else []
    tries += [gt(_WITHDRAW_ZONE) % {"zone": zone}] if zone else []
    short = [t for t in tries if len(t) <= DISPLAY_MAX]
    return short[0] if short else gt(_WITHDRAW_NOW)[:DISPLAY_MAX]


def withdraw_command(quantity: str | None, zone: str | None) -> dict[str, str]:
    """What a withdraw command adds for the wearable: the machine code, the screen text and
    its language (the site's)."""
    lang = site_lang()
    return {"code": WITHDRAW_CODE, "display": withdraw_display(quantity, zone, lang),
            "lang": lang}
