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


def current_owner() -> Owner:
    """Computed per call: gunicorn forks workers after the app module is imported."""
    return Owner(host=socket.gethostname(), pid=os.getpid(), boot_id=boot_id())


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
