"""The gateway under a real hub, called as Claude Code calls it: who may use it, for which agent, what
reaches the model, what is recorded, and what the model's errors become."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import requests

from tests.fake_model import fail, hold, say, stall
from tests.gateway.conftest import (ALLOWED_MODELS, BUDGET_CACHE_SECONDS, gateway_token, gateway_url, in_store,
                                   month_spend)
from tests.hub.conftest import ADMIN, SERVICE, Hub, person
from tests.network import free_port
from tests.polling import wait_for

MODEL_KEY = "sk-ant-test-key"
BODY = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 100, "stream": True,
        "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="module")
def people(hub: Hub):
    """Two approved people (no servers needed: a gateway token is made through the REST API):
    (email, their own token, a gateway token) each."""
    admin = hub.token_for(hub.sign_in(ADMIN))
    found = []
    for name in ("ada", "bo"):
        email = person(name)
        own = hub.token_for(hub.sign_in(email))
        hub.api(own, "POST", SERVICE + "api/beta/applications", json={"name": name, "purpose": "tests"})
        decided = hub.api(admin, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "approve"})
        assert decided.status_code == 200, decided.text
        found.append((email, own, gateway_token(hub, own, email)))
    return found


def post(hub: Hub, token: str | None, body=None, *, path="/v1/messages", headers=None, stream=False):
    sent = {"anthropic-version": "2023-06-01", **({"Authorization": f"Bearer {token}"} if token else {}),
            **(headers or {})}
    return requests.post(gateway_url(hub) + path, data=json.dumps(BODY if body is None else body),
                         headers={"content-type": "application/json", **sent}, timeout=30, stream=stream)


def outcomes(hub: Hub, email: str) -> list[tuple[str, int, int]]:
    """How each of the person's requests ended, with its input and output tokens, as the store holds them."""
    with sqlite3.connect(f"{hub.env['OMA_DATA_DIR']}/oh-my-agent.sqlite") as db:
        return db.execute("SELECT outcome, input_tokens, output_tokens FROM usage_requests WHERE person = ? "
                          "ORDER BY at", (email,)).fetchall()


def agent_of(hub: Hub, token: str, name: str) -> str:
    made = hub.api(token, "POST", SERVICE + "api/agents", json={"name": name})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_the_model_gets_the_platform_key_and_the_clients_version_and_betas_unchanged(hub, people, model):
    email, _, token = people[0]
    model.script(say("Hi there."))
    answer = post(hub, token, headers={"anthropic-beta": "interleaved-thinking-2025-05-14,context-1m-2025-08-07"},
                  path="/v1/messages?beta=true")
    assert answer.status_code == 200, answer.text
    assert "Hi there." in "".join(json.loads(line[5:])["delta"]["text"] for line in answer.text.splitlines()
                                  if line.startswith("data:") and "text_delta" in line)
    seen = model.headers[-1]
    assert seen["x-api-key"] == MODEL_KEY and "authorization" not in seen
    assert seen["anthropic-version"] == "2023-06-01"
    assert seen["anthropic-beta"] == "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
    assert model.paths[-1] == "/v1/messages?beta=true"


def test_a_whole_answer_and_count_tokens_pass_through(hub, people, model):
    _, _, token = people[0]
    model.script(say("Whole."))
    whole = post(hub, token, {**BODY, "stream": False})
    assert whole.status_code == 200 and whole.json()["content"][0]["text"] == "Whole."
    counted = post(hub, token, {"model": BODY["model"], "messages": BODY["messages"]}, path="/v1/messages/count_tokens")
    assert counted.status_code == 200 and counted.json() == {"input_tokens": 10}


@pytest.mark.parametrize("credentials", ["none", "unknown", "own token without the gateway scope", "a service's"])
def test_a_request_without_a_gateway_token_of_a_person_is_refused_with_401(hub, people, model, credentials):
    email, own, _ = people[0]
    token = {"none": None, "unknown": "not-a-token", "own token without the gateway scope": None,
             "a service's": hub.env.get("JUPYTERHUB_API_TOKEN")}[credentials]
    if credentials == "own token without the gateway scope":
        made = hub.api(own, "POST", f"/hub/api/users/{email}/tokens", json={"scopes": ["read:users:name!user"]})
        token = made.json()["token"]
    before = len(model.requests)
    answer = post(hub, token)
    assert answer.status_code == 401, answer.text
    error = answer.json()
    assert error["type"] == "error" and error["error"]["type"] == "authentication_error"
    assert "server" in error["error"]["message"]
    assert len(model.requests) == before


def test_a_revoked_token_is_refused_at_once(hub, people, model):
    email, own, _ = people[1]
    token = gateway_token(hub, own, email, note="to revoke")
    model.script(say("Fine."))
    assert post(hub, token).status_code == 200
    tokens = hub.api(own, "GET", f"/hub/api/users/{email}/tokens").json()["api_tokens"]
    made = next(made for made in tokens if made["note"] == "to revoke")
    assert hub.api(own, "DELETE", f"/hub/api/users/{email}/tokens/{made['id']}").status_code == 204
    answer = post(hub, token)
    assert answer.status_code == 401 and "revoked" in answer.json()["error"]["message"]


def test_usage_is_recorded_per_person_and_per_own_agent(hub, people, model):
    email, own, token = people[1]
    agent_id = agent_of(hub, own, "Counter")
    before = month_spend(hub, email).total
    model.script(say("One.", input_tokens=1000, output_tokens=200), say("Two.", input_tokens=1000, output_tokens=200))
    assert post(hub, token, headers={"X-OMA-Agent": agent_id}).status_code == 200
    assert post(hub, token).status_code == 200
    # sonnet 4.5: $3 in, $15 out per million tokens
    each = (1000 * 3 + 200 * 15) / 1_000_000
    spend = wait_for(lambda: (s := month_spend(hub, email)).total.requests >= before.requests + 2 and s, 10)
    total = spend.total
    assert (total.requests - before.requests, total.input_tokens - before.input_tokens,
            total.output_tokens - before.output_tokens) == (2, 2000, 400)
    assert total.cost_usd - before.cost_usd == pytest.approx(2 * each)
    assert list(spend.agents) == [agent_id]
    assert spend.agents[agent_id].requests == 1 and spend.agents[agent_id].cost_usd == pytest.approx(each)


def test_someone_elses_agent_is_refused_and_reaches_no_model(hub, people, model):
    ada, ada_own, _ = people[0]
    bo, _, bo_token = people[1]
    adas_agent = agent_of(hub, ada_own, "Ada's own")
    before = len(model.requests)
    for forged in (adas_agent, "no-such-agent"):
        answer = post(hub, bo_token, headers={"X-OMA-Agent": forged})
        assert answer.status_code == 403, answer.text
        message = answer.json()["error"]["message"]
        assert f"The agent '{forged}' is not one of yours ({bo})" in message and ada not in message
        assert answer.headers["x-should-retry"] == "false"
    assert len(model.requests) == before


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("asked", ["claude-3-opus-20240229", "claude-sonnet-4-5-preview", "claude-haiku-4-50"])
def test_a_model_outside_the_allow_list_is_refused_by_name_and_reaches_no_model(hub, people, model, path, asked):
    _, _, token = people[0]
    before = len(model.requests)
    answer = post(hub, token, {**BODY, "model": asked}, path=path)
    assert answer.status_code == 400, answer.text
    assert answer.headers["x-should-retry"] == "false"  # Claude Code gives up at once and shows the message
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert f"The model '{asked}' is not one this hub allows. Allowed models: {', '.join(ALLOWED_MODELS)}" \
        in error["message"]
    assert "OMA_MODELS" in error["message"]
    assert len(model.requests) == before


def test_a_dated_version_of_an_allowed_model_is_allowed(hub, people, model):
    _, _, token = people[0]
    model.script(say("Dated."), say("At Vertex's."))
    for dated in ("claude-haiku-4-5-20251001", "claude-haiku-4-5@20251001"):
        answer = post(hub, token, {**BODY, "model": dated, "stream": False})
        assert answer.status_code == 200, answer.text
    assert [request["model"] for request in model.requests[-2:]] == ["claude-haiku-4-5-20251001",
                                                                     "claude-haiku-4-5@20251001"]


def test_the_callers_month_is_what_the_store_holds_for_them_and_their_own_agent_only(hub, people, model):
    ada, ada_own, ada_token = people[0]
    _, _, bo_token = people[1]
    agent_id = agent_of(hub, ada_own, "Spender")
    model.script(say("Spent.", input_tokens=2000, output_tokens=100))
    assert post(hub, ada_token, headers={"X-OMA-Agent": agent_id}).status_code == 200
    url = gateway_url(hub) + "/v1/oma/spend"
    answer = requests.get(url, headers={"Authorization": f"Bearer {ada_token}", "X-OMA-Agent": agent_id}, timeout=10)
    assert answer.status_code == 200, answer.text
    standing = answer.json()
    spend = month_spend(hub, ada)
    assert (standing["person"], standing["spent_usd"]) == (ada, spend.total.cost_usd)
    assert standing["agent"] == {"agent_id": agent_id, "spent_usd": spend.agents[agent_id].cost_usd, "limit_usd": None}
    assert standing["limit_usd"] is None and standing["limit_source"] == "none"

    refused = requests.get(url, headers={"Authorization": f"Bearer {bo_token}", "X-OMA-Agent": agent_id}, timeout=10)
    assert refused.status_code == 403 and "is not one of yours" in refused.json()["error"]["message"]
    assert requests.get(url, timeout=10).status_code == 401


def test_what_another_replica_records_counts_against_the_limit_after_the_cache_time(hub, model):
    from datetime import datetime, timezone

    from oma_contract.usage import UsageRecord

    email = person("eve")
    own = hub.token_for(hub.sign_in(email))
    token = gateway_token(hub, own, email)
    in_store(hub, lambda store: store.set_person_limit(email, 1.0))
    time.sleep(BUDGET_CACHE_SECONDS)  # whatever this gateway kept of eve's month is old now
    model.script(say("Within the limit."))
    assert post(hub, token).status_code == 200
    # another replica of the gateway records $2 of eve's straight into the store
    elsewhere = UsageRecord(request_id="another-replica-1", person=email, model="claude-sonnet-4-5", cost_usd=2.0,
                            at=datetime.now(timezone.utc))
    assert in_store(hub, lambda store: store.record_usage(elsewhere))
    time.sleep(BUDGET_CACHE_SECONDS)
    before = len(model.requests)
    answer = post(hub, token)
    assert answer.status_code == 400, answer.text
    assert "Monthly limit reached: You have used $2.00 of your $1.00 monthly limit" in answer.json()["error"]["message"]
    assert len(model.requests) == before


def test_a_client_gone_mid_stream_is_still_recorded(hub, model):
    email = person("cy")
    own = hub.token_for(hub.sign_in(email))
    token = gateway_token(hub, own, email)
    model.script(stall("Half an answer"))
    answer = post(hub, token, stream=True)
    assert answer.status_code == 200
    first = next(answer.iter_content(chunk_size=None))
    assert b"message_start" in first
    answer.close()  # the person stopped the cell
    spend = wait_for(lambda: (s := month_spend(hub, email)).total.requests >= 1 and s, 15)
    assert spend.total.requests == 1 and spend.total.input_tokens == 12
    model.release_stalls()


@pytest.mark.parametrize("status", [429, 500, 529])
def test_the_models_errors_pass_through_as_they_came(hub, people, model, status):
    _, _, token = people[0]
    model.script(fail(status))
    answer = post(hub, token)
    assert answer.status_code == status
    assert answer.json()["error"]["type"] == {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[status]


def test_metrics_need_a_monitoring_token(hub, people, model):
    _, own, token = people[0]
    url = gateway_url(hub) + "/metrics"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 403
    assert requests.get(url, headers={"Authorization": f"token {own}"}, timeout=10).status_code == 403
    admin = hub.token_for(hub.sign_in(ADMIN))
    page = requests.get(url, headers={"Authorization": f"token {admin}"}, timeout=10)
    assert page.status_code == 200, page.text
    for name in ("oma_gateway_requests_total", "oma_gateway_tokens_total", "oma_gateway_cost_usd_total",
                 "oma_gateway_refusals_total", "oma_gateway_upstream_errors_total",
                 "oma_gateway_first_byte_seconds_bucket", "oma_gateway_request_seconds_bucket"):
        assert name in page.text, name
    assert "@example.org" not in page.text  # figures per model, never per person


@contextmanager
def another_gateway(hub, **environment: str):
    """A second gateway process beside the hub's, as the hub starts it (its environment: the same store, hub
    and model, but for ``environment``), on a port of its own; its URL."""
    from tests.gateway.conftest import gateway_process

    port = free_port()
    env = {**gateway_process(hub).environ(), **environment, "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen([sys.executable, "-m", "model_gateway"], env=env, cwd=hub.env["OMA_DATA_DIR"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready():
        assert process.poll() is None, "the second gateway exited"
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(ready, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def second_gateway(hub):
    """Another replica of the hub's gateway."""
    with another_gateway(hub) as url:
        yield url


def test_two_replicas_share_usage_and_budgets_through_the_store(hub, model, second_gateway):
    """The cluster's claim: several gateway replicas behind one Service are one gateway to people."""
    email = person("fay")
    own = hub.token_for(hub.sign_in(email))
    token = gateway_token(hub, own, email)
    replicas = [gateway_url(hub), second_gateway]

    def ask(url: str) -> requests.Response:
        return requests.post(url + "/v1/messages", data=json.dumps(BODY), timeout=30, headers={
            "content-type": "application/json", "anthropic-version": "2023-06-01", "Authorization": f"Bearer {token}"})

    each = (1000 * 3 + 200 * 15) / 1_000_000  # sonnet 4.5: $3 in, $15 out per million tokens
    in_store(hub, lambda store: store.set_person_limit(email, 2.5 * each))
    try:
        for url in replicas:  # one request through each, both under the limit
            model.script(say("Counted.", input_tokens=1000, output_tokens=200))
            assert ask(url).status_code == 200
        spend = wait_for(lambda: (s := month_spend(hub, email)).total.requests >= 2 and s, 10)
        assert spend.total.requests == 2 and spend.total.cost_usd == pytest.approx(2 * each)
        model.script(say("The last one.", input_tokens=1000, output_tokens=200))
        assert ask(replicas[1]).status_code == 200  # the limit reached through the second replica
        wait_for(lambda: month_spend(hub, email).total.requests >= 3, 10)
        # (a refusal is a falsy Response: kept in a tuple; a short cache of the spend would be waited out)
        (refused,) = wait_for(lambda: (answer := ask(replicas[0])).status_code == 400 and (answer,), 15)
        assert "Monthly limit reached" in refused.json()["error"]["message"]
        before = len(model.requests)
        assert [ask(url).status_code for url in replicas] == [400, 400]
        assert len(model.requests) == before, "refused before the model, by both"
    finally:
        in_store(hub, lambda store: store.clear_person_limit(email))


def test_an_unreachable_model_is_a_502_that_says_so(start_hub):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    hub = start_hub(ANTHROPIC_BASE_URL=f"http://127.0.0.1:{dead}")
    email = person("dee")
    own = hub.token_for(hub.sign_in(email))
    started = time.monotonic()
    answer = post(hub, gateway_token(hub, own, email))
    assert answer.status_code == 502
    assert "could not reach the model" in answer.json()["error"]["message"]
    assert time.monotonic() - started < 15


def test_a_compressed_answer_is_metered_as_it_was_sent(hub, model):
    """A model may gzip what a request lets it: the gateway asks for the answer uncompressed, whatever the
    client accepts, so the meter reads the tokens the model wrote."""
    email = person("gus")
    own = hub.token_for(hub.sign_in(email))
    token = gateway_token(hub, own, email)
    model.gzip_when_accepted = True
    model.script(say("Streamed.", input_tokens=1000, output_tokens=200), say("Whole.", input_tokens=1000,
                                                                              output_tokens=200))
    gzip = {"Accept-Encoding": "gzip, deflate"}  # the client would take it compressed
    streamed = post(hub, token, headers=gzip)
    assert streamed.status_code == 200 and "event: message_stop" in streamed.text
    whole = post(hub, token, {**BODY, "stream": False}, headers=gzip)
    assert whole.status_code == 200 and whole.json()["content"][0]["text"] == "Whole."
    spend = wait_for(lambda: (s := month_spend(hub, email)).total.requests >= 2 and s, 10)
    each = (1000 * 3 + 200 * 15) / 1_000_000  # sonnet 4.5: $3 in, $15 out per million tokens
    assert (spend.total.input_tokens, spend.total.output_tokens) == (2000, 400)
    assert spend.total.cost_usd == pytest.approx(2 * each)
    assert outcomes(hub, email) == [("complete", 1000, 200)] * 2
    assert [seen["accept-encoding"] for seen in model.headers[-2:]] == ["identity", "identity"]


def test_a_store_that_cannot_be_read_is_a_503_that_says_so(hub, people, model, tmp_path):
    """The checks before a request read the store (whose agent, the month's spend): when it cannot be read,
    the cell shows what to do, never aiohttp's bare 500."""
    email, own, token = people[0]
    agent_id = agent_of(hub, own, "Unchecked")
    store = tmp_path / "unreadable.sqlite"
    with another_gateway(hub, OMA_STORE_URL=f"sqlite:///{store}") as url:
        with sqlite3.connect(store) as db:  # the gateway opened it; now nothing in it can be read
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                db.execute(f"DROP TABLE {table}")
        before = len(model.requests)
        for headers in ({"X-OMA-Agent": agent_id}, {}):  # the agent's owner, then the month's spend
            answer = requests.post(url + "/v1/messages", data=json.dumps(BODY), timeout=30, headers={
                "content-type": "application/json", "anthropic-version": "2023-06-01",
                "Authorization": f"Bearer {token}", **headers})
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"].startswith("application/json")
            error = answer.json()
            assert error["type"] == "error" and error["error"]["type"] == "api_error"
            assert "could not read the platform's store" in error["error"]["message"]
            assert "Run the cell again in a moment; if it goes on, tell the hub's admins" in error["error"]["message"]
        assert len(model.requests) == before
        admin = hub.token_for(hub.sign_in(ADMIN))
        page = requests.get(url + "/metrics", headers={"Authorization": f"token {admin}"}, timeout=10).text
        assert 'oma_gateway_refusals_total{reason="store_unavailable"} 2.0' in page


def test_a_client_gone_before_a_whole_answer_is_still_recorded(hub, model):
    email = person("di")
    own = hub.token_for(hub.sign_in(email))
    token = gateway_token(hub, own, email)
    model.script(hold("Too late."))
    with pytest.raises(requests.ReadTimeout):  # the person stopped the cell before the model answered
        requests.post(gateway_url(hub) + "/v1/messages", data=json.dumps({**BODY, "stream": False}), timeout=2,
                      headers={"content-type": "application/json", "anthropic-version": "2023-06-01",
                               "Authorization": f"Bearer {token}"})
    try:
        assert wait_for(lambda: outcomes(hub, email), 15) == [("client_disconnected", 0, 0)]
    finally:
        model.release_stalls()


def test_usage_the_store_could_not_take_at_once_is_recorded_once_it_is_back(hub, model, tmp_path):
    """A request's cost is money spent: a store away for seconds (a failover) loses no record, and the record
    counts once."""
    email = person("gil")
    own = hub.token_for(hub.sign_in(email))
    token = gateway_token(hub, own, email)
    store = tmp_path / "away.sqlite"
    with another_gateway(hub, OMA_STORE_URL=f"sqlite:///{store}") as url:
        with sqlite3.connect(store) as db:  # the gateway opened it; now its requests cannot be written
            db.execute("ALTER TABLE usage_requests RENAME TO usage_requests_away")
        model.script(say("Counted later."))
        answer = requests.post(url + "/v1/messages", data=json.dumps(BODY), timeout=30, headers={
            "content-type": "application/json", "anthropic-version": "2023-06-01", "Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and b"message_stop" in answer.content
        time.sleep(5)  # longer than the gateway once tried (3 attempts over 3 s)
        with sqlite3.connect(store) as db:
            db.execute("ALTER TABLE usage_requests_away RENAME TO usage_requests")

        def recorded():
            with sqlite3.connect(store) as db:
                return db.execute("SELECT person, outcome FROM usage_requests").fetchall()
        assert wait_for(recorded, 20) == [(email, "complete")]
        time.sleep(1)
        assert recorded() == [(email, "complete")]
