"""Several client processes against ``a2e serve --workers 4``; then the books must balance:
every 2xx execute has a finished run with all its steps, no run is left running, the
limit admitted exactly its count, and the audit chain verifies."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter

from sqlalchemy import func, select

from tests.helpers import verify_sealed
from a2e.store.models import Run, RunStep
from tests.api.workflow_helpers import jsonl, op
from tests.serving import ServerProcess

CLIENTS, EXECUTES, DAILY_LIMIT = 4, 15, 50
STEPS_PER_RUN = 3
CLIENT = textwrap.dedent("""
    import json, sys, time, requests
    url, key, client, count, workflow, start_at = sys.argv[1:7]
    time.sleep(max(0.0, float(start_at) - time.time()))
    session = requests.Session()
    outcomes = []
    for n in range(int(count)):
        execution_id = f"c{client}-{n}"
        body = {"workflow": workflow.replace("EXECUTION_ID", execution_id)}
        response = session.post(url + "/api/v1/workflows/execute", json=body,
                                headers={"X-API-Key": key}, timeout=60)
        outcomes.append([execution_id, response.status_code])
    print(json.dumps(outcomes))
""")


def test_many_clients_leave_consistent_books(database_url, make_agent, db, tmp_path):
    key = make_agent("busy")
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps({"rateLimiting": {
        "requests_per_minute": 100_000, "requests_per_hour": 100_000,
        "requests_per_day": DAILY_LIMIT, "concurrent_runs": 16,
    }}))
    workflow = jsonl(
        op("numbers", "Calculate", expression="6 * 7", outputPath="/workflow/n"),
        op("text", "FormatText", template="answer", outputPath="/workflow/t"),
        op("encoded", "EncodeDecode", inputPath="/workflow/t", action="encode",
           encoding="base64", outputPath="/workflow/e"),
        execution_id="EXECUTION_ID",
    )
    with ServerProcess(database_url, tmp_path, workers=4, env={"A2E_CONFIG": str(config)}) as server:
        start_at = str(time.time() + 1.0)
        clients = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, server.url, key.api_key, str(n), str(EXECUTES),
                 workflow, start_at],
                stdout=subprocess.PIPE, text=True,
            )
            for n in range(CLIENTS)
        ]
        outcomes = [pair for client in clients for pair in json.loads(client.communicate(timeout=120)[0])]
    statuses = Counter(status for _, status in outcomes)
    assert statuses == {200: DAILY_LIMIT, 429: CLIENTS * EXECUTES - DAILY_LIMIT}
    admitted = sorted(execution_id for execution_id, status in outcomes if status == 200)
    with db.session() as session:
        runs = session.execute(
            select(Run.execution_id, Run.status, func.count(RunStep.id))
            .join(RunStep, RunStep.run_id == Run.id, isouter=True)
            .group_by(Run.id)
        ).all()
    assert sorted(execution_id for execution_id, _, _ in runs) == admitted
    assert {status for _, status, _ in runs} == {"succeeded"}
    assert {steps for _, _, steps in runs} == {STEPS_PER_RUN}
    report = verify_sealed(db, "system-test-secret")
    assert report.ok and report.checked > DAILY_LIMIT, report
