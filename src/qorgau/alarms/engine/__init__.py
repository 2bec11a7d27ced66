"""Early-warning alarm engine: a pure library (arrays in, events out; no I/O, no clock).

Time is float64 seconds; sensors are dense indices into a `SensorTable`. Readings must be
sorted by time within each sensor; out-of-order and duplicate readings are dropped upstream
by (device, sequence). See docs/alarm-engine.md for the full semantics.
"""

from .defaults import THRESHOLDS, table_for
from .engine import AlarmEngine, ComboRule, DeviceCode, methane_fan_rule
from .isa import (
    Alarm,
    AlarmState,
    InvalidTransition,
    LifeSafetyViolation,
    TransitionRecord,
)
from .kernel import exposure_fast, limits_fast, warm_up
from .predict import (
    WARNING_DTYPE,
    WarningEvaluation,
    evaluate_warnings,
    forecast_over_sensors,
    forecast_warnings,
    theil_sen,
)
from .reference import exposure_reference, limits_reference
from .types import EVENT_DTYPE, EngineState, ExposureState, Kind, SensorTable, Transition

__all__ = [
    "EVENT_DTYPE",
    "THRESHOLDS",
    "WARNING_DTYPE",
    "Alarm",
    "AlarmEngine",
    "AlarmState",
    "ComboRule",
    "DeviceCode",
    "EngineState",
    "ExposureState",
    "InvalidTransition",
    "Kind",
    "LifeSafetyViolation",
    "SensorTable",
    "Transition",
    "TransitionRecord",
    "WarningEvaluation",
    "evaluate_warnings",
    "exposure_fast",
    "exposure_reference",
    "forecast_over_sensors",
    "forecast_warnings",
    "limits_fast",
    "limits_reference",
    "methane_fan_rule",
    "table_for",
    "theil_sen",
    "warm_up",
]
