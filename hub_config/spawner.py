"""Local user servers (one process per person) that the hub sees the moment they answer."""

from __future__ import annotations

import asyncio
import time

from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Float


class LocalSpawner(SimpleLocalProcessSpawner):
    """Each person's server as a local process, in a home folder of their own."""

    ready_check_interval = Float(
        0.05,
        config=True,
        help="Seconds between checks that a starting server answers. The hub's own check backs "
        "off to 5 s between tries, so a server that is up can wait seconds to be noticed.",
    )

    async def start(self):
        """Extends SimpleLocalProcessSpawner.start: returns only once the server answers
        (checking every ready_check_interval), so the hub's own check finds it at the first try."""
        ip, port = await super().start()
        url = f"http://{ip}:{port}{self.server.base_url}api"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if await self.poll() is not None:
                break  # the process died: the hub's own check reports it
            try:
                await client.fetch(url, request_timeout=2, follow_redirects=False)
                break
            except HTTPClientError as err:
                if err.code != 599:  # any HTTP answer means it is up
                    break
            except OSError:
                pass
            await asyncio.sleep(self.ready_check_interval)
        return ip, port

    async def wait_for_death(self, timeout=10):
        """Overrides Spawner.wait_for_death, whose checks back off to seconds apart: a server that
        stopped in half a second would keep the hub (and a platform stopping) waiting for the next one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.poll() is not None:
                return True
            await asyncio.sleep(self.death_interval)
        return False
