"""The two lanes of a receiving source (`MqttSource`, `ProcessSource`): the priority lane of
life-safety devices' topics and the bulk lane, what a group taken from them holds, and the
messages a group cut short gives back."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from qorgau.alarms.ingest.parse import Columns, Parsed, Rows

Item = tuple[int | None, Any, Callable[[], None]]  # (site hint, document, acknowledge)


class Raw:
    """A message as received, decoded when taken from its lane (`MqttSource.take`)."""

    __slots__ = ("device", "payload")

    def __init__(self, payload: bytes, device: str) -> None:
        self.payload, self.device = payload, device


ROW_BYTES = 48  # about one JSON row: {"d":"CO-12","s":1234,"t":1764000000.123,"v":3.0}


def readings(doc: Any) -> int:
    """Readings in a message (for sizing groups; 1 for anything else; estimated from the
    size for one not yet decoded)."""
    if isinstance(doc, Raw):
        return max(1, len(doc.payload) // ROW_BYTES)
    if isinstance(doc, Rows):
        return len(doc.readings)
    if isinstance(doc, Parsed | Columns):
        return len(doc.d)
    if isinstance(doc, dict):
        rows = doc.get("readings", doc.get("s"))
        if isinstance(rows, list):
            return len(rows)
    return 1


def take_group(urgent: deque[Item], bulk: deque[Item], messages: int, most: int
               ) -> tuple[bool, list[Item]]:
    """One group from the lanes (the caller holds their lock): the priority lane first, as a
    group of its own, up to `messages` messages / about `most` readings. Returns whether it
    came from the priority lane."""
    lane = urgent or bulk
    out: list[Item] = []
    n = 0
    while lane and len(out) < messages and n < most:
        out.append(lane.popleft())
        n += readings(out[-1][1])
    return lane is urgent and bool(out), out


def put_back(urgent: deque[Item], bulk: deque[Item], from_urgent: bool, items: list[Item]
             ) -> None:
    """Messages taken but not handled (a group cut short for a life-safety message) back to
    the front of the lane they came from, in their order (the caller holds the lock)."""
    (urgent if from_urgent else bulk).extendleft(reversed(items))
