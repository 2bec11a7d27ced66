"""Default gas thresholds per site kind, as data. Every value names its source
(see docs/DOMAIN facts); sites override them in their own configuration.

Units: CH4 and O2 in % vol, CO and H2S in ppm. Keys map onto `SensorTable` fields
(high, highhigh, low, lowlow, twa_limit, stel_limit). NaN / missing = unused.
"""

from __future__ import annotations

from typing import Any

from .types import SensorTable

Limit = dict[str, Any]  # {"value": float, "source": str}


def _v(value: float, source: str) -> Limit:
    return {"value": value, "source": source}


_MSHA_CH4 = "US MSHA 30 CFR 75.323: 1.0 % cut power/adjust ventilation, 1.5 % withdraw people"
_CIS_CH4 = "CIS coal-mine practice: ≤ 1 % in workings, 2 % local accumulation is an emergency"
_O2 = "alarm below 19.5 % / above 23.5 % (OSHA oxygen-deficient / enriched atmosphere)"
_O2_CIS = "CIS mine air rules: O2 ≥ 20 % in workings"
_CO_CIS = "CIS mine air limit 20 mg/m³ ≈ 17 ppm; 20 ppm alarm used in practice"
_CO_OSHA = "OSHA PEL 50 ppm 8-h TWA"
_H2S = "ACGIH TLV 1 ppm TWA / 5 ppm STEL"
_H2S_HH = "product default 2 × STEL (CIS mine air limit 10 mg/m³ is ≈ 7 ppm; IDLH 100 ppm)"

THRESHOLDS: dict[str, dict[str, dict[str, Limit]]] = {
    "mine": {
        "CH4": {"high": _v(1.0, _CIS_CH4 + "; " + _MSHA_CH4),
                "highhigh": _v(1.5, _MSHA_CH4 + "; use 2.0 where CIS rules apply")},
        "CO": {"high": _v(20.0, _CO_CIS), "highhigh": _v(50.0, _CO_OSHA),
               "twa_limit": _v(50.0, _CO_OSHA)},
        "H2S": {"high": _v(5.0, _H2S), "highhigh": _v(10.0, _H2S_HH),
                "twa_limit": _v(1.0, _H2S), "stel_limit": _v(5.0, _H2S)},
        "O2": {"low": _v(20.0, _O2_CIS), "lowlow": _v(19.5, _O2), "high": _v(23.5, _O2)},
    },
    "plant": {
        "CH4": {"high": _v(1.0, "20 % LEL of methane (LEL 4.4–5 % vol) ≈ 1 % vol"),
                "highhigh": _v(2.0, "≈ 40–45 % LEL of methane, evacuation level")},
        "CO": {"high": _v(35.0, "NIOSH REL 35 ppm TWA"), "highhigh": _v(50.0, _CO_OSHA),
               "twa_limit": _v(50.0, _CO_OSHA)},
        "H2S": {"high": _v(5.0, _H2S), "highhigh": _v(10.0, _H2S_HH),
                "twa_limit": _v(1.0, _H2S), "stel_limit": _v(5.0, _H2S)},
        "O2": {"low": _v(19.5, _O2), "high": _v(23.5, _O2)},
    },
    "construction": {
        "CH4": {"high": _v(1.0, "20 % LEL of methane ≈ 1 % vol (confined spaces, trenches)"),
                "highhigh": _v(2.0, "≈ 40–45 % LEL of methane, evacuation level")},
        "CO": {"high": _v(35.0, "NIOSH REL 35 ppm TWA"), "highhigh": _v(50.0, _CO_OSHA),
               "twa_limit": _v(50.0, _CO_OSHA)},
        "H2S": {"high": _v(5.0, _H2S), "highhigh": _v(10.0, _H2S_HH),
                "twa_limit": _v(1.0, _H2S), "stel_limit": _v(5.0, _H2S)},
        "O2": {"low": _v(19.5, _O2), "high": _v(23.5, _O2)},
    },
}

# Gases whose alarms mean someone may die: flagged life-safety (never shelved or suppressed).
LIFE_SAFETY_GASES = frozenset({"CH4", "CO", "H2S", "O2"})


def table_for(site_kind: str, gases: list[str], **overrides: object) -> SensorTable:
    """A SensorTable with one row per entry of `gases`, filled from THRESHOLDS[site_kind]."""
    limits = THRESHOLDS[site_kind]
    table = SensorTable.create(len(gases), **overrides)
    for i, gas in enumerate(gases):
        for name, limit in limits.get(gas, {}).items():
            getattr(table, name)[i] = limit["value"]
        table.life_safety[i] = gas in LIFE_SAFETY_GASES
    table.changed()
    return table

