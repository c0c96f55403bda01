"""A plugin that ends the process evaluating a marked request, for the tests
of ``eval --jobs`` when a worker dies (``tests/test_batch.py``).

Its check ``fatal`` is true, except for a request whose id names a way to end:
``die-exit`` calls ``os._exit(3)``, ``die-kill`` has the process killed with
SIGKILL (as the kernel's out-of-memory killer does), ``die-base`` raises a
``BaseException`` subclass (which the engine contains like any fault).  With the
environment variable ``FATAL_IMPORT_IN_WORKERS`` set, importing this module
fails in a worker process (but not in the one that reads and prints).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from typing import Any

from returnrules import Check, LineContext, hookimpl

if os.environ.get("FATAL_IMPORT_IN_WORKERS") and multiprocessing.parent_process():
    raise RuntimeError("fatal will not load in a worker")


class Doom(BaseException):
    """Not an Exception: what a careless plugin might raise to stop."""


def _fatal(ctx: LineContext, params: object) -> bool:
    way = ctx.request.id
    if way == "die-exit":
        os._exit(3)
    if way == "die-kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if way == "die-base":
        raise Doom(way)
    return True


@hookimpl
def returnrules_register_checks(register: Callable[[Check[Any]], None]) -> None:
    register(Check("fatal", _fatal))
