"""Equipment permissions and the heartbeat window."""

from __future__ import annotations

from datetime import timedelta

from qorgau.core.roles import Role, grant

EDIT_CATALOGUE = grant("equipment.catalogue.write", {Role.INDUSTRY_OFFICER, Role.ADMIN})
REGISTER = grant("equipment.installations.write", {Role.EMPLOYER_OSH, Role.ADMIN})
READ = grant(
    "equipment.read",
    {
        Role.INDUSTRY_OFFICER,
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.EMPLOYER_OSH,
        Role.LABOUR_INSPECTOR,
        Role.EMERGENCY_INSPECTOR,
        Role.AKIMAT,
    },
)
READ_COMPLIANCE = grant(
    "equipment.compliance.read",
    {
        Role.INDUSTRY_OFFICER,
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.LABOUR_INSPECTOR,
        Role.EMERGENCY_INSPECTOR,
        Role.AKIMAT,
    },
)
HEARTBEAT = grant("equipment.heartbeat", {Role.SYSTEM, Role.ADMIN, Role.EMPLOYER_OSH})

# An installation counts as working only while it reports at least this often.
HEARTBEAT_WINDOW = timedelta(hours=24)
# Heartbeats stamped this far in the future are rejected (clock skew allowance).
FUTURE_SKEW = timedelta(minutes=5)
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
ACT_TYPES = {"application/pdf", *PHOTO_TYPES}
MAX_PHOTOS = 10
