"""Indicator permissions and dimension names."""

from __future__ import annotations

from qorgau.core.labels import N_
from qorgau.core.roles import Role, grant

R = Role
READ = grant(
    "indicators.read",
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
DIMENSIONS = ("region", "section", "cause", "severity", "enterprise", "month")
DIMENSION_LABELS = {
    "region": N_("Region"),
    "section": N_("Activity"),
    "cause": N_("Cause"),
    "severity": N_("Severity"),
    "enterprise": N_("Enterprise"),
    "month": N_("Month"),
}
PER_1000 = 1_000
PER_100K = 100_000
