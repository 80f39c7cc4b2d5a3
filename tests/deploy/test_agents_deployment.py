"""The agents service started with the environment its Deployment gives it, as rendered."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests

from tests.deploy.chart import PROJECT, find, manifests
from tests.deploy.hub import container_environment
from tests.network import free_port
from tests.polling import wait_for


def test_the_rendered_environment_starts_the_service_on_every_interface_and_it_stops_in_its_grace(render, tmp_path):
    port = free_port()
    objects = manifests(render({"agentsService": {"port": port}}))
    pod = find(objects, "Deployment", "agents")["spec"]["template"]["spec"]
    # (with the SQLite store of the default values the model gateway runs beside it)
    container = next(c for c in pod["containers"] if c["name"] == "agents")
    env = container_environment(objects, container, secrets={})
    assert env["JUPYTERHUB_SERVICE_URL"] == f"http://0.0.0.0:{port}"
    # What only the cluster has: the store's volume, and the hub (not needed to start).
    env["OMA_STORE_URL"] = f"sqlite:///{tmp_path / 'oh-my-agent.sqlite'}"
    env["JUPYTERHUB_API_URL"] = f"http://127.0.0.1:{free_port()}/hub/api"
    assert container["command"] == ["python3", "-m", "agents_extension.service"]
    service = subprocess.Popen(
        [sys.executable, "-m", "agents_extension.service"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        probe = container["readinessProbe"]["httpGet"]["path"]

        def ready():
            try:
                return requests.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code == 200
            except requests.ConnectionError:
                assert service.poll() is None, service.stdout.read()
                return False

        wait_for(ready, timeout=30)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=pod["terminationGracePeriodSeconds"]) == 0
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        service.stdout.close()
