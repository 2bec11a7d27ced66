"""Equipment errors."""

from __future__ import annotations

from qorgau.core.errors import NotFound


class InstallationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("installation not found")


class RequirementNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("requirement not found")
