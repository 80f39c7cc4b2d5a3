"""Conformance of model usage and budgets: each test runs on SQLite and on the Firestore emulator
(the ``store`` fixture of tests/store/conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from agents_extension.store import Agent, Store, open_store
from oma_contract.usage import UsageRecord

MARCH = datetime(2026, 3, 14, 12, 0, tzinfo=timezone.utc)


def record(request_id: str, person: str = "ada@example.com", agent_id: str | None = None, cost: float = 0.01,
           at: datetime = MARCH, **fields) -> UsageRecord:
    values = dict(model="claude-sonnet-4-5", input_tokens=100, output_tokens=20, cache_creation_input_tokens=3,
                  cache_read_input_tokens=7)
    return UsageRecord(request_id=request_id, person=person, agent_id=agent_id, cost_usd=cost, at=at,
                       **{**values, **fields})


async def make_agent(store: Store, agent_id: str, owner: str = "ada@example.com", limit: float | None = None) -> Agent:
    name = f"Agent {agent_id}"
    return await store.create_agent(Agent(id=agent_id, owner=owner, name=name, slug=name.lower().replace(" ", "-"),
                                          monthly_limit_usd=limit))


# -- recording ---------------------------------------------------------------------


async def test_a_record_counts_for_the_person_the_agent_and_the_hub(store: Store):
    await make_agent(store, "a1")
    assert await store.record_usage(record("r1", agent_id="a1", cost=0.25, outcome="client_disconnected"))
    assert await store.record_usage(record("r2", cost=0.5))  # outside any agent

    spend = await store.month_spend("Ada@Example.com", "2026-03")
    assert spend.person == "ada@example.com" and spend.month == "2026-03"
    assert spend.total.requests == 2
    assert spend.total.cost_usd == pytest.approx(0.75)
    assert (spend.total.input_tokens, spend.total.output_tokens) == (200, 40)
    assert (spend.total.cache_creation_input_tokens, spend.total.cache_read_input_tokens) == (6, 14)
    assert set(spend.agents) == {"a1"}
    assert spend.agents["a1"].requests == 1 and spend.agents["a1"].cost_usd == pytest.approx(0.25)

    hub = await store.month_totals("2026-03")
    assert hub.requests == 2 and hub.cost_usd == pytest.approx(0.75)


async def test_a_retried_record_is_counted_once(store: Store):
    assert await store.record_usage(record("same", cost=1.0)) is True
    assert await store.record_usage(record("same", cost=1.0)) is False
    assert await store.record_usage(record("same", cost=9.0, agent_id="a1")) is False, "the first record stands"
    spend = await store.month_spend("ada@example.com", "2026-03")
    assert spend.total.requests == 1 and spend.total.cost_usd == 1.0
    assert spend.agents == {}
    assert (await store.month_totals("2026-03")).requests == 1


async def test_concurrent_records_add_up_exactly(store: Store):
    await make_agent(store, "a1")
    # 0.1 + 0.2 is not 0.3 in floats; kept in micro-dollars the month's sum is exact in any order.
    records = [record(f"r{i}", agent_id="a1" if i % 2 else None, cost=0.1 if i % 3 else 0.2, input_tokens=i)
               for i in range(60)]
    records += records[:10]  # retries arriving at the same time as the originals
    results = await asyncio.gather(*(store.record_usage(r) for r in records))
    assert sum(results) == 60

    expected = sum(r.cost_usd * 1_000_000 for r in records[:60]) / 1_000_000
    spend = await store.month_spend("ada@example.com", "2026-03")
    assert spend.total.requests == 60
    assert spend.total.cost_usd == round(expected, 6)
    assert spend.total.input_tokens == sum(range(60))
    assert spend.agents["a1"].requests == 30
    assert (await store.month_totals("2026-03")).cost_usd == spend.total.cost_usd


async def test_two_gateways_recording_at_once_count_each_request_once(store: Store, store_url: str):
    # Gateway replicas each open the store: the same records, retried through either, count once.
    other = open_store(store_url)
    try:
        records = [record(f"r{i}", agent_id="a1", cost=0.003) for i in range(40)]
        results = await asyncio.gather(*(s.record_usage(r) for r in records for s in (store, other)))
        assert sum(results) == 40
        for reader in (store, other):
            spend = await reader.month_spend("ada@example.com", "2026-03")
            assert spend.total.requests == 40 and spend.total.cost_usd == 0.12
            assert spend.agents["a1"].requests == 40
    finally:
        await other.close()


async def test_months_are_calendar_months_in_utc(store: Store):
    last_moment = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    await store.record_usage(record("jan", at=last_moment, cost=1))
    await store.record_usage(record("feb", at=last_moment + timedelta(microseconds=1), cost=2))
    # 08:30 in Seoul on 1 March is still February in UTC.
    seoul = timezone(timedelta(hours=9))
    await store.record_usage(record("feb-seoul", at=datetime(2026, 3, 1, 8, 30, tzinfo=seoul), cost=4))
    await store.record_usage(record("mar", at=datetime(2026, 3, 1, 9, 0, tzinfo=seoul), cost=8))

    assert (await store.month_spend("ada@example.com", "2026-01")).total.cost_usd == 1
    assert (await store.month_spend("ada@example.com", "2026-02")).total.cost_usd == 6
    assert (await store.month_spend("ada@example.com", "2026-03")).total.cost_usd == 8
    assert await store.usage_months() == ["2026-03", "2026-02", "2026-01"]

    # A new month starts from nothing: last month's spend does not count against this month's limit.
    await store.set_default_person_limit(5)
    assert await store.budget_check("ada@example.com", None, datetime(2026, 2, 20, tzinfo=timezone.utc)) is not None
    assert await store.budget_check("ada@example.com", None, datetime(2026, 4, 1, tzinfo=timezone.utc)) is None


async def test_a_month_without_usage_is_empty(store: Store):
    spend = await store.month_spend("nobody@example.com", "2020-01")
    assert spend.total.requests == 0 and spend.total.cost_usd == 0 and spend.agents == {}
    assert (await store.month_totals("2020-01")).requests == 0
    assert await store.usage_by_person("2020-01") == []
    assert await store.usage_by_agent("2020-01") == []
    assert await store.usage_months() == []


async def test_naive_times_and_bad_months_are_refused(store: Store):
    with pytest.raises(ValueError):
        UsageRecord(request_id="r", person="ada@example.com", at=datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="time zone"):
        await store.budget_check("ada@example.com", None, datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="YYYY-MM"):
        await store.month_spend("ada@example.com", "2026-13")


async def test_request_ids_of_any_text_are_kept_apart(store: Store):
    # The gateway's ids come from outside: ids that would be paths or reserved names must still work.
    for request_id in ("a/b", ".", "..", "__x__", "a|b", "a%2Fb"):
        assert await store.record_usage(record(request_id, cost=1))
    assert await store.record_usage(record("a/b", cost=1)) is False
    assert (await store.month_spend("ada@example.com", "2026-03")).total.requests == 6


# -- reports -------------------------------------------------------------------------


async def test_reports_by_person_and_by_agent_biggest_first(store: Store):
    await make_agent(store, "a1", limit=10)
    await make_agent(store, "g1", owner="grace@example.com")
    await make_agent(store, "gone", owner="grace@example.com")
    await store.record_usage(record("1", agent_id="a1", cost=1))
    await store.record_usage(record("2", person="grace@example.com", agent_id="g1", cost=2))
    await store.record_usage(record("3", person="grace@example.com", agent_id="gone", cost=0.5))
    await store.record_usage(record("4", person="grace@example.com", agent_id="g1", cost=1, at=MARCH.replace(month=2)))
    await store.delete_agent("gone")
    await store.set_default_person_limit(20)
    await store.set_person_limit("Grace@example.com", 50)

    people = await store.usage_by_person("2026-03")
    assert [(p.person, p.totals.cost_usd, p.limit_usd, p.limit_source) for p in people] == [
        ("grace@example.com", 2.5, 50, "override"), ("ada@example.com", 1, 20, "default")]
    agents = await store.usage_by_agent("2026-03")
    assert [(a.agent_id, a.person, a.name, a.totals.cost_usd, a.limit_usd) for a in agents] == [
        ("g1", "grace@example.com", "Agent g1", 2, None), ("a1", "ada@example.com", "Agent a1", 1, 10),
        ("gone", "grace@example.com", "", 0.5, None)]

    report = await store.month_report("2026-03")
    assert report.totals.cost_usd == 3.5 and report.totals.requests == 3
    assert report.months == ["2026-03", "2026-02"]
    assert report.limits.default_person_usd == 20 and report.limits.people == {"grace@example.com": 50}


# -- limits ---------------------------------------------------------------------------


async def test_no_limit_set_means_unlimited(store: Store):
    await make_agent(store, "a1")
    await store.record_usage(record("big", agent_id="a1", cost=100_000))
    assert await store.budget_check("ada@example.com", "a1", MARCH) is None
    assert await store.budget_limits() == (await store.budget_limits()).__class__()


async def test_the_default_limit_applies_to_everyone_without_an_override(store: Store):
    await store.set_default_person_limit(5)
    await store.record_usage(record("1", cost=4.99))
    assert await store.budget_check("ada@example.com", None, MARCH) is None
    await store.record_usage(record("2", cost=0.03))
    refusal = await store.budget_check("ADA@example.com", None, MARCH)
    assert (refusal.limit, refusal.limit_usd, refusal.spent_usd) == ("person", 5, 5.02)
    assert refusal.who_can_raise == "an admin"
    assert refusal.message == ("You have used $5.02 of your $5.00 monthly limit for the model. "
                               "An admin can raise it on the Usage page.")
    assert await store.budget_check("grace@example.com", None, MARCH) is None, "another person's spend is theirs"


async def test_an_override_wins_over_the_default_either_way(store: Store):
    await store.set_default_person_limit(5)
    await store.record_usage(record("1", cost=6))
    await store.record_usage(record("2", person="grace@example.com", cost=1))

    await store.set_person_limit("ada@example.com", 10)
    assert await store.budget_check("ada@example.com", None, MARCH) is None, "a higher override lifts the default"
    await store.set_person_limit("grace@example.com", 0.5)
    assert (await store.budget_check("grace@example.com", None, MARCH)).limit_usd == 0.5, "a lower one tightens it"
    await store.set_person_limit("ada@example.com", None)
    await store.record_usage(record("3", cost=1000))
    assert await store.budget_check("ada@example.com", None, MARCH) is None, "an override of no limit exempts"

    await store.clear_person_limit("ada@example.com")
    assert (await store.budget_check("ada@example.com", None, MARCH)).limit_usd == 5, "cleared: the default again"
    assert (await store.budget_limits()).people == {"grace@example.com": 0.5}


async def test_a_limit_of_zero_refuses_the_first_request(store: Store):
    await store.set_person_limit("ada@example.com", 0)
    refusal = await store.budget_check("ada@example.com", None, MARCH)
    assert refusal is not None and (refusal.limit_usd, refusal.spent_usd) == (0, 0)


async def test_an_agents_limit_counts_only_that_agents_spend(store: Store):
    await make_agent(store, "a1", limit=5)
    await make_agent(store, "a2")
    await store.record_usage(record("1", agent_id="a1", cost=3))
    await store.record_usage(record("2", agent_id="a2", cost=30))
    await store.record_usage(record("3", cost=30))
    assert await store.budget_check("ada@example.com", "a1", MARCH) is None

    await store.record_usage(record("4", agent_id="a1", cost=2.02))
    refusal = await store.budget_check("ada@example.com", "a1", MARCH)
    assert (refusal.limit, refusal.limit_usd, refusal.spent_usd) == ("agent", 5, 5.02)
    assert refusal.message == ("This agent has used $5.02 of its $5.00 monthly limit. "
                               "Its owner can raise the limit on the agents dashboard.")
    assert await store.budget_check("ada@example.com", "a2", MARCH) is None
    assert await store.budget_check("ada@example.com", None, MARCH) is None, "the person may still work without it"

    await store.update_agent("a1", {"monthly_limit_usd": 6})
    assert await store.budget_check("ada@example.com", "a1", MARCH) is None, "raised by its owner"
    assert await store.budget_check("ada@example.com", "no-such-agent", MARCH) is None


async def test_the_hub_limit_counts_everyones_spend(store: Store):
    await store.set_hub_limit(10)
    await store.record_usage(record("1", cost=6))
    assert await store.budget_check("grace@example.com", None, MARCH) is None
    await store.record_usage(record("2", person="grace@example.com", cost=4))
    for person in ("ada@example.com", "grace@example.com", "newcomer@example.com"):
        refusal = await store.budget_check(person, None, MARCH)
        assert (refusal.limit, refusal.limit_usd, refusal.spent_usd) == ("hub", 10, 10)
    assert refusal.message == ("This hub has used $10.00 of its $10.00 monthly limit for the model. "
                               "An admin can raise it on the Usage page.")
    await store.set_hub_limit(None)
    assert await store.budget_check("ada@example.com", None, MARCH) is None


async def test_when_several_limits_are_used_up_the_hardest_to_lift_is_told(store: Store):
    await make_agent(store, "a1", limit=1)
    await store.record_usage(record("1", agent_id="a1", cost=2))
    assert (await store.budget_check("ada@example.com", "a1", MARCH)).limit == "agent"
    await store.set_default_person_limit(2)
    assert (await store.budget_check("ada@example.com", "a1", MARCH)).limit == "person"
    await store.set_hub_limit(2)
    assert (await store.budget_check("ada@example.com", "a1", MARCH)).limit == "hub"


async def test_limits_read_back(store: Store):
    await store.set_default_person_limit(12.5)
    await store.set_hub_limit(1000)
    await store.set_person_limit("Ada@Example.com", None)
    await store.set_person_limit("grace@example.com", 3)
    limits = await store.budget_limits()
    assert limits.default_person_usd == 12.5 and limits.hub_usd == 1000
    assert limits.people == {"ada@example.com": None, "grace@example.com": 3}
    await store.set_default_person_limit(None)
    assert (await store.budget_limits()).default_person_usd is None
    with pytest.raises(ValueError):
        await store.set_hub_limit(-1)


async def test_an_agents_monthly_limit_is_stored_with_the_agent(store: Store):
    created = await make_agent(store, "a1", limit=7.5)
    assert created.monthly_limit_usd == 7.5
    assert (await store.get_agent("a1")).monthly_limit_usd == 7.5
    updated = await store.update_agent("a1", {"monthly_limit_usd": None})
    assert updated.monthly_limit_usd is None and (await store.get_agent("a1")).monthly_limit_usd is None


async def test_the_standing_is_what_the_budget_check_and_the_month_spend_see(store: Store):
    await make_agent(store, "a1", limit=2.0)
    await store.set_default_person_limit(20)
    await store.set_hub_limit(1000)
    await store.record_usage(record("r1", agent_id="a1", cost=0.25))
    await store.record_usage(record("r2", cost=0.5))
    await store.record_usage(record("r3", person="grace@example.com", cost=1.0))

    standing = (await store.budget_standing("Ada@Example.com", "a1", MARCH)).public()
    assert (standing.person, standing.month, standing.spent_usd) == ("ada@example.com", "2026-03", 0.75)
    assert (standing.limit_usd, standing.limit_source, standing.hub_limit_reached) == (20, "default", False)
    assert standing.agent is not None and standing.agent.model_dump() == {"agent_id": "a1", "spent_usd": 0.25,
                                                                           "limit_usd": 2.0}
    assert standing.spent_usd == (await store.month_spend("ada@example.com", "2026-03")).total.cost_usd
    outside = (await store.budget_standing("ada@example.com", None, MARCH)).public()
    assert outside.agent is None and outside.spent_usd == 0.75

    await store.set_hub_limit(1.75)
    raw = await store.budget_standing("ada@example.com", "a1", MARCH)
    assert raw.public().hub_limit_reached and raw.refusal().limit == "hub"
    assert (raw.person_spent, raw.agent_spent, raw.hub_spent) == (750_000, 250_000, 1_750_000)
