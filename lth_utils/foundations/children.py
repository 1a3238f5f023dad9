"""Helper processes that never outlive the process that started them.

    die_with_parent()    # in a worker or server process: exit as soon as the parent is gone, however it died

A run's workers are forked from a forkserver, which the run's process starts. If that process dies without cleaning
up (SIGKILL, an out-of-memory kill, a closed terminal, a JupyterLab kernel restart), nothing would stop them: they
would train on with parent 1 and hold their memory forever. On Linux the kernel sends the child a signal when its
parent exits (prctl PR_SET_PDEATHSIG); elsewhere a watchdog thread polls the parent's pid. Whatever a killed worker
was writing was a temporary file (files.py), never a stored result, and the next holder of the level's lock sweeps it.
Importing `lth_utils.forkserver_guard` (the forkserver preloads it) applies this to the forkserver itself.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def _watchdog(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def die_with_parent() -> None:
    """Exit this process when its parent exits (SIGKILL from the kernel on Linux; a watchdog thread elsewhere)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the signal was armed
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watchdog, args=(parent,), daemon=True).start()


def ignore_interrupts() -> None:
    """Ctrl-C in a terminal reaches every process of the group; workers leave it to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
