"""Indicator tests share the incidents helpers."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> None:
    from qorgau.core.ratelimit import reset

    reset()
