"""Inspections: permissions, authorities and the kinds used in the HPF register."""

from __future__ import annotations

from qorgau.core.labels import N_
from qorgau.core.roles import Role, grant

AUTHORITY_OF_ROLE = {Role.LABOUR_INSPECTOR: "labour", Role.EMERGENCY_INSPECTOR: "industrial"}
AUTHORITIES = {"labour": N_("Labour inspection"), "industrial": N_("Industrial safety")}

PLAN = grant("inspections.plan", {Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR, Role.ADMIN})
CONDUCT = grant("inspections.conduct", {Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR})
READ = grant(
    "inspections.read",
    {
        Role.LABOUR_INSPECTOR,
        Role.EMERGENCY_INSPECTOR,
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.AKIMAT,
        Role.EMPLOYER_OSH,
        Role.INDUSTRY_OFFICER,
    },
)
READ_SCORES = grant(
    "inspections.scores.read",
    {
        Role.LABOUR_INSPECTOR,
        Role.EMERGENCY_INSPECTOR,
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.AKIMAT,
    },
)
HPF_WRITE = grant("inspections.hpf.write", {Role.EMERGENCY_INSPECTOR, Role.ADMIN})
# the emergency ministry's register arrives through its system account (feed hpf-register)
HPF_IMPORT = grant("inspections.hpf.import", {Role.SYSTEM, Role.ADMIN})
ENFORCE = grant("inspections.enforce", {Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR})
APPEAL = grant("inspections.appeal", {Role.EMPLOYER_OSH})
# A violation established outside an inspection visit (e.g. a confirmed concealed accident).
RECORD_VIOLATION = grant(
    "inspections.violations.record",
    {Role.LABOUR_INSPECTOR, Role.EMERGENCY_INSPECTOR, Role.ADMIN},
)

FACILITY_KINDS = {
    "mine": N_("Mine"),
    "chemical": N_("Chemical plant"),
    "gas": N_("Gas facility"),
    "oil": N_("Oil facility"),
    "metallurgy": N_("Metallurgical plant"),
    "explosives": N_("Explosives storage"),
    "lifting": N_("Lifting equipment site"),
    "boiler": N_("Boiler house"),
}
DEVICE_KINDS = {
    "crane": N_("Lifting crane"),
    "boiler": N_("Boiler"),
    "pressure_vessel": N_("Pressure vessel"),
    "lift": N_("Lift"),
}
RESULTS = ("ok", "violation", "na")
DEFAULT_PRESCRIPTION_DAYS = 30
MAX_PHOTO_BYTES = 3 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
DAILY = grant("inspections.daily", {Role.ADMIN})
STATE_LABELS = {
    "open": N_("Open"),
    "overdue": N_("Overdue"),
    "complied": N_("Complied"),
    "not_complied": N_("Not complied"),
    "planned": N_("Planned inspection"),
    "follow_up": N_("Follow-up check"),
    "unscheduled": N_("Unscheduled inspection"),
}
