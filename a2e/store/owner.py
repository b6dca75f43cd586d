"""Who owns a run: this host, this process, this boot of the machine."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    boot_id: str


@cache
def boot_id() -> str:
    try:
        return BOOT_ID_FILE.read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"


_owner: Owner | None = None


def current_owner() -> Owner:
    """This process: looked up on its first call (a host name changed later is not seen),
    and again in a forked child (gunicorn forks workers after this module is imported)."""
    global _owner
    if _owner is None:
        _owner = Owner(host=socket.gethostname(), pid=os.getpid(), boot_id=boot_id())
    return _owner


def _forget_owner() -> None:
    global _owner
    _owner = None


os.register_at_fork(after_in_child=_forget_owner)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running (a zombie, killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc: trust the signal check
    state = stat.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"])
