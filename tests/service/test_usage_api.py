"""The usage API of the agents service against a real hub and a real store: month figures for admins,
a person's own month, the admins' limits, and refusals of bad input that name the field."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from agents_extension.service.usage_api import this_month
from oma_contract.usage import UsageRecord
from tests.service.conftest import RunningService
from tests.service.real_hub import ADMIN

MARCH = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)
ADMIN_ONLY = ["api/usage", "api/usage/people", "api/usage/agents", "api/usage/months", "api/usage/limits"]


async def used(service: RunningService, request_id: str, person: str, cost: float, agent_id: str | None = None,
               at: datetime = MARCH) -> None:
    """What the model gateway records after a request."""
    assert await service.store.record_usage(UsageRecord(
        request_id=request_id, person=person, agent_id=agent_id, model="claude-sonnet-4-5", input_tokens=1000,
        output_tokens=100, cost_usd=cost, at=at))


async def new_agent(service: RunningService, token: str, **fields) -> dict:
    created = await service.call("POST", "api/agents", token=token, json={"name": "Researcher", **fields})
    assert created.status_code == 201, created.text
    return created.json()


async def test_admins_read_a_months_usage_by_person_and_by_agent(service, admin, approve):
    alice = await approve("alice")
    agent = await new_agent(service, alice.token, monthly_limit_usd=5)
    await used(service, "r1", alice.email, 1.25, agent["id"])
    await used(service, "r2", alice.email, 0.75)
    await used(service, "r3", ADMIN, 4)
    await used(service, "r-feb", alice.email, 9, at=MARCH.replace(month=2))

    report = await service.call("GET", "api/usage?month=2026-03", token=admin.token)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["month"] == "2026-03"
    assert body["totals"]["cost_usd"] == 6 and body["totals"]["requests"] == 3
    assert [(p["person"], p["totals"]["cost_usd"]) for p in body["people"]] == [(ADMIN, 4), (alice.email, 2)]
    assert [(a["agent_id"], a["name"], a["person"], a["totals"]["cost_usd"], a["limit_usd"])
            for a in body["agents"]] == [(agent["id"], "Researcher", alice.email, 1.25, 5)]
    assert body["months"] == ["2026-03", "2026-02"]

    people = (await service.call("GET", "api/usage/people?month=2026-02", token=admin.token)).json()
    assert [(p["person"], p["totals"]["cost_usd"], p["limit_source"]) for p in people] == [(alice.email, 9, "none")]
    assert (await service.call("GET", "api/usage/agents?month=2026-02", token=admin.token)).json() == []
    assert (await service.call("GET", "api/usage/months", token=admin.token)).json() == ["2026-03", "2026-02"]


async def test_without_a_month_it_is_this_month(service, admin):
    await used(service, "now", ADMIN, 0.5, at=datetime.now(timezone.utc))
    body = (await service.call("GET", "api/usage", token=admin.token)).json()
    assert body["month"] == this_month() and body["totals"]["cost_usd"] == 0.5
    assert (await service.call("GET", "api/usage?month=", token=admin.token)).json()["month"] == this_month()


async def test_a_person_reads_only_their_own_month(service, approve):
    alice, bob = await approve("alice"), await approve("bob")
    agent = await new_agent(service, alice.token, monthly_limit_usd=2.5)
    await used(service, "a1", alice.email, 1, agent["id"])
    await used(service, "a2", alice.email, 0.5)
    await used(service, "b1", bob.email, 77.77)

    mine = await service.call("GET", "api/usage/me?month=2026-03", token=alice.token)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["person"] == alice.email and body["total"]["cost_usd"] == 1.5
    assert set(body["agents"]) == {agent["id"]} and body["agents"][agent["id"]]["cost_usd"] == 1
    assert body["agent_limits"] == {agent["id"]: 2.5}
    assert (body["limit_usd"], body["limit_source"], body["hub_limit_reached"]) == (None, "none", False)
    assert "77.77" not in mine.text and bob.email not in mine.text, "nothing of anyone else's month"

    for path in ADMIN_ONLY:
        refused = await service.call("GET", path, token=alice.token)
        assert refused.status_code == 403, (path, refused.text)
    for method, path in (("PUT", "api/usage/limits/default"), ("PUT", "api/usage/limits/hub"),
                         ("PUT", f"api/usage/limits/people/{alice.email}"),
                         ("DELETE", f"api/usage/limits/people/{bob.email}")):
        refused = await service.call(method, path, token=alice.token, json={"monthly_limit_usd": None})
        assert refused.status_code == 403, (path, refused.text)
    assert await service.store.budget_limits() == (await service.store.budget_limits()).__class__()


async def test_admins_set_and_remove_limits_and_the_gateway_check_follows(service, admin, approve):
    alice = await approve("alice")
    await used(service, "a1", alice.email, 3)

    answer = await service.call("PUT", "api/usage/limits/default", token=admin.token, json={"monthly_limit_usd": 2})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"default_person_usd": 2, "hub_usd": None, "people": {}}
    refusal = await service.store.budget_check(alice.email, None, MARCH)
    assert (refusal.limit, refusal.limit_usd, refusal.spent_usd) == ("person", 2, 3)

    answer = await service.call("PUT", f"api/usage/limits/people/{alice.email.upper()}", token=admin.token,
                                json={"monthly_limit_usd": 10.5})
    assert answer.json()["people"] == {alice.email: 10.5}
    assert await service.store.budget_check(alice.email, None, MARCH) is None
    mine = (await service.call("GET", "api/usage/me?month=2026-03", token=alice.token)).json()
    assert (mine["limit_usd"], mine["limit_source"]) == (10.5, "override")

    answer = await service.call("PUT", "api/usage/limits/hub", token=admin.token, json={"monthly_limit_usd": 3})
    assert answer.json()["hub_usd"] == 3
    assert (await service.store.budget_check(alice.email, None, MARCH)).limit == "hub"
    assert (await service.call("GET", "api/usage/me?month=2026-03", token=alice.token)).json()["hub_limit_reached"]

    answer = await service.call("DELETE", f"api/usage/limits/people/{alice.email}", token=admin.token)
    assert answer.status_code == 200 and answer.json()["people"] == {}
    answer = await service.call("PUT", "api/usage/limits/hub", token=admin.token, json={"monthly_limit_usd": None})
    assert answer.json() == {"default_person_usd": 2, "hub_usd": None, "people": {}}
    assert (await service.call("GET", "api/usage/limits", token=admin.token)).json() == answer.json()


@pytest.mark.parametrize(("body", "words"), [
    ({"monthly_limit_usd": -1}, "from 0 to 1,000,000"),
    ({"monthly_limit_usd": 1_000_001}, "from 0 to 1,000,000"),
    ({"monthly_limit_usd": "5"}, "US dollars"),
    ({"monthly_limit_usd": True}, "US dollars"),
    ({}, "required"),
    ({"monthly_limit_usd": 5, "limit": 5}, "not a limit field"),
])
async def test_a_bad_limit_is_refused_naming_the_field_and_changes_nothing(service, admin, body, words):
    for path in ("api/usage/limits/default", "api/usage/limits/hub", "api/usage/limits/people/ada@example.com"):
        answer = await service.call("PUT", path, token=admin.token, json=body)
        assert answer.status_code == 400, (path, answer.text)
        assert words in answer.json()["error"]
        assert answer.json()["field"] == ("limit" if "limit" in body else "monthly_limit_usd")
    assert (await service.call("GET", "api/usage/limits", token=admin.token)).json() == {
        "default_person_usd": None, "hub_usd": None, "people": {}}


async def test_bad_months_bodies_and_addresses_are_refused_naming_the_field(service, admin, approve):
    alice = await approve("alice")
    for month in ("2026-13", "2026-3", "March", "2026-03-01"):
        for path, token in (("api/usage", admin.token), ("api/usage/me", alice.token)):
            answer = await service.call("GET", f"{path}?month={month}", token=token)
            assert answer.status_code == 400 and answer.json()["field"] == "month", (month, answer.text)
            assert "YYYY-MM" in answer.json()["error"]
    answer = await service.call("PUT", "api/usage/limits/people/not-an-address", token=admin.token,
                                json={"monthly_limit_usd": 1})
    assert answer.status_code == 400 and answer.json()["field"] == "email"
    answer = await service.call("PUT", "api/usage/limits/hub", token=admin.token, body=b"[1]",
                                headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "JSON object" in answer.json()["error"]


async def test_an_agents_monthly_limit_is_set_by_its_owner_and_checked(service, approve):
    alice = await approve("alice")
    agent = await new_agent(service, alice.token)
    assert agent["monthly_limit_usd"] is None
    changed = await service.call("PATCH", f"api/agents/{agent['id']}", token=alice.token, json={"monthly_limit_usd": 0.5})
    assert changed.status_code == 200 and changed.json()["monthly_limit_usd"] == 0.5
    await used(service, "a1", alice.email, 0.5, agent["id"])
    refusal = await service.store.budget_check(alice.email, agent["id"], MARCH)
    assert refusal.limit == "agent" and "Its owner can raise the limit on the agents dashboard." in refusal.message

    for value in (-1, "ten", 2_000_000):
        refused = await service.call("PATCH", f"api/agents/{agent['id']}", token=alice.token,
                                     json={"monthly_limit_usd": value})
        assert refused.status_code == 400 and refused.json()["field"] == "monthly_limit_usd", refused.text
    assert (await service.call("GET", f"api/agents/{agent['id']}", token=alice.token)).json()["monthly_limit_usd"] == 0.5


async def test_the_openapi_document_lists_the_usage_api(service):
    document = (await service.call("GET", "api/openapi.json")).json()
    assert {"/api/usage", "/api/usage/people", "/api/usage/agents", "/api/usage/months", "/api/usage/me",
            "/api/usage/limits", "/api/usage/limits/default", "/api/usage/limits/hub",
            "/api/usage/limits/people/{email}"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    assert "monthly_limit_usd" in schemas["AgentCreate"]["properties"]
    assert "monthly_limit_usd" in schemas["Agent"]["properties"]
    assert {"MonthReport", "MySpend", "BudgetLimits", "LimitChange"} <= set(schemas)
