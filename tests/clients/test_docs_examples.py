"""The Python examples of docs/clients.md run as written against a real server."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO


def _examples() -> list[str]:
    text = (REPO / "docs" / "clients.md").read_text()
    return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "a2e.client" in block]


def test_the_client_examples_run(serve, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    examples = _examples()
    assert examples
    served = serve()
    monkeypatch.setenv("A2E_URL", served.url)
    monkeypatch.setenv("A2E_API_KEY", served.key.api_key)
    for example in examples:
        exec(compile(example, "docs/clients.md", "exec"), {})  # noqa: S102 - our own docs
    printed = capsys.readouterr().out
    assert "succeeded" in printed and "400 ValidationError" in printed and "daily-sum" in printed
