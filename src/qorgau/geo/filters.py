"""Map filters: the column encodings the point index uses and the `Filters` value object.

Everything here is pure data and parsing; `cluster.py` turns a `Filters` into lookup tables.
Encodings are stable small integers so the index can store each attribute in one byte:

* region: the numeric part of the ISO 3166-2:KZ code (``"KZ-35"`` -> 35), 0 = unknown;
* OKED section: 1..21 for ``A``..``U``, 0 = unknown; OKED division: 1..99 (two digits), 0 = unknown;
* size band: 0 micro, 1 small, 2 medium, 3 large;
* risk band: 0 low, 1 medium, 2 high, 3 very_high.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

REGION_CODES: tuple[str, ...] = (
    "KZ-10",
    "KZ-11",
    "KZ-15",
    "KZ-19",
    "KZ-23",
    "KZ-27",
    "KZ-31",
    "KZ-33",
    "KZ-35",
    "KZ-39",
    "KZ-43",
    "KZ-47",
    "KZ-55",
    "KZ-59",
    "KZ-61",
    "KZ-62",
    "KZ-63",
    "KZ-71",
    "KZ-75",
    "KZ-79",
)
OKED_SECTIONS = "ABCDEFGHIJKLMNOPQRSTU"
SIZE_BANDS: tuple[str, ...] = ("micro", "small", "medium", "large")
RISK_BANDS: tuple[str, ...] = ("low", "medium", "high", "very_high")
MAX_FLAGS = 32  # flags live in one uint32 bitmask
MAX_IDS = 1_000_000

# Query-string keys that belong to the viewport, not to the filters.
VIEWPORT_KEYS = frozenset({"bbox", "zoom", "z"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class GeoInputError(ValueError):
    """Bad input to the map engine; `field` names the offending parameter (maps to HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidFilter(GeoInputError):
    """A filter name or value the map does not know."""


def region_code(iso: str) -> int:
    """``"KZ-35"`` -> 35; raises `InvalidFilter` for codes that are not one of the 20 units."""
    norm = iso.strip().upper()
    if norm not in REGION_CODES:
        raise InvalidFilter("region", f"unknown region code {iso!r}")
    return int(norm[3:])


def section_code(letter: str) -> int:
    """OKED section letter -> 1..21."""
    norm = letter.strip().upper()
    if len(norm) != 1 or norm not in OKED_SECTIONS:
        raise InvalidFilter("activity", f"unknown OKED section {letter!r}")
    return OKED_SECTIONS.index(norm) + 1


def encode_regions(codes: Iterable[str]) -> np.ndarray:
    """Vector form of `region_code` for building an index from registry rows."""
    lut = {c: int(c[3:]) for c in REGION_CODES}
    return np.fromiter((lut.get(c, 0) for c in codes), dtype=np.uint8)


def encode_sections(letters: Iterable[str]) -> np.ndarray:
    lut = {c: i + 1 for i, c in enumerate(OKED_SECTIONS)}
    return np.fromiter((lut.get(c, 0) for c in letters), dtype=np.uint8)


def _parse_activity(value: str) -> tuple[str, int]:
    """An activity is a section letter (``"C"``) or a two-digit division (``"05"``, ``"5"``)."""
    norm = value.strip().upper()
    if norm.isdigit():
        div = int(norm)
        if not 1 <= div <= 99:
            raise InvalidFilter("activity", f"OKED division out of range: {value!r}")
        return "division", div
    return "section", section_code(norm)


def _band_index(value: str, bands: Sequence[str], name: str) -> int:
    norm = value.strip().lower()
    if norm not in bands:
        raise InvalidFilter(name, f"unknown value {value!r}; expected one of {', '.join(bands)}")
    return bands.index(norm)


def parse_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    norm = str(value).strip().lower()
    if norm in _TRUE:
        return True
    if norm in _FALSE:
        return False
    raise InvalidFilter(name, f"expected a boolean, got {value!r}")


def _values(raw: str | Sequence[str]) -> list[str]:
    """Accept repeated keys and comma-separated lists alike; blanks are dropped."""
    items = [raw] if isinstance(raw, str) else list(raw)
    return [part for item in items for part in str(item).split(",") if part.strip()]


@dataclass(frozen=True, slots=True)
class Filters:
    """A conjunction of facets; values inside one facet are alternatives (OR).

    Empty tuples and ``None`` mean "no constraint", except `ids`: ``None`` is no constraint and
    an empty tuple matches nothing (a search that found no enterprise shows an empty map).
    `flags` maps a layer flag name (an extra boolean column given to the index) to the value
    required.
    """

    regions: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    risk_bands: tuple[str, ...] = ()
    hazardous: bool | None = None
    ids: tuple[int, ...] | None = None
    flags: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for r in self.regions:
            region_code(r)
        for a in self.activities:
            _parse_activity(a)
        for s in self.sizes:
            _band_index(s, SIZE_BANDS, "size")
        for b in self.risk_bands:
            _band_index(b, RISK_BANDS, "risk")
        if self.ids is not None and len(self.ids) > MAX_IDS:
            raise InvalidFilter("ids", f"at most {MAX_IDS} ids per request")
        for name, value in self.flags.items():
            if not isinstance(value, bool):
                raise InvalidFilter(name, "flag value must be a boolean")

    # --- encoded views, used by the index -------------------------------------------------
    def region_values(self) -> list[int]:
        return [region_code(r) for r in self.regions]

    def activity_values(self) -> tuple[list[int], list[int]]:
        """(section codes, division codes)."""
        parsed = [_parse_activity(a) for a in self.activities]
        return [v for k, v in parsed if k == "section"], [v for k, v in parsed if k == "division"]

    def size_values(self) -> list[int]:
        return [_band_index(s, SIZE_BANDS, "size") for s in self.sizes]

    def risk_values(self) -> list[int]:
        return [_band_index(b, RISK_BANDS, "risk") for b in self.risk_bands]

    @property
    def is_empty(self) -> bool:
        return (
            not (self.regions or self.activities or self.sizes or self.risk_bands or self.flags)
            and self.hazardous is None
            and self.ids is None
        )

    @classmethod
    def from_query(
        cls,
        params: Mapping[str, str | Sequence[str]],
        *,
        flag_names: Iterable[str] = (),
        ignore: Iterable[str] = VIEWPORT_KEYS,
    ) -> Filters:
        """Parse query parameters (``?region=KZ-35,KZ-75&risk=high&has_open_violation=1``).

        Keys: region, activity, size, risk, hazardous, ids, and any of `flag_names`.
        Each key may repeat or carry a comma-separated list. Unknown keys raise `InvalidFilter`.
        """
        known_flags, skip = set(flag_names), set(ignore)
        kw: dict[str, object] = {}
        flags: dict[str, bool] = {}
        list_keys = {
            "region": "regions",
            "activity": "activities",
            "size": "sizes",
            "risk": "risk_bands",
        }
        for key, raw in params.items():
            if key in skip:
                continue
            values = _values(raw)
            if key in list_keys:
                kw[list_keys[key]] = tuple(values)
            elif key == "hazardous":
                kw["hazardous"] = parse_bool(_single(values, key), key) if values else None
            elif key == "ids":
                kw["ids"] = _parse_ids(values)
            elif key in known_flags:
                if values:
                    flags[key] = parse_bool(_single(values, key), key)
            else:
                raise InvalidFilter(key, "unknown filter")
        return cls(flags=flags, **kw)  # type: ignore[arg-type]


def _single(values: list[str], name: str) -> str:
    if len(values) != 1:
        raise InvalidFilter(name, "expected a single value")
    return values[0]


def _parse_ids(values: list[str]) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values)
    except ValueError as exc:
        raise InvalidFilter("ids", "ids must be integers") from exc
