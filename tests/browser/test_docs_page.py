"""``/api/v1/docs`` renders every operation with no network beyond the server."""

from __future__ import annotations

import shutil

import requests
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL
from tests.serving import ServerProcess


def test_the_docs_page_renders_the_operations_offline(page, migrated_template, tmp_path):
    url = migrated_template
    if not PG_URL:
        shutil.copyfile(make_url(migrated_template).database, tmp_path / "docs.db")
        url = f"sqlite:///{tmp_path / 'docs.db'}"
    with ServerProcess(url, tmp_path, workers=1).start() as server:
        document = requests.get(f"{server.url}/api/v1/openapi.json", timeout=10).json()
        operations = sum(1 for item in document["paths"].values() for method in item
                         if method in {"get", "post", "put", "patch", "delete"})
        loaded: list[str] = []
        page.on("requestfinished", lambda request: loaded.append(request.url))
        page.goto(f"{server.url}/api/v1/docs", wait_until="load")
        page.wait_for_selector(".opblock-summary", timeout=30_000)
        rendered = page.locator(".opblock-summary").count()
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        title = page.locator(".info .title").inner_text()
    assert page.outside == []
    assert rendered == operations and operations >= 30
    assert any("/api/v1/workflows/execute" in path for path in paths)
    assert title.startswith("a2e")
    assert any(url.endswith("/api/v1/docs/assets/swagger-ui-bundle.js") for url in loaded)
    assert any(url.endswith("/api/v1/openapi.json") for url in loaded)
