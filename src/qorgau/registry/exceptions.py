"""Registry errors."""

from __future__ import annotations

from qorgau.core.errors import Conflict, NotFound


class EnterpriseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("enterprise not found")


class DuplicateBin(Conflict):
    def __init__(self, bin_: str) -> None:
        super().__init__(f"an enterprise with BIN {bin_} already exists", field="bin")
