"""The report page as a person sees it: opened in a real headless browser.

Debian's Chromium, driven by Playwright's Python package with
``executable_path="/usr/bin/chromium"`` (``.ci/run`` installs both, and a CJK
font).  The page must render its charts with no console error and no request
for anything outside itself; the test saves a screenshot (``docs/report.png``
is one, made the same way).

Without a browser the tests skip, except when ``RETURNRULES_REQUIRE_BROWSER=1``
(CI) makes a missing browser a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import returnrules
from returnrules.desk import Desk, open_ledger
from returnrules.desk.page import report_page
from returnrules.desk.report import build_report

ROOT = Path(__file__).parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]


def _browser_or_skip() -> Any:
    required = os.environ.get("RETURNRULES_REQUIRE_BROWSER") == "1"
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed"
    else:
        if not Path(CHROMIUM).exists():
            missing = f"{CHROMIUM} is not installed (Debian: apt-get install chromium)"
    if missing is not None:
        if required:
            pytest.fail(f"RETURNRULES_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report page of the example requests, decided by the shipped policy."""
    if os.environ.get("RETURNRULES_REQUIRE_BROWSER") != "1":
        pytest.importorskip("matplotlib")  # the report extra
    folder = tmp_path_factory.mktemp("page")
    policy = returnrules.load_policy(ROOT / "rules.toml")
    data = tomllib.loads((ROOT / "examples" / "data.toml").read_text("utf-8"))
    requests = []
    for path in sorted((ROOT / "examples" / "requests").iterdir()):
        text = path.read_text("utf-8")
        mapping = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        requests.append((path.name, mapping))
    with open_ledger(str(folder / "desk.db")) as ledger:
        list(Desk(ledger, policy, data, actor="test").submit(requests))
        report = build_report(ledger, vocabularies=policy.vocabularies)
    page = folder / "report.html"
    page.write_text(report_page(report), encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def test_the_report_page_renders_its_charts_without_errors(
    browser: Any, page_file: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    errors: list[str] = []
    requested: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requested.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    assert errors == []
    assert requested == [page_file.as_uri()]  # nothing from outside the page
    charts = page.locator(".chart svg")
    assert charts.count() == 2
    for index in range(2):
        box = charts.nth(index).bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 100
    assert "质量问题" in page.inner_text("body")  # the labels of the tables
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("RETURNRULES_SCREENSHOT")
    if keep:  # refresh docs/report.png: RETURNRULES_SCREENSHOT=docs/report.png
        shutil.copy(shot, keep)
