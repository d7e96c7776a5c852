"""The page of `jssp serve` in a real browser: Debian's Chromium driven by Playwright, against a live server.

Set ``JSSP_WEB_SCREENSHOT=docs/web-screenshot.png`` to refresh the screenshot in the docs; by default
it goes to the test's temporary folder.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from jssp.generators import random_general_instance
from jssp.parsing import InstanceFormatError, format_orlib, format_standard, parse_instance, read_instance
from jssp.rules import dispatch
from jssp.schedule import Schedule
from jssp.web.app import ServeConfig, create_app
from jssp.web.server import background_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTANCES = Path(__file__).resolve().parents[1] / "instances"
FT06 = INSTANCES / "ft06.txt"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with background_server(create_app(ServeConfig(workers=2))) as url:
        yield url


@pytest.fixture
def page(base_url: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 860}, device_scale_factor=1, accept_downloads=True
        )
        try:
            yield context.new_page()
        finally:
            browser.close()


def test_upload_solve_chart_downloads_and_error(page: Page, base_url: str, tmp_path: Path) -> None:
    elsewhere: list[str] = []  # requests to anything but this server; the page must make none
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(base_url)
            else (elsewhere.append(route.request.url), route.abort())
        ),
    )
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))

    page.goto("/")
    expect(page.locator("#method option[value=mwkr]")).to_have_count(1)
    page.set_input_files("#file", FT06)
    expect(page.locator("#file-label")).to_have_text("ft06.txt")
    page.select_option("#method", "mwkr")
    page.click("#solve")

    instance = read_instance(FT06)
    expected = dispatch(instance, "mwkr").makespan
    expect(page.locator("#makespan")).to_have_text(str(expected))
    expect(page.locator("#best-known")).to_have_text("55")
    expect(page.locator("#gap")).to_have_text(f"{100 * (expected - 55) / 55:.2f} %")
    expect(page.locator("#result-subtitle")).to_contain_text("known benchmark ft06")

    # The chart: one bar per operation in the inline SVG, its hover text naming the operation.
    bars = page.locator("#gantt svg rect.op")
    expect(bars).to_have_count(36)
    first = bars.first
    title = first.locator("title").text_content() or ""
    assert title.startswith("Job ") and ", operation " in title and "start " in title and "end " in title
    first.hover()
    expect(page.locator("#gantt")).to_have_class("gantt focus")
    page.mouse.move(5, 5)

    screenshot = Path(os.environ.get("JSSP_WEB_SCREENSHOT", tmp_path / "web-screenshot.png"))
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.read_bytes().startswith(b"\x89PNG")

    # Downloads: the schedule document, the CSV of Schedule.write_csv, the server-drawn PNG.
    with page.expect_download() as json_download:
        page.click("#download-json")
    document = json.loads(Path(json_download.value.path()).read_text())
    assert json_download.value.suggested_filename == "ft06-mwkr.json"
    assert document["format"] == "jssp-schedule/1" and document["makespan"] == expected
    assert "gap_pct" not in document and document["best_known"] == 55
    schedule = Schedule.from_dict(document, instance)
    schedule.check()

    with page.expect_download() as csv_download:
        page.click("#download-csv")
    schedule.write_csv(tmp_path / "expected.csv")
    assert Path(csv_download.value.path()).read_bytes() == (tmp_path / "expected.csv").read_bytes()

    with page.expect_download() as png_download:
        page.click("#download-png")
    assert png_download.value.suggested_filename == "ft06-mwkr-gantt.png"
    assert Path(png_download.value.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    # A malformed file: the parser's one line, and no stale result left on the page.
    truncated = b"2 2\n0 3 1 2\n"
    with pytest.raises(InstanceFormatError) as reason:
        parse_instance(truncated, source="bad.txt")
    page.set_input_files("#file", files=[{"name": "bad.txt", "mimeType": "text/plain", "buffer": truncated}])
    page.click("#solve")
    expect(page.locator("#error")).to_have_text(str(reason.value))
    expect(page.locator("#result")).to_be_hidden()

    assert elsewhere == [] and script_errors == []


def test_collection_offers_its_instances_and_general_routes_are_charted(page: Page) -> None:
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto("/")
    expect(page.locator("#method option[value=mwkr]")).to_have_count(1)
    expect(page.locator("#method")).to_have_value("tabu-pr")  # the default: the best schedules in the time limit
    page.select_option("#method", "mwkr")
    expect(page.locator("#instance-field")).to_be_hidden()

    # An OR-Library collection: the first try lists its instances in a select, the second solves the chosen one.
    collection = "".join(format_orlib(read_instance(INSTANCES / f"{name}.txt")) for name in ("ft06", "la01"))
    page.set_input_files(
        "#file", files=[{"name": "jobshop1.txt", "mimeType": "text/plain", "buffer": collection.encode()}]
    )
    page.click("#solve")
    expect(page.locator("#error")).to_have_text("This file holds 2 instances: pick one under Instance and solve again.")
    expect(page.locator("#instance-field")).to_be_visible()
    expect(page.locator("#instance option")).to_have_text(["ft06", "la01"])
    page.select_option("#instance", "la01")
    page.click("#solve")
    expect(page.locator("#result-title")).to_have_text("la01 · mwkr")
    expect(page.locator("#gantt svg rect.op")).to_have_count(50)

    # A gzip file of general routes on 120 machines: the 100 busiest get a lane, and a note says so.
    instance = random_general_instance(10, 120, seed=1, route_lengths=(20, 40), name="wide")
    compressed = gzip.compress(format_standard(instance).encode())
    page.set_input_files("#file", files=[{"name": "wide.txt.gz", "mimeType": "application/gzip", "buffer": compressed}])
    expect(page.locator("#instance-field")).to_be_hidden()
    page.click("#solve")
    expect(page.locator("#result-title")).to_have_text("wide · mwkr")
    busiest = set(np.argsort(-instance.machine_loads(), kind="stable")[:100].tolist())
    drawn = int(np.isin(instance.machines[instance.valid], list(busiest)).sum())
    expect(page.locator("#gantt svg rect.op")).to_have_count(drawn)
    expect(page.locator("#gantt svg text.machine")).to_have_count(100)
    expect(page.locator("#gantt-note")).to_have_text(
        "Only the 100 busiest of 120 machines are shown (most processing time); the downloads hold every operation."
    )
    assert script_errors == []


def test_blocking_problem_with_shutdowns_is_solved_and_charted(page: Page, tmp_path: Path) -> None:
    from jssp.blocking import Interruptions
    from jssp.blocking import solve as blocking_solve
    from jssp.blocking.validation import find_document_violations

    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto("/")
    expect(page.locator("#method option[value=tabu]")).to_have_count(1)
    expect(page.locator("#shutdown-rate")).to_have_count(0)  # the classical problem has no options of its own
    page.select_option("#problem", "isbjssp")
    expect(page.locator("#shutdown-rate")).to_be_visible()  # built from the problem's options (GET /api/methods)
    expect(page.locator("#interruption-mode")).to_have_value("resume")
    expect(page.locator("#method option[value=tabu]")).to_have_count(0)  # the blocking problem's methods only
    expect(page.locator("#method")).to_have_value("mwkr")
    expect(page.locator("#event-budget")).to_be_hidden()  # read by the re-planning methods only
    page.select_option("#method", "reschedule")
    expect(page.locator("#event-budget")).to_be_visible()
    page.select_option("#method", "mwkr")
    page.set_input_files("#file", FT06)
    page.fill("#shutdown-rate", "0.01")
    page.fill("#seed", "3")
    page.click("#solve")

    instance = read_instance(FT06)
    expected = blocking_solve(instance, "mwkr", Interruptions(rate=0.01, seed=3))
    expect(page.locator("#makespan")).to_have_text(str(expected.makespan))
    expect(page.locator("#best-known-label")).to_have_text("Best without shutdowns")
    expect(page.locator("#best-known")).to_have_text("63")
    expect(page.locator("#gap")).to_have_text(f"{100 * (expected.makespan - 63) / 63:.2f} %")
    expect(page.locator("#result-subtitle")).to_contain_text("blocking with swaps, shutdown rate 0.01, downtime 5")
    expect(page.locator("#download-csv")).to_be_hidden()

    # Processing segments, blocked time and down intervals are drawn as distinct elements.
    expect(page.locator("#gantt svg rect.op")).to_have_count(len(expected.segments))
    blocked = int((expected.leave > expected.processing_end)[instance.valid].sum())
    expect(page.locator("#gantt svg rect.blocked")).to_have_count(blocked)
    expect(page.locator("#gantt svg rect.down")).to_have_count(sum(len(rows) for rows in expected.down_intervals))
    title = page.locator("#gantt svg rect.blocked").first.locator("title").text_content() or ""
    assert "enter " in title and "processing " in title and "waiting for its next machine" in title
    expect(page.locator("#legend")).to_contain_text("machine down")

    with page.expect_download() as json_download:
        page.click("#download-json")
    document = json.loads(Path(json_download.value.path()).read_text())
    assert document["format"] == "jssp-isbjssp-schedule/1" and "gap_pct" not in document and "problem" not in document
    assert document["best_known"] == 63  # the document of jssp solve --output, as for the classical problem
    calendar = Interruptions(rate=0.01, seed=3).calendar(instance)
    assert find_document_violations(instance, document, calendar.down_intervals(document["makespan"])) == []
    with page.expect_download() as png_download:
        page.click("#download-png")
    assert Path(png_download.value.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    screenshot = Path(os.environ.get("JSSP_WEB_BLOCKING_SCREENSHOT", tmp_path / "web-blocking.png"))
    page.screenshot(path=screenshot, full_page=True)

    page.select_option("#problem", "jssp")  # back: the classical methods and no shutdown settings
    expect(page.locator("#method option[value=tabu]")).to_have_count(1)
    expect(page.locator("#shutdown-fields")).to_be_hidden()
    assert script_errors == []
