"""How the platform's processes end: without the interpreter's last garbage collection.

At exit CPython collects every object still alive, one by one. In processes the
size of the hub, a user server or the agents service that takes 0.3-0.9 s on a
2-core machine, paid at every stop and one after the other when the platform
stops (the hub waits for each service, then each server). Nothing of ours needs
a cycle collected at exit: stores close and files are flushed by their owners
before, and logging flushes its handlers from an atexit hook of its own, which
runs after this one (atexit runs the latest first). ``gc.freeze()`` moves every
object to the permanent generation, which that last collection leaves alone.
"""

from __future__ import annotations

import atexit
import gc


def end_without_final_collection() -> None:
    """Called once at a process's start (its entry point)."""
    atexit.register(gc.freeze)
