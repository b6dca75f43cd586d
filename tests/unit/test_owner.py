"""Who owns a run (``a2e.store.owner``): this process, looked up once, and a forked
child's own pid, never its parent's."""

from __future__ import annotations

import multiprocessing
import os
import socket

from a2e.store.owner import current_owner


def _report(out) -> None:
    out.put((current_owner().pid, os.getpid()))


def test_the_owner_is_this_process_looked_up_once() -> None:
    owner = current_owner()
    assert (owner.host, owner.pid) == (socket.gethostname(), os.getpid())
    assert current_owner() is owner


def test_a_forked_child_is_its_own_owner() -> None:
    parent = current_owner()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_report, args=(out,))
    child.start()
    owner_pid, child_pid = out.get(timeout=30)
    child.join(30)
    assert owner_pid == child_pid != parent.pid
    assert current_owner() is parent
