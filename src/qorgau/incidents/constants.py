"""Incident permissions, enumerations and the statutory deadlines (Labour Code arts. 186–190)."""

from __future__ import annotations

from datetime import timedelta, timezone

from qorgau.core.labels import N_
from qorgau.core.roles import Role, grant

R = Role
REPORT = grant("incidents.report", {R.EMPLOYER_OSH, R.ADMIN})
READ = grant(
    "incidents.read",
    {
        R.MINISTRY_ANALYST,
        R.LABOUR_INSPECTOR,
        R.AKIMAT,
        R.EMERGENCY_INSPECTOR,
        R.INDUSTRY_OFFICER,
        R.EMPLOYER_OSH,
        R.ADMIN,
    },
)
INVESTIGATE = grant("incidents.investigate", {R.LABOUR_INSPECTOR, R.EMPLOYER_OSH, R.ADMIN})
SIGN = grant("incidents.sign", {R.LABOUR_INSPECTOR, R.EMPLOYER_OSH, R.ADMIN})
REGISTER = grant("incidents.register", {R.LABOUR_INSPECTOR, R.ADMIN})
HAZARDS = grant("incidents.hazards", {R.LABOUR_INSPECTOR, R.EMPLOYER_OSH, R.ADMIN})

# Kazakhstan has used one time zone (UTC+5) since 1 March 2024; calendar days are local days.
KZ_TZ = timezone(timedelta(hours=5), "Asia/Almaty")

SEVERITIES = ("minor", "severe", "fatal")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
SEVERITY_LABELS = {
    "minor": N_("Minor"),
    "severe": N_("Severe"),
    "fatal": N_("Fatal"),
}

# Investigation workflow: state -> states it may move to.
STATES = {
    "reported": ("commission_formed",),
    "commission_formed": ("investigating",),
    "investigating": ("findings_recorded",),
    "findings_recorded": ("investigating", "act_signed"),
    "act_signed": ("registered", "findings_recorded"),
    "registered": (),
}
STATE_LABELS = {
    "reported": N_("Reported"),
    "commission_formed": N_("Commission formed"),
    "investigating": N_("Investigating"),
    "findings_recorded": N_("Findings recorded"),
    "act_signed": N_("Act signed"),
    "registered": N_("Registered by the inspectorate"),
}

# Deadlines: kind -> (hours after the event, working days after the previous step).
REPORT_HOURS = 24
COMMISSION_HOURS = 24
INVESTIGATION_WORKING_DAYS = 10
ACT_WORKING_DAYS = 3
REGISTER_WORKING_DAYS = 2
MAX_EXTENSION_WORKING_DAYS = 30
DEADLINE_LABELS = {
    "report": N_("Report to the inspectorate (24 h)"),
    "commission": N_("Form the commission (24 h)"),
    "investigation": N_("Finish the investigation (10 working days)"),
    "act": N_("Send the signed act (3 working days)"),
    "register": N_("Register the act (2 working days)"),
}
NOTIFY_LABELS = {
    "inspectorate": N_("Regional labour inspectorate"),
    "insurer": N_("Insurer"),
    "relatives": N_("Relatives"),
    "prosecutor": N_("Prosecutor"),
}
FLAG_LABELS = {
    "late_report": N_("Reported late"),
    "victim_not_employed": N_("Victim not employed by the enterprise"),
    "group": N_("Group accident"),
}
HAZARD_KINDS = ("hazard", "near_miss")
HAZARD_STATES = ("new", "acknowledged", "resolved")
HAZARD_LABELS = {
    "hazard": N_("Hazard"),
    "near_miss": N_("Near miss"),
    "new": N_("New"),
    "acknowledged": N_("Acknowledged"),
    "resolved": N_("Resolved"),
}
ALLOWED_MIME = {
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
}
HAZARD_RATE_PER_MINUTE = 5
