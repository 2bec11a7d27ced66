"""Risk-domain permissions (kept apart from constants.py, which holds the pure taxonomy)."""

from __future__ import annotations

from qorgau.core.roles import Role, grant

_REGULATORS = {
    Role.MINISTRY_ANALYST,
    Role.INDUSTRY_OFFICER,
    Role.ADMIN,
    Role.LABOUR_INSPECTOR,
    Role.AKIMAT,
    Role.EMERGENCY_INSPECTOR,
}

READ = grant("risk.read", _REGULATORS | {Role.EMPLOYER_OSH, Role.WORKER})
WRITE = grant("risk.write", {Role.EMPLOYER_OSH, Role.ADMIN})
SIGN = grant("risk.sign", {Role.EMPLOYER_OSH})
CONFIRM = grant("risk.instruction.confirm", {Role.EMPLOYER_OSH, Role.WORKER})
REGULATOR_VIEW = grant("risk.regulator", _REGULATORS)
# Near misses: any employee may report one (reporting culture), not only the OSH officer.
NEAR_MISS = grant("risk.near_miss.report", {Role.EMPLOYER_OSH, Role.WORKER})
