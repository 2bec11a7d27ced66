"""The map in headless Chromium: local requests only, clusters, filters, card, employer scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.conftest import artifacts, browser, live_url  # noqa: F401 - shared fixtures
from livesite import login

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _open_map(browser, live_url: str, username: str, width: int = 1280):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) or r.url.startswith("data:")
            else outside.append(r.url))
    login(page, live_url, username, next_path="/map")
    page.wait_for_selector("#mapshell[data-total]", state="attached")
    return context, page, outside


def test_map_inspector(browser, live_url, artifacts: Path, geo_world) -> None:  # noqa: F811
    context, page, outside = _open_map(browser, live_url, "inspector.krg")
    page.wait_for_selector(".cl, path.pt")
    before = int(page.get_attribute("#mapshell", "data-total"))
    assert before > 0
    page.screenshot(path=str(artifacts / "map-inspector.png"))
    page.select_option("#f-activity", "F")
    # The CSP forbids eval, so poll from Python instead of wait_for_function.
    for _ in range(100):
        if page.get_attribute("#mapshell", "data-total") != str(before):
            break
        page.wait_for_timeout(100)
    after = int(page.get_attribute("#mapshell", "data-total"))
    assert after < before
    page.fill("#f-q", "GEO-TEST")
    page.wait_for_selector("#searchhits button")
    page.click("#searchhits button >> nth=0")
    page.wait_for_selector("#cardbody h2")
    assert "GEO-TEST" in page.inner_text("#cardbody h2")
    page.screenshot(path=str(artifacts / "map-card.png"))
    assert outside == []
    context.close()


def test_map_employer_sees_own(browser, live_url, artifacts: Path, geo_world) -> None:  # noqa: F811
    context, page, outside = _open_map(browser, live_url, "osh.mine", width=390)
    assert page.get_attribute("#mapshell", "data-total") == "1"
    page.screenshot(path=str(artifacts / "map-employer-phone.png"), full_page=True)
    assert outside == []
    context.close()


def test_inspection_layers_legend_and_bad_range(browser, live_url, artifacts: Path,  # noqa: F811
                                                geo_world) -> None:
    context, page, outside = _open_map(browser, live_url, "inspector.krg")
    page.check("input[name=layer][value=open_violations]")
    page.check("input[name=layer][value=planned_inspections]")
    page.wait_for_selector("#legend .swatch.layer-planned_inspections")
    legend = page.inner_text("#legend")
    for name in ("open_violations", "planned_inspections"):  # the user's language, from the toggle
        label = page.get_attribute(f"input[name=layer][value={name}]", "data-label")
        assert label and label in legend
    assert page.is_hidden("#planned-error")
    page.fill("#f-planned_from", "2027-06-01")
    page.fill("#f-planned_to", "2027-01-01")
    page.dispatch_event("#f-planned_to", "change")
    page.wait_for_selector("#planned-error", state="visible")
    assert page.get_attribute("#f-planned_to", "aria-invalid") == "true"
    page.fill("#f-planned_to", "2027-08-01")
    page.dispatch_event("#f-planned_to", "change")
    page.wait_for_selector("#planned-error", state="hidden")
    page.screenshot(path=str(artifacts / "map-inspection-layers.png"))
    assert outside == []
    context.close()
