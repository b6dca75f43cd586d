"""Asynchronous runs: queued in their run row, claimed by workers, resumed after a crash.

- :mod:`a2e.queue.control` — a run's stop signal and the clock whose sleeps it interrupts,
- :mod:`a2e.queue.journal` — replay of recorded steps and the in-flight rules of a resume,
- :mod:`a2e.queue.worker` — the worker (``a2e worker`` and ``queue.workers_per_server``),
- :mod:`a2e.queue.webhooks` — signed callbacks, sent and retried off the workers.

docs/async-runs.md describes the behaviour.
"""
