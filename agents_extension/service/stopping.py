"""How the agents service stops: on SIGTERM or SIGINT, cleanly and within a bounded time.

JupyterHub stops a managed service with SIGINT, then SIGTERM after its
``interrupt_timeout``; a service started by a script's background job inherits
SIGINT as *ignored*. Either way the service must stop at once, so it installs
its own handlers for both, whatever it inherited. Stopping means: accept no
new connections, let the requests in flight finish (up to a grace period),
stop the background loops, close the store, say so in one log line, exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from tornado import web

log = logging.getLogger("oh-my-agent.service")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ServiceApplication(web.Application):
    """A tornado Application that knows how many requests it is still serving.

    Counted from routing (``find_handler``) to the logged finish
    (``log_request``); a client that hangs up before its request body arrived
    is counted until the grace period ends, which only makes a stop wait longer.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def find_handler(self, request, **kwargs):
        """Extends Application.find_handler: a request starts being served."""
        self.in_flight += 1
        self._idle.clear()
        return super().find_handler(request, **kwargs)

    def log_request(self, handler) -> None:
        """Extends Application.log_request, called once per finished request."""
        super().log_request(handler)
        self.in_flight = max(self.in_flight - 1, 0)
        if self.in_flight == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until no request is in flight (True), or ``timeout`` seconds (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False


class StopRequest:
    """Set by SIGTERM or SIGINT; ``wait()`` returns the signal's name."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.signal_name = ""
        self.at = 0.0  # time.monotonic() when it came

    def install(self) -> None:
        """Handle both stop signals on the running loop, replacing what was inherited (even SIG_IGN)."""
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.set, sig.name)

    def set(self, name: str) -> None:
        if not self._event.is_set():
            self.signal_name = name
            self.at = time.monotonic()
            self._event.set()

    async def wait(self) -> str:
        await self._event.wait()
        return self.signal_name


async def stop_tasks(tasks: dict[str, asyncio.Task], deadline: float) -> list[str]:
    """Wait for loops that were asked to stop until ``deadline`` (monotonic); cancel the rest.

    Returns the names of the loops that had to be cancelled."""
    cancelled = []
    for name, task in tasks.items():
        remaining = max(deadline - time.monotonic(), 0.0)
        try:
            await asyncio.wait_for(asyncio.shield(task), remaining)
        except TimeoutError:
            task.cancel()
            cancelled.append(name)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("The %s loop failed while stopping", name)
    for name, task in tasks.items():
        if name in cancelled:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
    return cancelled
