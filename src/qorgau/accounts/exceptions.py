"""Account errors; messages never say whether the username or the password was wrong."""

from __future__ import annotations

from qorgau.core.errors import TooManyRequests, Unauthenticated


class BadCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("invalid username or password")


class LockedOut(TooManyRequests):
    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many failed attempts; try again in {minutes} minutes")
        self.minutes = minutes
