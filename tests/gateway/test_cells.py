"""Claude cells of a person's server under the real hub, through the gateway, with the real CLI: usage
counted for the agent, limits refused in the cell before the model, and what a cell says when the
gateway goes away mid-answer or the token is no longer good."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from oma_contract.money import format_usd
from tests.fake_model import say, stall
from tests.gateway.conftest import NotebookKernel, gateway_process, in_store, month_spend
from tests.hub.conftest import ADMIN, Hub
from tests.polling import wait_for


@pytest.fixture(scope="module")
def ada(hub: Hub):
    admin = hub.token_for(hub.sign_in(ADMIN))
    email, token = hub.person_with_server(admin, "ada")
    yield email, token
    hub.api(admin, "DELETE", f"/hub/api/users/{email}/server")


@pytest.fixture(scope="module")
def agent(hub: Hub, ada):
    email, token = ada
    made = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "Scout"})
    assert made.status_code == 201, made.text
    return made.json()


@pytest.fixture
def kernel_of(hub: Hub, ada):
    started: list[NotebookKernel] = []

    def start(kernel_name: str = "claude") -> NotebookKernel:
        kernel = NotebookKernel(hub, ada[1], ada[0], kernel_name)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        kernel.stop()


def test_an_agents_cell_is_counted_for_the_person_and_the_agent(hub, ada, agent, model, kernel_of):
    email, _ = ada
    before = month_spend(hub, email)
    model.script(say("Counted.", input_tokens=500, output_tokens=50))
    cell = kernel_of(f"claude-{agent['slug']}").run("Count this")
    assert cell.status == "ok", cell.shown
    assert "Counted." in cell.text
    assert all("x-oma-agent" not in seen for seen in model.headers)  # the attribution stays at the gateway
    spend = wait_for(lambda: (s := month_spend(hub, email)).agents.get(agent["id"]) and s, 15)
    assert spend.total.requests > before.total.requests
    assert spend.agents[agent["id"]].input_tokens >= 500 and spend.agents[agent["id"]].output_tokens >= 50


def test_the_footer_shows_the_months_spend_the_store_holds_against_the_limits(hub, ada, agent, model, kernel_of):
    email, _ = ada

    async def set_limits(store, person_limit, agent_limit):
        await store.set_person_limit(email, person_limit)
        await store.update_agent(agent["id"], {"monthly_limit_usd": agent_limit})

    in_store(hub, lambda store: set_limits(store, 20.0, 5.0))
    try:
        model.script(say("Priced.", input_tokens=4000, output_tokens=300))
        cell = kernel_of(f"claude-{agent['slug']}").run("What does this cost")
        assert cell.status == "ok", cell.shown
        footer = next(text for text in cell.texts if " in / " in text and " out tokens" in text)
        # the store after the turn: the figures the dashboard and the Usage page show
        spend = wait_for(lambda: (s := month_spend(hub, email)).agents.get(agent["id"]) and s, 15)
        assert f"· this month {format_usd(spend.total.cost_usd)} of $20.00" in footer, footer
        assert f"· this agent {format_usd(spend.agents[agent['id']].cost_usd)} of $5.00" in footer, footer
        assert spend.total.cost_usd > 0

        in_store(hub, lambda store: set_limits(store, None, None))
        model.script(say("Unlimited."))
        plain = kernel_of().run("And without an agent")
        assert plain.status == "ok", plain.shown
        footer = next(text for text in plain.texts if " out tokens" in text)
        total = wait_for(lambda: (s := month_spend(hub, email)).total.requests > spend.total.requests and s, 15).total
        assert footer.endswith(f" s · this month {format_usd(total.cost_usd)}"), footer  # no limit, no agent part
    finally:
        in_store(hub, lambda store: set_limits(store, None, None))


@pytest.mark.parametrize("limit", ["person", "agent", "hub"])
def test_a_used_up_limit_is_refused_in_the_cell_before_the_model(hub, ada, agent, model, kernel_of, limit):
    email, _ = ada

    async def set_limit(store, value):
        if limit == "person":
            await store.set_person_limit(email, value)
        elif limit == "hub":  # the whole hub's, set by admins
            await store.set_hub_limit(value)
        else:
            await store.update_agent(agent["id"], {"monthly_limit_usd": value})

    in_store(hub, lambda store: set_limit(store, 0.0))
    try:
        model.reset()
        started = time.monotonic()
        cell = kernel_of(f"claude-{agent['slug']}").run("Spend more")
        assert cell.status == "error"
        assert cell.error["ename"] == "ModelRequestRefused", cell.shown
        said = cell.error["evalue"]
        if limit == "person":
            assert "of your $0.00 monthly limit" in said and "an admin can raise it on the usage page" in said.lower()
        elif limit == "hub":
            assert "This hub has used" in said and "of its $0.00 monthly limit" in said \
                and "an admin can raise it on the usage page" in said.lower()
        else:
            assert "This agent has used" in said and "$0.00 monthly limit" in said and "its owner" in said.lower()
        assert model.requests == []  # refused before the model
        assert time.monotonic() - started < 30  # refused once, not retried with growing delays
    finally:
        in_store(hub, lambda store: set_limit(store, None))


def test_a_model_the_hub_does_not_allow_is_refused_in_the_cell_before_the_model(hub, ada, model, kernel_of):
    kernel = kernel_of()
    switched = kernel.run("%model claude-3-opus-20240229")
    assert switched.status == "ok", switched.shown
    model.reset()
    cell = kernel.run("Answer with an old model")
    assert cell.status == "error", cell.shown
    assert cell.error["ename"] == "ModelRequestRefused", cell.shown
    said = cell.error["evalue"]
    assert "The model 'claude-3-opus-20240229' is not one this hub allows" in said, said
    assert "Allowed models: claude-sonnet-4-5" in said
    assert model.requests == []


def test_the_gateway_restarted_mid_answer_ends_that_cell_with_an_error_and_the_next_cell_works(hub, ada, model, kernel_of):
    kernel = kernel_of()
    assert kernel.run("Warm up").status == "ok"
    model.reset()
    model.script(stall("Half an"))
    result = {}
    runner = threading.Thread(target=lambda: result.update(cell=kernel.run("A long answer", timeout=240)))
    runner.start()
    wait_for(lambda: model.requests, 60)
    time.sleep(0.5)
    old = gateway_process(hub)
    old.send_signal(signal.SIGKILL)
    model.release_stalls()
    runner.join(240)
    cell = result["cell"]
    assert cell.status == "error", cell.shown
    # the hub starts its service again (it polls its services' processes)
    wait_for(lambda: (new := gateway_process_or_none(hub)) and new.pid != old.pid, 90)
    model.reset()
    model.script(say("Back again."))
    after = wait_for(lambda: (c := kernel.run("Again")).status == "ok" and c, 120, interval=1)
    assert "Back again." in after.text


def gateway_process_or_none(hub):
    try:
        return gateway_process(hub)
    except AssertionError:
        return None


def test_a_revoked_token_is_explained_in_the_cell(hub, ada, model, kernel_of):
    email, token = ada
    tokens = hub.api(token, "GET", f"/hub/api/users/{email}/tokens").json()["api_tokens"]
    for made in tokens:
        if made["note"].startswith("model gateway, for the server"):
            assert hub.api(token, "DELETE", f"/hub/api/users/{email}/tokens/{made['id']}").status_code == 204
    model.reset()
    cell = kernel_of().run("Hello")
    assert cell.status == "error"
    assert cell.error["ename"] == "CredentialsRejected", cell.shown
    assert "restart" in cell.error["evalue"] or "stop and start your server" in cell.error["evalue"]
    assert model.requests == []
