"""The month's budget figures one gateway replica keeps (model_gateway/budgets.py), on a real SQLite store,
with the replica's clock in the test's hand: what it records itself counts at once, what another replica
records (written straight into the store) and a changed limit count once the kept figures are
OMA_GATEWAY_BUDGET_CACHE_SECONDS old."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from agents_extension.store import Agent, open_store
from model_gateway.budgets import MonthBudgets
from oma_contract.usage import UsageRecord, micro_usd

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=timezone.utc)
ADA = "ada@example.com"
SECONDS = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counted:
    """The store, with the number of budget reads it answered."""

    def __init__(self, store) -> None:
        self.store = store
        self.reads = 0

    async def budget_standing(self, *args):
        self.reads += 1
        return await self.store.budget_standing(*args)


def another_replicas(request_id: str, cost: float, agent_id: str | None = None) -> UsageRecord:
    return UsageRecord(request_id=request_id, person=ADA, agent_id=agent_id, model="claude-sonnet-4-5",
                       cost_usd=cost, at=NOW)


@pytest.fixture
def setup(tmp_path):
    async def make():
        store = open_store(f"sqlite:///{tmp_path}/store.sqlite")
        await store.create_agent(Agent(id="a1", owner=ADA, name="Scout", slug="scout", monthly_limit_usd=3.0))
        await store.set_person_limit(ADA, 10.0)
        return store

    store = asyncio.run(make())
    clock = Clock()
    counted = Counted(store)
    yield store, MonthBudgets(counted, SECONDS, clock), clock, counted
    asyncio.run(store.close())


def test_another_replicas_spend_is_seen_once_the_kept_figures_are_old(setup):
    store, budgets, clock, counted = setup

    async def run():
        assert await budgets.check(ADA, None, NOW) is None
        await store.record_usage(another_replicas("elsewhere", 12.0))
        clock.now += SECONDS - 0.1
        assert await budgets.check(ADA, None, NOW) is None, "within the kept time: not read again"
        assert counted.reads == 1
        clock.now += 0.2
        refused = await budgets.check(ADA, None, NOW)
        assert refused is not None and refused.limit == "person" and refused.spent_usd == 12.0
        assert counted.reads == 2

    asyncio.run(run())


def test_this_replicas_own_requests_count_at_once_up_to_the_limit(setup):
    _, budgets, clock, counted = setup

    async def run():
        for _ in range(2):
            assert await budgets.check(ADA, "a1", NOW) is None
            budgets.spent(ADA, "a1", NOW, micro_usd(1.5))  # recorded by this replica; the store has it later
        refused = await budgets.check(ADA, "a1", NOW)
        assert refused is not None and refused.limit == "agent" and refused.spent_usd == 3.0
        standing = (await budgets.standing(ADA, None, NOW)).public()
        assert standing.spent_usd == 3.0 and standing.limit_usd == 10.0
        assert counted.reads == 1  # one read kept the person, the agent and the hub; nothing re-read while fresh

    asyncio.run(run())


def test_a_changed_limit_is_honoured_once_the_kept_figures_are_old(setup):
    store, budgets, clock, _ = setup

    async def run():
        assert await budgets.check(ADA, "a1", NOW) is None
        await store.update_agent("a1", {"monthly_limit_usd": 0.0})
        await store.set_hub_limit(0.0)
        clock.now += SECONDS + 0.1
        refused = await budgets.check(ADA, "a1", NOW)
        assert refused is not None and refused.limit == "hub"
        await store.set_hub_limit(None)
        clock.now += SECONDS + 0.1
        assert (await budgets.check(ADA, "a1", NOW)).limit == "agent"

    asyncio.run(run())


def test_concurrent_checks_of_one_person_read_the_store_once(setup):
    _, budgets, _, counted = setup

    async def run():
        answers = await asyncio.gather(*(budgets.check(ADA, "a1", NOW) for _ in range(20)))
        assert answers == [None] * 20 and counted.reads == 1

    asyncio.run(run())


def test_no_kept_time_reads_the_store_for_every_check(setup):
    store, _, clock, counted = setup
    budgets = MonthBudgets(counted, 0, clock)

    async def run():
        assert await budgets.check(ADA, None, NOW) is None
        await store.record_usage(another_replicas("elsewhere", 10.0))
        assert (await budgets.check(ADA, None, NOW)).spent_usd == 10.0
        assert counted.reads == 2

    asyncio.run(run())


def test_a_new_month_is_read_afresh(setup):
    store, budgets, _, _ = setup

    async def run():
        budgets.spent(ADA, None, NOW, micro_usd(100))  # nothing kept yet: nothing to add to
        assert await budgets.check(ADA, None, NOW) is None
        budgets.spent(ADA, None, NOW, micro_usd(100))
        assert (await budgets.check(ADA, None, NOW)).limit == "person"
        april = datetime(2026, 4, 1, tzinfo=timezone.utc)
        assert await budgets.check(ADA, None, april) is None

    asyncio.run(run())
