"""Scale sizes and calibration figures for the synthetic twin, each with its source.

Figures are copied from /work/shared/data/kz-calibration.md (BNS, MLSP, 2023–2025); the
section of that file is given next to each. Anything hand-set for the simulation is marked
"illustrative".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The registry's "today": contracts with no end date are current on this day.
REFERENCE_DATE = date(2025, 12, 31)
HISTORY_YEARS = 4  # contracts starting and ending over the last 4 years are kept
MIN_WAGE_KZT = 85_000  # 2024–2026 (calibration §5a)
AVG_WAGE_KZT = 405_416  # 2024 national average monthly nominal wage (§5a)
WAGE_SIGMA = 0.45  # lognormal spread of wages around the enterprise mean (illustrative)
TURNOVER_RANGE = (0.15, 0.25)  # annual separations per position (illustrative, brief)
MOVER_SHARE = 0.45  # share of separations whose worker is re-hired elsewhere (illustrative)

# Employment by OKED section, 2024, thousand persons (calibration §2).
SECTION_EMPLOYMENT_K: dict[str, float] = {
    "A": 1027.851, "B": 284.257, "C": 625.911, "D": 155.107, "E": 92.541, "F": 665.460,
    "G": 1528.981, "H": 670.059, "I": 232.533, "J": 188.484, "K": 202.509, "L": 162.930,
    "M": 263.586, "N": 277.187, "O": 517.031, "P": 1198.394, "Q": 583.886, "R": 154.181,
    "S": 383.296,
}  # fmt: skip

# Agriculture share of employment by region, 2024 (calibration §1b, derived column).
AGRI_SHARE: dict[str, float] = {
    "KZ-10": 0.108, "KZ-11": 0.223, "KZ-15": 0.068, "KZ-19": 0.179, "KZ-23": 0.025,
    "KZ-27": 0.135, "KZ-31": 0.256, "KZ-33": 0.117, "KZ-35": 0.054, "KZ-39": 0.198,
    "KZ-43": 0.080, "KZ-47": 0.013, "KZ-55": 0.157, "KZ-59": 0.240, "KZ-61": 0.231,
    "KZ-62": 0.034, "KZ-63": 0.095, "KZ-71": 0.007, "KZ-75": 0.005, "KZ-79": 0.018,
}  # fmt: skip
# Industry + construction share of employment by region, 2024 (calibration §1b).
INDUSTRY_SHARE: dict[str, float] = {
    "KZ-10": 0.156, "KZ-11": 0.202, "KZ-15": 0.287, "KZ-19": 0.172, "KZ-23": 0.273,
    "KZ-27": 0.172, "KZ-31": 0.144, "KZ-33": 0.156, "KZ-35": 0.316, "KZ-39": 0.205,
    "KZ-43": 0.181, "KZ-47": 0.303, "KZ-55": 0.277, "KZ-59": 0.141, "KZ-61": 0.126,
    "KZ-62": 0.427, "KZ-63": 0.271, "KZ-71": 0.194, "KZ-75": 0.144, "KZ-79": 0.129,
}  # fmt: skip
# Per-capita money income, Q1 2024, tenge (§5c): the only complete regional scale; used to
# fill the wage of regions whose 2024 average wage is not published (ratio to the country).
INCOME_Q1_2024: dict[str, int] = {
    "KZ-10": 173569, "KZ-11": 174116, "KZ-15": 174470, "KZ-19": 139088, "KZ-23": 362866,
    "KZ-27": 198658, "KZ-31": 134849, "KZ-33": 129531, "KZ-35": 212647, "KZ-39": 184505,
    "KZ-43": 137954, "KZ-47": 235295, "KZ-55": 207646, "KZ-59": 166277, "KZ-61": 109628,
    "KZ-62": 260814, "KZ-63": 211317, "KZ-71": 264259, "KZ-75": 287213, "KZ-79": 121994,
}  # fmt: skip
INCOME_Q1_2024_KZ = 194_971

# Divisions that drive the geography (brief; DOMAIN.md "Regions with the most injuries").
MINING_METAL_DIVISIONS = ("05", "07", "08", "24")
OIL_GAS_DIVISIONS = ("06", "09", "19")
HAZARD_SHARE: dict[str, float] = {  # P(hazardous) by section/division (illustrative)
    "B": 0.95, "24": 0.9, "19": 0.95, "20": 0.85, "D": 0.8, "C": 0.35, "F": 0.3,
    "E": 0.2, "H": 0.15, "A": 0.05,
}  # fmt: skip

# Size bands (BNS: small ≤100, medium 101–250, large >250 employees; §3).
BANDS = ("micro", "small", "medium", "large")
BAND_RANGE = {"micro": (1, 15), "small": (16, 100), "medium": (101, 250), "large": (251, 40_000)}
# Section affinity per band (illustrative): heavy industry concentrates in large firms, trade
# and services in micro firms. Calibration rescales these so headcount matches §2.
BAND_AFFINITY: dict[str, dict[str, float]] = {
    "micro": {"G": 3.0, "I": 2.5, "M": 2.0, "L": 2.0, "S": 2.0, "N": 1.5, "A": 1.5, "F": 1.2},
    "small": {"F": 1.5, "G": 1.5, "A": 1.3, "N": 1.2},
    "medium": {"C": 1.5, "F": 1.3, "P": 1.5, "Q": 1.5, "O": 1.5},
    "large": {"B": 4.0, "C": 2.0, "D": 2.0, "H": 1.5, "O": 1.5, "P": 1.2, "Q": 1.2, "K": 1.2},
}


@dataclass(frozen=True)
class ScaleSpec:
    """How many enterprises per size band a scale generates (current headcount follows)."""

    name: str
    band_counts: dict[str, int]
    large_cap: int  # largest headcount drawn, so small scales are not one employer
    description: str

    @property
    def enterprises(self) -> int:
        return sum(self.band_counts.values())


# national: BNS 2023 counts — 1,532 large and 2,471 medium (>100 staff: 4,003), ~496 K small
# and micro businesses, aiming at the BNS payroll headcount of 3.99 M (large enterprises 45.9 %
# of it, §5a); seed 1 gives 4.41 M current jobs and 8.1 M contracts over 4 years (measured).
# small / region keep the shape of the ~175 K active legal entities (fewer micro firms).
SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec(
        "small", {"micro": 1_524, "small": 420, "medium": 40, "large": 16}, 4_000,
        "2,000 legal entities, ~45 K current jobs, ~60 K workers; demo and tests",
    ),
    "region": ScaleSpec(
        "region", {"micro": 17_500, "small": 7_000, "medium": 300, "large": 200}, 15_000,
        "25,000 legal entities across all 20 regions, ~1/10 of the country's legal entities",
    ),
    "national": ScaleSpec(
        "national", {"micro": 471_000, "small": 25_000, "medium": 2_471, "large": 1_532}, 40_000,
        "500,003 enterprises incl. small businesses, ~4.4 M current jobs, ~8.1 M contracts",
    ),
}

# Where enterprises cluster: (lon, lat, weight) of the main cities of each region
# (approximate public coordinates); points are always filtered to the region polygon.
CITIES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "KZ-10": ((80.23, 50.41, 3), (81.0, 49.1, 1)),
    "KZ-11": ((69.39, 53.28, 3), (70.3, 53.08, 1), (72.2, 51.7, 1)),
    "KZ-15": ((57.17, 50.28, 4), (58.0, 50.45, 1), (56.2, 49.2, 1)),
    "KZ-19": ((77.08, 43.87, 2), (76.6, 43.35, 2), (77.9, 43.45, 1)),
    "KZ-23": ((51.92, 47.11, 4), (53.4, 46.85, 1), (54.9, 46.4, 1)),
    "KZ-27": ((51.37, 51.23, 4), (53.0, 51.17, 1)),
    "KZ-31": ((71.37, 42.9, 4), (73.3, 43.6, 1), (70.4, 43.5, 1)),
    "KZ-33": ((78.37, 45.02, 4), (80.2, 45.6, 1)),
    "KZ-35": ((73.10, 49.80, 4), (72.95, 50.06, 2), (72.85, 49.6, 2), (75.0, 46.85, 1)),
    "KZ-39": ((63.63, 53.21, 4), (63.12, 52.97, 2), (61.7, 52.25, 1)),
    "KZ-43": ((65.5, 44.85, 4), (61.7, 45.9, 1), (64.1, 45.4, 1)),
    "KZ-47": ((51.17, 43.65, 4), (52.8, 43.34, 2), (53.3, 45.0, 1)),
    "KZ-55": ((76.95, 52.29, 4), (75.32, 51.72, 2), (77.0, 52.0, 1)),
    "KZ-59": ((69.15, 54.87, 4), (69.9, 54.1, 1)),
    "KZ-61": ((68.25, 43.3, 2), (68.55, 43.55, 1), (68.2, 41.8, 1), (69.7, 42.45, 1)),
    "KZ-62": ((67.71, 47.78, 4), (67.53, 47.90, 2), (70.5, 48.1, 1)),
    "KZ-63": ((82.61, 49.95, 4), (83.51, 50.34, 2), (84.0, 49.1, 1)),
    "KZ-71": ((71.43, 51.13, 1),),
    "KZ-75": ((76.89, 43.24, 1),),
    "KZ-79": ((69.6, 42.32, 1),),
}
CITY_SIGMA_DEG = {"region": 0.35, "city": 0.06}  # spread around a city centre
UNIFORM_SHARE = 0.2  # share of enterprises spread uniformly over the region (rural)

# Division mix inside a section (illustrative); unlisted divisions share DEFAULT_DIVISION_WEIGHT.
DIVISION_WEIGHTS: dict[str, float] = {
    "01": 0.9, "02": 0.06, "03": 0.04, "05": 0.3, "06": 0.25, "07": 0.25, "08": 0.1, "09": 0.1,
    "10": 0.2, "24": 0.16, "23": 0.1, "25": 0.08, "19": 0.04, "20": 0.05, "28": 0.04,
    "41": 0.45, "42": 0.25, "43": 0.3, "49": 0.55, "50": 0.02, "51": 0.05, "52": 0.3, "53": 0.08,
}  # fmt: skip
DEFAULT_DIVISION_WEIGHT = 0.02

# Average wage by section relative to the country, 2024 (§5a: mining 866,500, finance
# 856,200, professional 597,900, transport 532,100, construction 508,400 ÷ 405,416);
# the other sections are illustrative.
SECTION_WAGE_FACTOR: dict[str, float] = {
    "B": 2.14, "K": 2.11, "M": 1.47, "H": 1.31, "F": 1.25, "D": 1.2, "C": 1.15, "J": 1.4,
    "O": 0.95, "A": 0.6, "G": 0.8, "I": 0.7, "P": 0.7, "Q": 0.75, "R": 0.7, "S": 0.7,
}  # fmt: skip
BAND_WAGE_FACTOR = {"micro": 0.7, "small": 0.85, "medium": 1.0, "large": 1.2}
WAGE_GROWTH = 0.10  # nominal growth per year, to date older contracts (§5a series, derived)
