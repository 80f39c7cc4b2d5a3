"""The agents service stops on SIGTERM or SIGINT, even when it inherited SIGINT as ignored:
requests in flight get their answer (within the grace period), it exits 0, with one log line and no traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from aiohttp import web

from tests.hub.conftest import PROJECT
from tests.network import ThreadedApp, free_port
from tests.polling import wait_for


class SlowHub:
    """Stands in for JupyterHub's API: it takes ``delay`` seconds to say that a token is nobody's."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.asked = threading.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self.server = ThreadedApp(app, "slow-hub")
        self.port = self.server.start()

    async def _answer(self, request: web.Request) -> web.Response:
        if request.path.endswith("/groups/beta"):  # the group sync: the group exists, nobody in it
            return web.json_response({"name": "beta", "users": []}, status=409 if request.method == "POST" else 200)
        if request.path.endswith("/user"):  # who a token belongs to: nobody, after a while
            self.asked.set()
            await asyncio.sleep(self.delay)
        return web.json_response({"status": 403, "message": "Invalid token"}, status=403)


@pytest.fixture
def slow_hub():
    started = []

    def start(delay: float) -> SlowHub:
        hub = SlowHub(delay)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.server.stop()


def start_service(tmp_path: Path, hub: SlowHub, **env: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = tmp_path / "service.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "agents_extension.service"],
        env={**os.environ, "PYTHONPATH": str(PROJECT), "OMA_STORE_URL": f"sqlite:///{tmp_path / 'store.sqlite'}",
             "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub.port}/hub/api", "JUPYTERHUB_API_TOKEN": "service-token",
             "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}", "JUPYTERHUB_SERVICE_PREFIX": "/services/agents/",
             "OMA_PUBLIC_URL": "http://127.0.0.1:8000", "OMA_BETA_GROUP": "beta",  # as the hub passes them
             "OMA_GROUP_SYNC_SECONDS": "60", **env},
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as `cmd &` in a script leaves it
    )
    url = f"http://127.0.0.1:{port}/services/agents/"

    def answers() -> bool:
        try:
            return requests.get(url + "api/openapi.json", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answers, 30)
    return process, url, log


def request_in_flight(url: str, hub: SlowHub) -> tuple[threading.Thread, dict]:
    """A request the service is still working on (it waits for the hub) when the signal comes."""
    outcome: dict = {}

    def ask() -> None:
        try:
            outcome["status"] = requests.get(url + "api/me", headers={"Authorization": "token someone"}, timeout=30).status_code
        except requests.RequestException as err:
            outcome["error"] = err

    thread = threading.Thread(target=ask)
    thread.start()
    assert hub.asked.wait(10)
    return thread, outcome


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_lets_the_request_in_flight_finish_and_exits_0(sig, tmp_path, slow_hub):
    hub = slow_hub(delay=1.0)
    process, url, log = start_service(tmp_path, hub)
    thread, outcome = request_in_flight(url, hub)
    signalled = time.monotonic()
    process.send_signal(sig)
    assert process.wait(10) == 0
    thread.join(10)
    assert outcome.get("status") == 403, outcome  # answered (not signed in), not cut off
    assert time.monotonic() - signalled < 3
    text = log.read_text()
    assert f"Agents service stopped on {sig.name}" in text and "cut off" not in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "api/openapi.json", timeout=2)


def test_a_request_slower_than_the_grace_period_does_not_hold_the_stop(tmp_path, slow_hub):
    hub = slow_hub(delay=6.0)  # longer than the grace period, shorter than the fake hub's own stop
    process, url, log = start_service(tmp_path, hub, OMA_STOP_GRACE_SECONDS="1")
    thread, outcome = request_in_flight(url, hub)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert time.monotonic() - signalled < 3
    thread.join(10)
    text = log.read_text()
    assert "1 request(s) cut off" in text and "Traceback" not in text, text
