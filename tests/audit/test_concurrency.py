"""Four real processes writing events and sealing at once leave one unbroken chain."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from a2e.audit import AuditLog, Sealer, chain_key, verify
from a2e.store.models import AuditEvent
from a2e.store.session import Database
from tests.conftest import SECRET

PROCESSES = 4
EVENTS_EACH = 60


def _writer(url: str, worker: int, start: multiprocessing.synchronize.Event) -> None:
    db = Database.from_url(url, busy_timeout_ms=30_000)
    log = AuditLog(db)
    sealer = Sealer(db, chain_key(SECRET), batch=7)
    start.wait(timeout=30)
    for n in range(EVENTS_EACH):
        log.append(action="workflow.execute", outcome="accepted", actor=f"agent:w{worker}",
                   agent_id=None, target=f"w{worker}-{n}", request_id=None, client_ip=None,
                   details={"worker": worker, "n": n})
        if n % 5 == worker % 5:
            sealer.seal_pending()  # every process seals too, racing the others
    db.dispose()


def test_parallel_writers_and_sealers_make_one_chain(db, database_url):
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_writer, args=(database_url, w, start)) for w in range(PROCESSES)]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(timeout=120)
    assert [process.exitcode for process in workers] == [0] * PROCESSES

    key = chain_key(SECRET)
    Sealer(db, key).seal_pending(wait=True)
    total = PROCESSES * EVENTS_EACH
    with db.session() as session:
        seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        distinct_prev = session.scalar(select(func.count(func.distinct(AuditEvent.prev_hash))))
        targets = set(session.scalars(select(AuditEvent.target)))
    assert seqs == list(range(1, total + 1))
    assert distinct_prev == total  # no two rows claim the same predecessor: no fork
    assert targets == {f"w{w}-{n}" for w in range(PROCESSES) for n in range(EVENTS_EACH)}
    report = verify(db, key)
    assert report.ok and report.checked == total
