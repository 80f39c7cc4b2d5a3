"""The agents service and the model gateway outside the hub, as in the cluster: a real
JupyterHub registers them by address (hub_config.kubernetes.merged_services), the agents
service with the token z2jh generates, the gateway with none, and both run with their
rendered environments. A person's browser signs in to the agents service through the hub,
which calls the hub's API with its token; the gateway checks a person's gateway token with
the hub."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests

from tests.deploy.chart import PROJECT, find, manifests
from tests.deploy.hub import container_environment, secret_data
from tests.hub.conftest import Browser, kill_trees
from tests.network import free_port
from tests.polling import wait_for

HUB_CONFIG = """\
# The local platform, with the agents service registered as the chart's hub registers it.
from hub_config.kubernetes import merged_services
from hub_config.platform import configure

configure(c)
c.JupyterHub.services = merged_services({z2jh!r}, c.JupyterHub.services, {urls!r})
"""


def _answers(url: str, process: subprocess.Popen) -> bool:
    assert process.poll() is None, f"{process.args[0]} exited"
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="module")
def platform(render, tmp_path_factory):
    """A hub on this machine and the agents service beside it, both started from the render."""
    tmp_path = tmp_path_factory.mktemp("platform")
    service_port, hub_port, gateway_port, no_model = free_port(), free_port(), free_port(), free_port()
    objects = manifests(render({"agentsService": {"port": service_port}, "modelGateway": {
        "port": gateway_port, "anthropic": {"existingSecret": "oh-my-agent-anthropic",
                                            "baseUrl": f"http://127.0.0.1:{no_model}"}}}))
    token = secret_data(find(objects, "Secret", "hub"))["hub.services.agents.apiToken"]
    url = f"http://127.0.0.1:{hub_port}"
    service_url = f"http://127.0.0.1:{service_port}"
    config = tmp_path / "jupyterhub_config.py"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    urls = {"agents": service_url, "model-gateway": gateway_url}
    config.write_text(HUB_CONFIG.format(z2jh=[{"name": "agents", "api_token": token}], urls=urls), encoding="utf-8")
    hub_env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "OMA_HUB_PORT": str(hub_port),
        "OMA_DATA_DIR": str(tmp_path / "hub"), "OMA_USERS_DIR": str(tmp_path / "users"),
        "OMA_ADMIN_EMAILS": "admin@example.org", "OMA_SERVICE_PORT": str(service_port),
        "OMA_HUB_INTERNAL_PORT": str(free_port()), "OMA_PROXY_API_PORT": str(free_port()),
    }
    container = find(objects, "Deployment", "agents")["spec"]["template"]["spec"]["containers"][0]
    service_env = {
        **container_environment(objects, container, secrets={}),
        # what only the cluster has: the store's volume, the hub's DNS name and public address
        "OMA_STORE_URL": f"sqlite:///{tmp_path / 'oh-my-agent.sqlite'}",
        "JUPYTERHUB_API_URL": f"{url}/hub/api", "OMA_PUBLIC_URL": url, "OMA_GROUP_SYNC_SECONDS": "0.5",
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT),
    }
    assert service_env["JUPYTERHUB_API_TOKEN"] == token
    pod = find(objects, "Deployment", "agents")["spec"]["template"]["spec"]
    gateway = next(c for c in pod["containers"] if c["name"] == "model-gateway")  # beside it: the SQLite store
    gateway_env = {
        **container_environment(objects, gateway, secrets={"oh-my-agent-anthropic": {"api-key": "sk-ant-x"}}),
        "OMA_STORE_URL": service_env["OMA_STORE_URL"], "JUPYTERHUB_API_URL": f"{url}/hub/api",
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT),
    }
    processes, logs = [], []
    try:
        for command, env, cwd in (
            ([sys.executable, "-m", "agents_extension.service"], service_env, tmp_path),
            ([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)], hub_env, tmp_path),
            ([sys.executable, "-m", "model_gateway"], gateway_env, tmp_path),
        ):
            log = open(tmp_path / f"{len(processes)}.log", "w")
            logs.append(log)
            processes.append(subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        service, hub, gateway = processes
        wait_for(lambda: _answers(f"{service_url}/services/agents/api/openapi.json", service), 30)
        wait_for(lambda: _answers(f"{url}/services/agents/api/openapi.json", hub), 60)
        wait_for(lambda: _answers(f"{gateway_url}/health", gateway), 30)
        yield SimpleNamespace(url=url, token=token, gateway_url=gateway_url)
    finally:
        tree = [psutil.Process(p.pid) for p in processes if p.poll() is None]
        tree += [child for p in tree for child in p.children(recursive=True)]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        kill_trees(tree)
        for log in logs:
            log.close()


def test_a_person_signs_in_to_the_external_service_through_the_hub(platform):
    browser = Browser(platform, "en")
    browser.get("/hub/login")
    signed_in = browser.post("/hub/login", data={"username": "ada@example.org", "password": ""}, xsrf_path="/hub/")
    assert signed_in.ok
    page = browser.get("/services/agents/beta")  # through the proxy, then OAuth with the hub, back again
    assert page.status_code == 200, page.text[:500]
    assert "/services/agents/oauth_callback" in " ".join(r.url for r in page.history)
    assert "ada@example.org" in page.text


def test_the_hub_knows_the_token_z2jh_made_as_the_agents_services(platform):
    """The token the agents Deployment reads from the hub Secret is the service's identity at the hub."""
    who = requests.get(f"{platform.url}/hub/api/user", headers={"Authorization": f"token {platform.token}"}, timeout=10)
    assert who.status_code == 200 and who.json()["kind"] == "service" and who.json()["name"] == "agents"


def test_the_gateway_registered_without_a_token_checks_a_persons_gateway_token_with_the_hub(platform):
    """A token scoped to the external gateway service alone, as the hub gives each server, is a person's
    at the gateway: refused no further than the model (unreachable here, a 502); anything else is a 401."""
    browser = Browser(platform, "en")
    browser.get("/hub/login")
    assert browser.post("/hub/login", data={"username": "bo@example.org", "password": ""}, xsrf_path="/hub/").ok
    made = browser.post("/hub/api/users/bo@example.org/tokens", xsrf_path="/hub/", as_header=True,
                        json={"scopes": ["access:services!service=model-gateway"], "note": "a server's"})
    assert made.status_code == 201, made.text

    def ask(token: str) -> requests.Response:
        return requests.post(f"{platform.gateway_url}/v1/messages", timeout=30, headers={
            "Authorization": f"Bearer {token}", "anthropic-version": "2023-06-01", "content-type": "application/json"},
            json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]})

    answer = ask(made.json()["token"])
    assert answer.status_code == 502 and "could not reach the model" in answer.json()["error"]["message"]
    assert ask("not-a-token").status_code == 401
    assert ask(platform.token).status_code == 401, "a service's token is not a person's"
