"""The agents extension of a person's Jupyter server: the agents API (forwarded to the
agents service with this server's JupyterHub token), the agents dashboard, and one
folder and kernelspec per agent.

No store credentials live here: the server only holds the token the hub gave it,
and the service checks ownership on every request.
"""

from __future__ import annotations

from .extension import AgentsExtension


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "agents_extension.server", "app": AgentsExtension}]
