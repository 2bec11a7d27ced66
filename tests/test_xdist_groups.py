"""`--dist loadgroup` (the suite's command) keeps an `xdist_group`'s tests on one worker only
if their node ids carry the group: with pytest 9.2 and pytest-xdist 3.8 they silently did
not (tests/conftest.py), and nothing failed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("grouping_check")


def test_a_grouped_test_carries_its_group_under_loadgroup(request: pytest.FixtureRequest) -> None:
    grouped = request.node.nodeid.endswith("@grouping_check")
    assert grouped == bool(getattr(request.config.option, "loadgroup", False))
