"""``a2e worker``: a process that runs queued (asynchronous) runs."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from a2e.cli.common import settings
from a2e.heap import freeze_startup_objects

log = logging.getLogger("a2e.worker")


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Runs this process executes at once (one thread each).")
def worker(concurrency: int) -> None:
    """Run queued runs from the database until SIGTERM or Ctrl-C.

    Any number of workers (and `a2e serve` processes, with
    queue.workers_per_server threads each) may share one database. A worker renews
    the lease of each run it holds; a run whose worker dies is resumed by another
    once its lease (queue.lease_s) expires. SIGTERM stops claiming, lets runs in
    flight finish for up to queue.lease_s seconds, then hands the rest back.
    """
    config = settings()
    from a2e.api import create_app
    from a2e.queue.worker import QueueWorker

    app = create_app(config)
    queue_worker = QueueWorker(app, concurrency, name="worker").start()
    freeze_startup_objects()
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"a2e worker {queue_worker.worker_id}: {concurrency} thread(s)", err=True)
    while not stop.wait(1.0):
        pass
    queue_worker.stop(grace_s=float(config.queue["lease_s"]))
    app.extensions["a2e"].db.dispose()


def register(cli: click.Group) -> None:
    cli.add_command(worker)
