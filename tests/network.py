"""Loopback ports for the servers tests start."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedApp:
    """An aiohttp application served on 127.0.0.1 from a daemon thread with its own event loop."""

    def __init__(self, app, name: str, **runner_options) -> None:
        self.app = app
        self.name = name
        self.runner_options = runner_options
        self.loop = None
        self.port = 0
        self._runner = None

    def start(self, port: int = 0) -> int:
        import asyncio
        import threading

        from aiohttp import web

        ready = threading.Event()

        async def serve() -> None:
            self._runner = web.AppRunner(self.app, access_log=None, **self.runner_options)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", port)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(serve())
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, name=self.name, daemon=True).start()
        ready.wait(10)
        return self.port

    def stop(self) -> None:
        import asyncio

        if self.loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
