"""Reports each Claude session of an agent to the agents service: the dashboard's statistics.

Under the platform's hub, a person's server (and so its kernels) has the
service's URL and the server's own JupyterHub token in its environment; the
service checks that the agent belongs to that person. Reports go out on a
background thread so a slow service never holds up a cell, and a failed
report is logged, never shown as a failed cell.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

SERVICE_URL_ENV = "OMA_AGENTS_SERVICE_URL"
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"


@dataclass
class SessionReport:
    agent_id: str
    session_id: str
    notebook: str
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    status: str  # active, inactive (kernel gone) or closed (%new)


class UsageReporter:
    def __init__(self, service_url: str, token: str, log: logging.Logger) -> None:
        self.url = service_url.rstrip("/") + "/api/sessions"
        self.token = token
        self.log = log
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-report")

    @classmethod
    def from_environment(cls, log: logging.Logger) -> "UsageReporter | None":
        url, token = os.environ.get(SERVICE_URL_ENV, ""), os.environ.get(TOKEN_ENV, "")
        return cls(url, token, log) if url and token else None

    def report(self, report: SessionReport) -> None:
        self._pool.submit(self._send, report)

    def _send(self, report: SessionReport) -> None:
        request = urllib.request.Request(
            self.url, method="POST", data=json.dumps(report.__dict__).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                response.read()
        except urllib.error.HTTPError as err:
            self.log.warning("Usage report for session %s refused: HTTP %s %s", report.session_id, err.code,
                             err.read()[:200].decode(errors="replace"))
        except OSError as err:
            self.log.warning("Usage report for session %s not delivered: %s", report.session_id, err)

    def close(self) -> None:
        """Let queued reports go out (the last one says the kernel is gone)."""
        self._pool.shutdown(wait=True, cancel_futures=False)
