"""What the model gateway's store calls cost: ``budget_check`` (before every model request) and
``record_usage`` (after each), on both store backends, with a month that already holds many requests.

Per backend (SQLite in a temporary file; Google Firestore on the emulator started here):

  record    ``--records`` requests recorded, ``--concurrency`` at a time, by people with agents,
            then the same records again (retries: counted nothing); latency per call, and whether
            the month adds up exactly
  check     ``budget_check`` ``--checks`` times, one after the other, with every limit set
  cached    the same checks as the gateway makes them: through a replica's kept month figures
            (model_gateway/budgets.py, ``--cache-seconds``), each request's cost added after it;
            with how many of them read the store
  report    the admins' whole month (``month_report``), a few times

Run from the project root:

    .venv/bin/python benchmarks/usage_store.py [--records 2000] [--concurrency 50] [--checks 500]
        [--cache-seconds 5] [--backends sqlite,firestore]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents_extension.store import Agent, Store, open_store  # noqa: E402
from model_gateway.budgets import MonthBudgets  # noqa: E402
from oma_contract.usage import UsageRecord, micro_usd  # noqa: E402
from tests.store.conftest import running_firestore_emulator  # noqa: E402

PEOPLE = 20
AGENTS_PER_PERSON = 3
AT = datetime.now(timezone.utc)


def figures(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"  {name:<10} n={len(ms):<6} p50 {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   max {ms[-1]:7.2f} ms"


async def timed(work) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


class CountedReads:
    """The store as the kept figures see it, counting the reads that reach it."""

    def __init__(self, store: Store) -> None:
        self.store, self.reads = store, 0

    async def budget_standing(self, *args):
        self.reads += 1
        return await self.store.budget_standing(*args)


async def bench(store: Store, records: int, concurrency: int, checks: int, cache_seconds: float) -> None:
    people = [f"person{i}@example.org" for i in range(PEOPLE)]
    agents = {}
    for person in people:
        for n in range(AGENTS_PER_PERSON):
            agent = await store.create_agent(Agent(id=uuid.uuid4().hex, owner=person, name=f"Agent {n}",
                                                   slug=f"agent-{n}", monthly_limit_usd=1000))
            agents.setdefault(person, []).append(agent.id)
    batch = [UsageRecord(request_id=f"req-{i}", person=people[i % PEOPLE],
                         agent_id=agents[people[i % PEOPLE]][i % AGENTS_PER_PERSON] if i % 4 else None,
                         model="claude-sonnet-4-5", input_tokens=1200, output_tokens=300,
                         cache_read_input_tokens=5000, cost_usd=0.0123, at=AT) for i in range(records)]

    semaphore = asyncio.Semaphore(concurrency)

    async def record(r: UsageRecord) -> float:
        async with semaphore:
            return await timed(store.record_usage(r))

    started = time.perf_counter()
    latencies = await asyncio.gather(*(record(r) for r in batch))
    wall = time.perf_counter() - started
    print(figures("record", latencies) + f"   ({records / wall:,.0f} records/s at {concurrency} at once)")
    retries = await asyncio.gather(*(record(r) for r in batch[: records // 10]))
    print(figures("retried", retries))
    month = AT.strftime("%Y-%m")
    totals = await store.month_totals(month)
    exact = totals.requests == records and totals.cost_usd == round(records * 0.0123, 6)
    print(f"  month      {totals.requests} requests, ${totals.cost_usd:,.4f}: {'exact' if exact else 'WRONG'}")

    await store.set_default_person_limit(500)
    await store.set_hub_limit(100_000)
    await store.set_person_limit(people[0], 750)
    check_times = []
    for i in range(checks):
        person = people[i % PEOPLE]
        check_times.append(await timed(store.budget_check(person, agents[person][i % AGENTS_PER_PERSON], AT)))
    print(figures("check", check_times))
    counted = CountedReads(store)
    budgets = MonthBudgets(counted, cache_seconds)
    cached_times = []
    for i in range(checks):
        person = people[i % PEOPLE]
        agent_id = agents[person][i % AGENTS_PER_PERSON]
        cached_times.append(await timed(budgets.check(person, agent_id, AT)))
        budgets.spent(person, agent_id, AT, micro_usd(0.0123))  # the request, recorded by this replica
    print(figures("cached", cached_times) + f"   ({counted.reads} of {checks} read the store; "
                                            f"kept {cache_seconds:g} s)")
    report_times = [await timed(store.month_report(month)) for _ in range(5)]
    print(figures("report", report_times) + f"   ({PEOPLE} people, {PEOPLE * AGENTS_PER_PERSON} agents)")


async def run_backend(url: str, args: argparse.Namespace) -> None:
    store = open_store(url)
    try:
        await bench(store, args.records, args.concurrency, args.checks, args.cache_seconds)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--cache-seconds", type=float, default=5.0,
                        help="how long the gateway keeps the month's figures (OMA_GATEWAY_BUDGET_CACHE_SECONDS)")
    parser.add_argument("--backends", default="sqlite,firestore")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            print(f"{backend}:")
            if backend == "sqlite":
                asyncio.run(run_backend(f"sqlite:///{folder}/store.sqlite", args))
            elif backend == "firestore":
                import os

                with running_firestore_emulator(Path(folder) / "emulator.log") as host:
                    os.environ["FIRESTORE_EMULATOR_HOST"] = host
                    asyncio.run(run_backend(f"firestore://oma-bench?prefix=b{uuid.uuid4().hex[:8]}_", args))
            else:
                raise SystemExit(f"unknown backend {backend!r}: sqlite or firestore")


if __name__ == "__main__":
    main()
