"""A real server seals events in the background, and seals what is pending on SIGTERM."""

from __future__ import annotations

import time

import requests
from sqlalchemy import func, select

from a2e.audit import chain_key, verify
from a2e.store.models import AuditEvent
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth
from tests.serving import ServerProcess

SECRET = "system-test-secret"


def counts(db) -> tuple[int, int]:
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        unsealed = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.hash.is_(None))
        ) or 0
    return total, unsealed


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_events_are_sealed_in_the_background_and_on_sigterm(database_url, db, make_agent, tmp_path):
    key = make_agent("bot")
    server = ServerProcess(database_url, tmp_path, workers=2).start()
    try:
        for _ in range(3):  # three failed authentications: throttled to one event
            requests.get(f"{server.url}/api/v1/capabilities", timeout=10)
        workflow = jsonl(op("t", "GetCurrentDateTime", outputPath="/workflow/now"))
        for _ in range(3):
            response = requests.post(f"{server.url}/api/v1/workflows/execute", headers=auth(key),
                                     json={"workflow": workflow}, timeout=10)
            assert response.status_code == 200, response.text
        wait_until(lambda: counts(db)[0] > 0 and counts(db)[1] == 0)  # sealed while serving
        # The last events come right before SIGTERM: sealed on the way out.
        for _ in range(5):
            requests.post(f"{server.url}/api/v1/workflows/execute", headers=auth(key),
                          json={"workflow": workflow}, timeout=10)
    finally:
        server.stop()
    total, unsealed = counts(db)
    assert total >= 16 and unsealed == 0
    report = verify(db, chain_key(SECRET))
    assert report.ok and report.checked == total
