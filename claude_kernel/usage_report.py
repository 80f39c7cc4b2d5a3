"""Reports each Claude session of an agent to the agents service: the dashboard's statistics.

Under the platform's hub, a person's server (and so its kernels) has the
service's URL and the server's own JupyterHub token in its environment; the
service checks that the agent belongs to that person. Reports go out on a
background thread so a slow service never holds up a cell, and a failed
report is logged, never shown as a failed cell.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import field_validator

from oma_contract import session

SERVICE_URL_ENV = "OMA_AGENTS_SERVICE_URL"
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"


class SessionReport(session.SessionReport):
    """The contract's session report, as a kernel makes it: a notebook path the service would
    refuse is made sendable first, so a session's usage is never lost for its file's name."""

    @field_validator("notebook", mode="before")
    @classmethod
    def _sendable_path(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        # A file name that is not UTF-8 arrives as lone surrogates (os.fsdecode); control
        # characters and line breaks are legal in file names but not in the report.
        text = value.encode("utf-8", "replace").decode("utf-8")
        text = "".join("\ufffd" if ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029" else c for c in text)
        return text[-session.NOTEBOOK_MAX:]


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
            self.url, method="POST", data=report.model_dump_json().encode(),
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
