"""Browser tests: Debian's chromium, headless, driven by Playwright for Python.

Every test here is marked ``browser`` and skips cleanly where ``/usr/bin/chromium``
or the ``playwright`` package is missing (Playwright never downloads a browser).
The ``chromium`` fixture (one headless browser per module) is in tests/conftest.py, shared
with tests/dashboard. The ``page`` fixture's pages may reach only loopback addresses: any other request
is aborted and recorded in ``page.outside``, so a test can assert there was none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

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
