"""A Claude cell of a person's server goes through the model gateway: streamed as it is written, with
the platform's key added by the gateway and never seen by the server, its kernel or Claude Code."""

from __future__ import annotations

import psutil
import pytest

from tests.fake_model import say
from tests.gateway.conftest import NotebookKernel, gateway_process, processes_named
from tests.hub.conftest import Hub

MODEL_KEY = "sk-ant-test-key"  # what tests/fake_model.py gives the hub as ANTHROPIC_API_KEY


@pytest.fixture(scope="module")
def ada(hub: Hub, admin_token):
    email, token = hub.person_with_server(admin_token, "ada")
    yield email, token
    hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server")


def test_a_cell_streams_through_the_gateway_and_only_the_gateway_has_the_key(hub, ada, model):
    email, token = ada
    model.script(say("Hello from the model, through the gateway.", chunk=5, delay=0.01))
    kernel = NotebookKernel(hub, token, email)
    try:
        cell = kernel.run("Say hello")
        assert cell.status == "ok", cell.shown
        assert "Hello from the model, through the gateway." in cell.text
        # the model got the platform's key, and the person's gateway token went no further than the gateway
        assert model.headers, "no request reached the model"
        seen = model.headers[-1]
        assert seen.get("x-api-key") == MODEL_KEY
        assert "authorization" not in seen and "x-oma-agent" not in seen

        gateway = gateway_process(hub)
        assert gateway.environ().get("ANTHROPIC_API_KEY") == MODEL_KEY
        servers = processes_named(hub, "agents_extension.user_server")
        kernels = processes_named(hub, "claude_kernel")
        clis = [p for p in processes_named(hub, "claude") if "--output-format" in " ".join(p.cmdline())]
        assert servers and kernels and clis
        for process in [*servers, *kernels, *clis]:
            environ = process.environ()
            held = {name: value for name, value in environ.items() if MODEL_KEY in value}
            assert held == {}, f"{process.cmdline()[:3]} holds the model key in {sorted(held)}"
            assert environ.get("ANTHROPIC_BASE_URL") == f"http://127.0.0.1:{hub.env['OMA_GATEWAY_PORT']}"
            assert environ.get("ANTHROPIC_AUTH_TOKEN")
            assert "ANTHROPIC_API_KEY" not in environ
    finally:
        kernel.stop()


def test_a_servers_gateway_token_is_good_while_it_runs_and_refused_once_it_stopped(hub, admin_token, model):
    """The token the hub gave the server at its start, read from the running server itself, is refused by the
    gateway as soon as the server has stopped (the hub revokes it then), and no other of the person's tokens
    for the gateway is left behind."""
    from hub_config.gateway import TOKEN_NOTE
    from tests.gateway.test_requests import post

    def gateway_tokens() -> list[str]:
        listed = hub.api(token, "GET", f"/hub/api/users/{email}/tokens").json()["api_tokens"]
        return [t["note"] for t in listed if t["note"].startswith(TOKEN_NOTE)]

    email, token = hub.person_with_server(admin_token, "ben")
    assert len(gateway_tokens()) == 1
    servers = [p for p in processes_named(hub, "agents_extension.user_server")  # the server, not its bwraps
               if p.name() != "bwrap" and p.environ().get("JUPYTERHUB_USER") == email]
    assert len(servers) == 1, servers
    server_token = servers[0].environ()["ANTHROPIC_AUTH_TOKEN"]
    model.script(say("Fine."))
    assert post(hub, server_token).status_code == 200
    hub.stop_server(token, email)
    answer = post(hub, server_token)
    assert answer.status_code == 401, answer.text
    assert gateway_tokens() == []
