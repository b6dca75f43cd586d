"""``/dashboard`` in a real browser: Playwright driving Debian's chromium against a real server.

Skipped where /usr/bin/chromium or the playwright package is missing. With
``A2E_DOCS_SCREENSHOTS=1`` the screenshots land in docs/images/ (for docs/observability.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dashboard import scenario
from tests.helpers import auth
from tests.serving import ServerProcess

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

pytestmark = [pytest.mark.browser, pytest.mark.system]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(database_url, tmp_path):
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps(scenario.CONFIG))
    with ServerProcess(database_url, tmp_path / "server", workers=1,
                       env={"A2E_CONFIG": str(config)}) as running:
        yield running


@pytest.fixture
def keys(make_agent) -> dict[str, Any]:
    return {"alpha": make_agent("alpha"), "beta": make_agent("beta"),
            "root": make_agent("root", admin=True)}


def play(server: ServerProcess, keys: dict[str, Any], httpserver) -> scenario.Outcome:
    def post(agent: str, workflow: str) -> tuple[int, dict[str, Any]]:
        response = requests.post(f"{server.url}/api/v1/workflows/execute", headers=auth(keys[agent]),
                                 json={"workflow": workflow}, timeout=60)
        return response.status_code, response.json()

    outcome = scenario.run(post, httpserver)
    scenario.check_outcome(outcome)
    return outcome


def screenshot_path(tmp_path: Path, name: str) -> Path:
    if os.environ.get("A2E_DOCS_SCREENSHOTS"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        return DOCS_IMAGES / name
    return tmp_path / name


def figure(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"] .value, [data-figure="{name}"] dd').first.inner_text()


def expect_total(page, text: str) -> None:
    sync_api.expect(page.locator('#overview [data-figure="total_executions"] .value')).to_have_text(text)


def test_the_dashboard_shows_the_scenario(server, chromium, keys, httpserver, tmp_path):
    play(server, keys, httpserver)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(server.url)
            else foreign.append(request.url))
    page.clock.install()
    page.goto(f"{server.url}/dashboard")

    key_input = page.locator('input[type="password"][name="key"]')
    key_input.fill(keys["alpha"].api_key)
    key_input.press("Enter")
    page.get_by_text("That key is not an admin key.").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    key_input.fill(keys["root"].api_key)
    key_input.press("Enter")
    page.locator('#overview [data-figure="total_executions"]').wait_for()
    assert figure(page, "total_executions") == "8"
    assert figure(page, "successful_executions") == "6"
    assert figure(page, "failed_executions") == "2"
    assert figure(page, "total_rejections") == "2"
    assert figure(page, "retries") == "3"
    assert figure(page, "recovered_runs") == "1"
    assert figure(page, "give_ups") == "1"
    assert figure(page, "hits") == "1" and figure(page, "hit_rate") == "50.0 %"
    assert page.locator("#timeline svg rect.bar").count() >= 2
    assert page.locator("#operations svg rect.bar").count() >= 2
    assert page.locator("#agents tbody tr").count() == 2
    assert page.locator("#recent tbody tr").count() == 8
    assert keys["root"].api_key not in page.url
    assert page.evaluate("sessionStorage.getItem('a2e.dashboard.key')") == keys["root"].api_key
    page.screenshot(path=str(screenshot_path(tmp_path, "dashboard.png")), full_page=True)

    page.locator("#recent a").first.click()
    page.locator("#run-panel:not([hidden]) #run tbody tr").first.wait_for()
    assert "GetCurrentDateTime" in page.locator("#run").inner_text()
    assert "#run/" in page.url and keys["root"].api_key not in page.url

    page.select_option('select[name="agent"]', "beta")
    expect_total(page, "3")
    page.select_option('select[name="agent"]', "")
    page.select_option('select[name="days"]', "30")
    sync_api.expect(page.locator("#timeline svg text.axis")).to_have_count(3 + 7)  # y ticks; every 5th day and the last
    expect_total(page, "8")  # every agent again, before another run is added

    # Another run appears on the next automatic refresh, 30 s later.
    status, _ = (lambda r: (r.status_code, r.json()))(requests.post(
        f"{server.url}/api/v1/workflows/execute", headers=auth(keys["alpha"]),
        json={"workflow": scenario.clock_op()}, timeout=60))
    assert status == 200
    assert figure(page, "total_executions") == "8"
    page.clock.run_for(30_000)
    expect_total(page, "9")

    page.reload()
    page.locator('#overview [data-figure="total_executions"]').wait_for()
    assert page.locator("#login").is_hidden()
    assert foreign == []
    context.close()


def test_the_dashboard_reads_on_a_phone(server, chromium, keys, httpserver, tmp_path):
    play(server, keys, httpserver)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server.url}/dashboard")
    page.locator('input[name="key"]').fill(keys["root"].api_key)
    page.locator('input[name="key"]').press("Enter")
    page.locator('#overview [data-figure="total_executions"]').wait_for()
    assert figure(page, "total_executions") == "8"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the phone"
    page.screenshot(path=str(screenshot_path(tmp_path, "dashboard-phone.png")), full_page=True)
    context.close()


def test_the_page_and_assets_come_from_the_package(server):
    page = requests.get(f"{server.url}/dashboard", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "http" not in page.text.replace(server.url, "").split("<body>")[0].replace(
        'http-equiv', '')
    for name, media in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = requests.get(f"{server.url}/dashboard/assets/{name}", timeout=10)
        assert asset.status_code == 200 and asset.headers["Content-Type"].startswith(media)
    assert requests.get(f"{server.url}/dashboard/assets/nope.js", timeout=10).status_code == 404
    assert requests.get(f"{server.url}/dashboard/assets/..%2Fpage.py", timeout=10).status_code == 404
