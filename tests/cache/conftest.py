"""Cache fixtures: an app on a FakeClock (set before the first request) and a runner helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from a2e.engine.clock import FakeClock
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

__all__ = ["jsonl", "op"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def execute(client) -> Callable[..., dict[str, Any]]:
    """POST a workflow; the response body of a run that started (asserts 200)."""

    def run(key: Any, workflow: str, app_client: Any = None) -> dict[str, Any]:
        response = (app_client or client).post(
            "/api/v1/workflows/execute", headers=auth(key), json={"workflow": workflow})
        assert response.status_code == 200, response.json
        return response.json

    return run


def get_op(url: str, op_id: str = "fetch", **config: Any) -> dict[str, Any]:
    return op(op_id, "ApiCall", method="GET", url=url, outputPath=f"/workflow/{op_id}", **config)
