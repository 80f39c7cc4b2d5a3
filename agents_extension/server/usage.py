"""``/api/usage/me`` on the user server: the person's model spend this month (or ``?month=YYYY-MM``),
their limit, and each of their agents' spend against its own limit, as the agents service answers
it. The agents dashboard shows it on each agent's card; the server holds no store access, only its
JupyterHub token for the service, so this is the one way a user server learns what was spent."""

from __future__ import annotations

from tornado import web

from .app import AgentsAPI


class MyUsageAPI(AgentsAPI):
    service_path = "api/usage/me"

    @web.authenticated
    async def get(self) -> None:
        await self._forward(None)

    async def post(self) -> None:
        raise web.HTTPError(405)

    put = patch = delete = post
