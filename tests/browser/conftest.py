"""Browser tests: Debian's chromium, headless, driven by Playwright for Python.

Every test here is marked ``browser`` and skips cleanly where ``/usr/bin/chromium``
or the ``playwright`` package is missing (Playwright never downloads a browser).
The ``browser`` fixture's pages may reach only loopback addresses: any other request
is aborted and recorded in ``page.outside``, so a test can assert there was none.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-sync", "--no-first-run",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per module: a live sync Playwright holds an event loop on the main
    thread, so it must end before other tests start theirs (or another Playwright)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page whose requests to anything but loopback are aborted and recorded."""
    context = chromium.new_context()
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if _loopback(route.request.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.outside = outside
    yield page
    context.close()
