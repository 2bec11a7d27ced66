"""Webhook signatures for the integration domain; the scheme lives in qorgau.core.signing."""

from __future__ import annotations

from qorgau.core.signing import HEADER, TOLERANCE_SECONDS, mac, sign, verify

__all__ = ["HEADER", "TOLERANCE_SECONDS", "mac", "sign", "verify"]
