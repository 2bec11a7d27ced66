"""Form messages of the alarm configuration pages: a ValidationError or a service rule as
{field: message} in the reader's language, and numbers as typed on kk/ru keyboards. Kept
apart from the pages (config_pages.py) so every form page words its errors the same."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from qorgau.core.errors import RuleViolation
from qorgau.core.i18n import domain_gettext
from qorgau.core.labels import N_

_ = domain_gettext("alarms")  # this domain's translation of a msgid others share

# Messages of our own validators and service rules, marked here so they are translated.
RULES = {
    "HIHI must be at least HI": N_("HIHI must be at least HI"),
    "LO must not exceed HI": N_("LO must not exceed HI"),
    "LOLO must not exceed LO": N_("LOLO must not exceed LO"),
    "STEL must be at least the TWA limit": N_("STEL must be at least the TWA limit"),
    "give both the start and the end": N_("Give both the start and the end of the quiet hours"),
    "must differ from the start": N_("The end must differ from the start"),
    "calibration_due must not be before": N_("Calibration due must not be before calibrated on"),
    "a webhook target must be": N_("A webhook target must be an http(s) URL"),
    "not an e-mail address": N_("Not an e-mail address"),
    "an SMS target is a phone number": N_("An SMS target is a phone number (+7 …)"),
    "not an account of this": N_("Not an account of this enterprise or its region"),
    "this account is a": N_("This account is told in its own role (dispatcher or mine rescue): "
                            "choose that role"),
    "must be a finite number": N_("Enter a number"),
    "not a time of day": N_("Enter each time as HH:MM, from 00:00 to 23:59"),
    "give at least one shift start": N_("Give at least one shift start time"),
    "a shift start time is given twice": N_("A shift start time is given twice"),
    "shifts a day": N_("At most 6 shifts a day"),
    "shifts must be at least": N_("Shifts must start at least 4 hours apart"),
    "give the console a name": N_("Give the console a name"),
    "a site is given twice": N_("A site is given twice"),
    "a new console needs at least one site": N_("Tick at least one site for a new console"),
    "unknown site(s)": N_("Tick sites from the list"),
    "a console's sites are of one": N_("A console's sites must be of one enterprise and one "
                                       "region"),
    "the console was changed meanwhile": N_("Someone changed this console while you were "
                                            "editing it. Reload the page and make your change "
                                            "again."),
    "a console of that name": N_("The enterprise already has a console of this name"),
}
TYPES = {
    "greater_than_equal": (N_("Must be at least %(n)s"), "ge"),
    "greater_than": (N_("Must be more than %(n)s"), "gt"),
    "less_than_equal": (N_("Must be at most %(n)s"), "le"),
    "float_parsing": (N_("Enter a number"), ""),
    "int_parsing": (N_("Enter a whole number"), ""),
    "int_type": (N_("Enter a whole number"), ""),
    "time_parsing": (N_("Enter a time as HH:MM"), ""),
    "string_too_short": (N_("Too short (at least %(n)s characters)"), "min_length"),
    "string_too_long": (N_("Too long (at most %(n)s characters)"), "max_length"),
    "literal_error": (N_("Choose one of the offered values"), ""),
    "missing": (N_("Required"), ""),
}


def rule_text(msg: str) -> str:
    """A message of our own validators or service rules in the reader's language."""
    if m := re.fullmatch(r"at most (\d+) characters", msg):  # a limit the service computes
        return _("Too long (at most %(n)s characters)") % {"n": m[1]}
    for key, label in RULES.items():
        if key in msg:
            return _(label)
    return msg


def form_errors(exc: Exception) -> dict[str, str]:
    """{field: translated message} from a ValidationError or a RuleViolation."""
    if isinstance(exc, RuleViolation):
        return {exc.field or "_": rule_text(exc.message)}
    out: dict[str, str] = {}
    assert isinstance(exc, ValidationError)
    for e in exc.errors():
        field = str(e["loc"][-1]) if e["loc"] else "_"
        label, key = TYPES.get(e["type"], (None, ""))
        if label is None:
            out.setdefault(field, rule_text(e["msg"]))
        else:
            out.setdefault(field, _(label) % {"n": (e.get("ctx") or {}).get(key, "")})
    return out


def typed_number(v: Any) -> str:
    """Form number as typed: a decimal comma is accepted (kk/ru keyboards)."""
    return str(v or "").strip().replace(",", ".")


def whole(typed: str) -> int | str:
    """A whole number as typed, else the text itself for the strict schema to refuse by field
    (an empty field too: the form always shows the number, so empty is a mistake). Digits
    only and short, so a pasted thousand-digit number is a field error, not int()'s limit."""
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else typed


# --- device limits ----------------------------------------------------------------------------
