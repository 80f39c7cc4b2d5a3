"""Month totals and limits kept in each replica, so a budget check rarely waits for the store.

Every model request is checked against the month's spend of its person, its
agent and the hub, and the limits on each. Reading those from the store costs a
round trip (tens of milliseconds on Firestore) before the model is even asked.
Here each replica keeps what it last read for ``seconds``, and adds to it the
cost of every request it records itself, at once. So:

- this replica never lets its own spending run past a limit by more than the
  requests that were in flight when the limit was reached (their cost is known
  only when they end);
- what other replicas spend, and limits that admins or owners change, is seen
  at most ``seconds`` later: a limit can be exceeded by at most what the other
  replicas spend in that time.

The totals are kept separately per person, per agent and for the hub (each
read refreshes the three), so a hub's worth of people shares one hub total.
``seconds`` of 0 reads the store for every check.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable

from agents_extension.store.usage import Standing
from oma_contract.usage import BudgetRefusal, month_of

KEPT_MAX = 10_000  # entries of each kind before the expired ones are dropped


@dataclass
class _Kept:
    until: float  # on the replica's monotonic clock
    spent: int  # micro-dollars
    limit: int | None
    source: str = ""  # for a person: where their limit comes from


class MonthBudgets:
    """The budget figures of one replica: ``standing`` and ``check`` before a request, ``spent`` after one."""

    def __init__(self, ledger: Any, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger
        self.seconds = seconds
        self.clock = clock
        self._people: dict[tuple[str, str], _Kept] = {}  # (month, person)
        self._agents: dict[tuple[str, str], _Kept] = {}  # (month, agent id)
        self._hub: dict[str, _Kept] = {}  # month
        self._reading: dict[tuple[str, str, str | None], asyncio.Future] = {}

    async def check(self, person: str, agent_id: str | None, at: datetime) -> BudgetRefusal | None:
        """The limit a new request would break, or None."""
        return (await self.standing(person, agent_id, at)).refusal()

    async def standing(self, person: str, agent_id: str | None, at: datetime) -> Standing:
        """The person's (and agent's) month as this replica knows it: at most ``seconds`` old, plus its own
        requests since."""
        month = month_of(at)
        kept = self._kept(month, person, agent_id)
        if kept is not None:
            return kept
        key = (month, person, agent_id)
        reading = self._reading.get(key)
        if reading is not None:  # another request of the same person is reading it: wait for that answer
            return replace(await asyncio.shield(reading))
        reading = asyncio.get_running_loop().create_future()
        self._reading[key] = reading
        try:
            read = await self.ledger.budget_standing(person, agent_id, at)
        except BaseException as error:
            reading.set_exception(error)
            reading.exception()  # retrieved: no warning when nobody else waited
            raise
        else:
            reading.set_result(read)
            self._keep(month, person, agent_id, read)
            return replace(read)
        finally:
            del self._reading[key]

    def spent(self, person: str, agent_id: str | None, at: datetime, cost_micro_usd: int) -> None:
        """This replica recorded a request: count it at once wherever its totals are kept."""
        if not cost_micro_usd:
            return
        month = month_of(at)
        for kept in (self._people.get((month, person)), self._hub.get(month),
                     self._agents.get((month, agent_id)) if agent_id else None):
            if kept is not None:
                kept.spent += cost_micro_usd

    # -- what is kept -------------------------------------------------------------------------
    def _kept(self, month: str, person: str, agent_id: str | None) -> Standing | None:
        now = self.clock()
        mine, hub = self._people.get((month, person)), self._hub.get(month)
        agent = self._agents.get((month, agent_id)) if agent_id else None
        if mine is None or hub is None or mine.until <= now or hub.until <= now:
            return None
        if agent_id and (agent is None or agent.until <= now):
            return None
        return Standing(month=month, person=person, person_spent=mine.spent, person_limit=mine.limit,
                        person_limit_source=mine.source, hub_spent=hub.spent, hub_limit=hub.limit,
                        agent_id=agent_id, agent_spent=agent.spent if agent else 0,
                        agent_limit=agent.limit if agent else None)

    def _keep(self, month: str, person: str, agent_id: str | None, read: Standing) -> None:
        if self.seconds <= 0:
            return
        until = self.clock() + self.seconds
        for kept in (self._people, self._agents):
            if len(kept) >= KEPT_MAX:
                self._drop_expired(kept)
        self._people[(month, person)] = _Kept(until, read.person_spent, read.person_limit, read.person_limit_source)
        self._hub = {month: _Kept(until, read.hub_spent, read.hub_limit)}  # last month's is of no more use
        if agent_id:
            self._agents[(month, agent_id)] = _Kept(until, read.agent_spent, read.agent_limit)

    def _drop_expired(self, kept: dict) -> None:
        now = self.clock()
        expired = [key for key, entry in kept.items() if entry.until <= now]
        for key in expired or list(kept)[: KEPT_MAX // 2]:
            kept.pop(key, None)
