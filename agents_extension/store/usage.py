"""Model usage and monthly budgets in the store, for the model gateway and the Usage pages.

The gateway records every model request once (``record_usage``, idempotent on its
request id) and asks ``budget_check`` before every request, so what it reads must
be cheap: next to each request record the store keeps running month totals, one
per person, one per agent and one for the hub, incremented in the same write as
the record. ``budget_check`` then reads a handful of small records (three totals,
the limits, the agent) in one round trip, however many requests the month holds.

Money is added up in whole micro-dollars: sums of many small float costs, added
concurrently in any order, come out exactly the same.

Both backends live here as mixins of their Store classes (``SQLiteUsage`` for
``SQLiteStore``, ``FirestoreUsage`` for ``FirestoreStore``); the decisions they
share (which limit applies, which refusal is told, how a report is put together)
are made once in ``UsageStore``. This module is imported by ``base`` (``Store``
derives from ``UsageStore``), so it imports the other store modules and Google's
client only inside functions.
"""

from __future__ import annotations

import abc
import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from oma_contract.usage import (
    AgentSpend,
    AgentStanding,
    BudgetLimits,
    BudgetRefusal,
    MonthReport,
    MonthSpend,
    MonthStanding,
    MySpend,
    PersonSpend,
    UsageRecord,
    UsageTotals,
    check_month,
    micro_usd,
    month_of,
    refusal,
    usd,
)

if TYPE_CHECKING:
    from .base import Agent

HUB = ""  # the key of the hub's totals
COUNTERS = ("requests", "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
            "cost_micro_usd")


@dataclass
class Totals:
    """Month totals as stored: integers only (cost in micro-dollars)."""

    person: str = ""  # whose: the person, or the agent's owner; empty for the hub
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_micro_usd: int = 0

    @classmethod
    def of(cls, record: UsageRecord) -> "Totals":
        return cls(person=record.person, requests=1, input_tokens=record.input_tokens,
                   output_tokens=record.output_tokens,
                   cache_creation_input_tokens=record.cache_creation_input_tokens,
                   cache_read_input_tokens=record.cache_read_input_tokens,
                   cost_micro_usd=micro_usd(record.cost_usd))

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}

    def amounts(self) -> dict[str, int]:
        """The counters a single request record keeps (all but the count of requests)."""
        return {name: getattr(self, name) for name in COUNTERS if name != "requests"}

    def public(self) -> UsageTotals:
        return UsageTotals(**{name: getattr(self, name) for name in COUNTERS if name != "cost_micro_usd"},
                           cost_usd=usd(self.cost_micro_usd))


@dataclass
class StoredLimits:
    """The admins' limits in micro-dollars; None: no limit. A person in ``people`` with None is exempt."""

    default_person: int | None = None
    hub: int | None = None
    people: dict[str, int | None] = field(default_factory=dict)

    def for_person(self, person: str) -> tuple[int | None, str]:
        """The limit that applies to a person, and where it comes from (override, default or none)."""
        if person in self.people:
            return self.people[person], "override"
        if self.default_person is not None:
            return self.default_person, "default"
        return None, "none"

    def public(self) -> BudgetLimits:
        return BudgetLimits(default_person_usd=_usd_or_none(self.default_person), hub_usd=_usd_or_none(self.hub),
                            people={person: _usd_or_none(limit) for person, limit in sorted(self.people.items())})


@dataclass
class Standing:
    """What a budget check needs, in micro-dollars: the month's spend of the person, their agent (if the
    request is through one) and the hub, and the limits on each (None: no limit). The gateway keeps these
    for a few seconds and adds what it records (model_gateway/budgets.py), so it is mutable."""

    month: str
    person: str
    person_spent: int
    person_limit: int | None
    person_limit_source: str
    hub_spent: int
    hub_limit: int | None
    agent_id: str | None = None
    agent_spent: int = 0
    agent_limit: int | None = None

    def refusal(self) -> BudgetRefusal | None:
        """The limit a new request would break, or None."""
        return refusal(_usd_or_none(self.person_limit), usd(self.person_spent),
                       _usd_or_none(self.agent_limit), usd(self.agent_spent),
                       _usd_or_none(self.hub_limit), usd(self.hub_spent), self.month)

    def public(self) -> MonthStanding:
        agent = None
        if self.agent_id is not None:
            agent = AgentStanding(agent_id=self.agent_id, spent_usd=usd(self.agent_spent),
                                  limit_usd=_usd_or_none(self.agent_limit))
        return MonthStanding(person=self.person, month=self.month, spent_usd=usd(self.person_spent),
                             limit_usd=_usd_or_none(self.person_limit),
                             limit_source=self.person_limit_source,  # type: ignore[arg-type]
                             hub_limit_reached=self.hub_limit is not None and self.hub_spent >= self.hub_limit,
                             agent=agent)


def _usd_or_none(micro: int | None) -> float | None:
    return None if micro is None else usd(micro)


def _micro_or_none(limit_usd: float | None) -> int | None:
    if limit_usd is None:
        return None
    if not (0 <= limit_usd < float("inf")):
        raise ValueError(f"a monthly limit must be an amount in US dollars from 0, got {limit_usd!r}")
    return micro_usd(limit_usd)


def _person(email: str) -> str:
    from . import rules

    return rules.person_id(email)


class UsageStore(abc.ABC):
    """What the model gateway and the Usage pages need from the store."""

    # -- what each backend does ---------------------------------------------------
    @abc.abstractmethod
    async def _add_usage(self, record: UsageRecord, month: str) -> bool:
        """Store the record and add it to its three month totals, all or nothing; False when its
        request id is stored already (then nothing changes)."""

    @abc.abstractmethod
    async def _budget_inputs(self, person: str, agent_id: str | None, month: str
                             ) -> tuple[StoredLimits, Totals, Totals | None, Totals, "Agent | None"]:
        """In one read: the limits (the person's override only), the person's, the agent's and the
        hub's totals for the month, and the agent."""

    @abc.abstractmethod
    async def _month_totals(self, month: str, scope: str, person: str | None = None) -> dict[str, Totals]:
        """Totals of one scope ("person", "agent", "hub") for a month by key, optionally of one person only."""

    @abc.abstractmethod
    async def usage_months(self) -> list[str]:
        """The months with recorded usage, newest first."""

    @abc.abstractmethod
    async def _stored_limits(self) -> StoredLimits: ...

    @abc.abstractmethod
    async def _set_limit(self, scope: str, key: str, limit: int | None, *, remove: bool = False) -> None:
        """Set the default ("default", ""), the hub's ("hub", "") or a person's ("person", email) limit;
        ``remove`` deletes a person's override (for the other two, None already means no limit)."""

    # -- the gateway's calls ------------------------------------------------------
    async def record_usage(self, record: UsageRecord) -> bool:
        """Count one model request in its month; a request id already recorded counts nothing (returns False)."""
        record = record.model_copy(update={"person": _person(record.person)})
        return await self._add_usage(record, month_of(record.at))

    async def budget_standing(self, person: str, agent_id: str | None, at: datetime) -> Standing:
        """The spend and limits a request of this person (through this agent, if any) at ``at`` is checked
        against, in one round trip to the store."""
        person = _person(person)
        month = month_of(at)
        limits, mine, agents, hubs, agent = await self._budget_inputs(person, agent_id, month)
        person_limit, source = limits.for_person(person)
        return Standing(
            month=month, person=person, person_spent=mine.cost_micro_usd, person_limit=person_limit,
            person_limit_source=source, hub_spent=hubs.cost_micro_usd, hub_limit=limits.hub,
            agent_id=agent_id, agent_spent=agents.cost_micro_usd if agents else 0,
            agent_limit=_micro_or_none(agent.monthly_limit_usd) if agent is not None else None,
        )

    async def budget_check(self, person: str, agent_id: str | None, at: datetime) -> BudgetRefusal | None:
        """The refusal for a new request of this person (through this agent, if any) at ``at``, or None."""
        return (await self.budget_standing(person, agent_id, at)).refusal()

    # -- what people and admins read ------------------------------------------------
    async def month_spend(self, person: str, month: str) -> MonthSpend:
        """One person's month: their total and each of their agents' part."""
        person = _person(person)
        check_month(month)
        total = (await self._budget_inputs(person, None, month))[1]
        agents = await self._month_totals(month, "agent", person)
        return MonthSpend(person=person, month=month, total=total.public(),
                          agents={agent_id: totals.public() for agent_id, totals in sorted(agents.items())})

    async def my_spend(self, person: str, month: str) -> MySpend:
        """What a person reads about their own month: their spend and limit, their agents' spend and limits."""
        spend = await self.month_spend(person, month)
        limits = await self._stored_limits()
        limit, source = limits.for_person(spend.person)
        hub = await self.month_totals(month)
        agents = await self.list_agents(spend.person)  # type: ignore[attr-defined]
        return MySpend(**spend.model_dump(), limit_usd=_usd_or_none(limit), limit_source=source,
                       hub_limit_reached=limits.hub is not None and micro_usd(hub.cost_usd) >= limits.hub,
                       agent_limits={agent.id: agent.monthly_limit_usd for agent in agents})

    async def month_totals(self, month: str) -> UsageTotals:
        """The whole hub's month."""
        check_month(month)
        return (await self._month_totals(month, "hub")).get(HUB, Totals()).public()

    async def usage_by_person(self, month: str) -> list[PersonSpend]:
        """Everyone who used the model that month, the biggest spender first, with the limit that applies."""
        check_month(month)
        totals = await self._month_totals(month, "person")
        limits = await self._stored_limits()
        lines = []
        for person, spent in totals.items():
            limit, source = limits.for_person(person)
            lines.append(PersonSpend(person=person, totals=spent.public(), limit_usd=_usd_or_none(limit),
                                     limit_source=source))
        return sorted(lines, key=lambda line: (-line.totals.cost_usd, line.person))

    async def usage_by_agent(self, month: str) -> list[AgentSpend]:
        """Every agent that used the model that month, the biggest spender first."""
        check_month(month)
        totals = await self._month_totals(month, "agent")
        agents = {agent.id: agent for agent in await self.list_agents()}  # type: ignore[attr-defined]
        lines = []
        for agent_id, spent in totals.items():
            agent = agents.get(agent_id)
            lines.append(AgentSpend(agent_id=agent_id, person=spent.person, name=agent.name if agent else "",
                                    totals=spent.public(), limit_usd=agent.monthly_limit_usd if agent else None))
        return sorted(lines, key=lambda line: (-line.totals.cost_usd, line.person, line.agent_id))

    async def month_report(self, month: str) -> MonthReport:
        """The admin Usage page's month: totals, by person, by agent, the limits and the months to pick from."""
        return MonthReport(month=month, totals=await self.month_totals(month),
                           people=await self.usage_by_person(month), agents=await self.usage_by_agent(month),
                           limits=await self.budget_limits(), months=await self.usage_months())

    # -- the admins' limits ---------------------------------------------------------
    async def budget_limits(self) -> BudgetLimits:
        return (await self._stored_limits()).public()

    async def set_default_person_limit(self, limit_usd: float | None) -> None:
        """The monthly limit of everyone without an override; None: no limit."""
        await self._set_limit("default", "", _micro_or_none(limit_usd))

    async def set_hub_limit(self, limit_usd: float | None) -> None:
        """The monthly limit of the whole hub; None: no limit."""
        await self._set_limit("hub", "", _micro_or_none(limit_usd))

    async def set_person_limit(self, person: str, limit_usd: float | None) -> None:
        """An override for one person: an amount, or None to exempt them from the default."""
        await self._set_limit("person", _person(person), _micro_or_none(limit_usd))

    async def clear_person_limit(self, person: str) -> None:
        """Remove a person's override: the default applies to them again."""
        await self._set_limit("person", _person(person), None, remove=True)


# -- SQLite -----------------------------------------------------------------------

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_requests (
    request_id TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    agent_id TEXT,
    model TEXT NOT NULL,
    month TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_creation_input_tokens INTEGER NOT NULL,
    cache_read_input_tokens INTEGER NOT NULL,
    cost_micro_usd INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_requests_by_month ON usage_requests (month, person);

CREATE TABLE IF NOT EXISTS usage_totals (
    month TEXT NOT NULL,
    scope TEXT NOT NULL,       -- person, agent or hub
    key TEXT NOT NULL,         -- the person, the agent id, or '' for the hub
    person TEXT NOT NULL,      -- whose totals: the person or the agent's owner ('' for the hub)
    requests INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, scope, key)
);
CREATE INDEX IF NOT EXISTS usage_totals_by_scope ON usage_totals (scope, month);

CREATE TABLE IF NOT EXISTS budget_limits (
    scope TEXT NOT NULL,       -- default, hub or person
    key TEXT NOT NULL,         -- the person for an override, else ''
    limit_micro_usd INTEGER,   -- NULL: no limit
    PRIMARY KEY (scope, key)
);
"""

_ADD_TOTALS = f"""
INSERT INTO usage_totals (month, scope, key, person, {", ".join(COUNTERS)})
VALUES (:month, :scope, :key, :person, {", ".join(f":{name}" for name in COUNTERS)})
ON CONFLICT (month, scope, key) DO UPDATE SET {", ".join(f"{name} = {name} + excluded.{name}" for name in COUNTERS)}
"""


def _sqlite_totals(row: Any) -> Totals:
    return Totals(person=row["person"], **{name: row[name] for name in COUNTERS})


class SQLiteUsage(UsageStore):
    """Usage and budgets on SQLite: a row per request, a row per month total, a row per limit."""

    # SQLiteStore provides: _run(work), _transaction(), _one(sql, *params), _all(sql, *params), _db.

    async def _add_usage(self, record: UsageRecord, month: str) -> bool:
        totals = Totals.of(record)
        row = {"request_id": record.request_id, "person": record.person, "agent_id": record.agent_id,
               "model": record.model, "month": month, "at": record.at.isoformat(timespec="microseconds"),
               "outcome": str(record.outcome), **totals.amounts()}
        scopes = [("person", record.person, record.person), ("hub", HUB, "")]
        if record.agent_id is not None:
            scopes.append(("agent", record.agent_id, record.person))

        def work() -> bool:
            with self._transaction() as db:  # type: ignore[attr-defined]
                inserted = db.execute(
                    f"INSERT INTO usage_requests ({', '.join(row)}) VALUES ({', '.join(':' + n for n in row)})"
                    " ON CONFLICT (request_id) DO NOTHING", row).rowcount
                if not inserted:
                    return False
                for scope, key, person in scopes:
                    db.execute(_ADD_TOTALS, {"month": month, "scope": scope, "key": key, "person": person,
                                             **totals.counters()})
                return True

        return await self._run(work)  # type: ignore[attr-defined]

    async def _budget_inputs(self, person, agent_id, month):
        from .sqlite import _read_agent

        def work():
            rows = self._all(  # type: ignore[attr-defined]
                "SELECT scope, key, limit_micro_usd FROM budget_limits WHERE key = '' OR (scope = 'person' AND key = ?)",
                person)
            limits = _limits_from_rows(rows)
            totals = {(row["scope"], row["key"]): _sqlite_totals(row) for row in self._all(  # type: ignore[attr-defined]
                "SELECT * FROM usage_totals WHERE month = ? AND ((scope = 'person' AND key = ?)"
                " OR (scope = 'agent' AND key = ?) OR scope = 'hub')", month, person, agent_id or "")}
            agent_row = self._one("SELECT * FROM agents WHERE id = ?", agent_id) if agent_id else None  # type: ignore[attr-defined]
            return (limits, totals.get(("person", person), Totals(person=person)),
                    totals.get(("agent", agent_id), Totals(person=person)) if agent_id else None,
                    totals.get(("hub", HUB), Totals()), _read_agent(agent_row) if agent_row else None)

        return await self._run(work)  # type: ignore[attr-defined]

    async def _month_totals(self, month, scope, person=None):
        def work():
            sql, params = "SELECT * FROM usage_totals WHERE month = ? AND scope = ?", [month, scope]
            if person is not None:
                sql += " AND person = ?"
                params.append(person)
            return {row["key"]: _sqlite_totals(row) for row in self._all(sql, *params)}  # type: ignore[attr-defined]

        return await self._run(work)  # type: ignore[attr-defined]

    async def usage_months(self) -> list[str]:
        def work():
            rows = self._all("SELECT month FROM usage_totals WHERE scope = 'hub' ORDER BY month DESC")  # type: ignore[attr-defined]
            return [row["month"] for row in rows]

        return await self._run(work)  # type: ignore[attr-defined]

    async def _stored_limits(self) -> StoredLimits:
        def work():
            return _limits_from_rows(self._all("SELECT scope, key, limit_micro_usd FROM budget_limits"))  # type: ignore[attr-defined]

        return await self._run(work)  # type: ignore[attr-defined]

    async def _set_limit(self, scope, key, limit, *, remove=False):
        def work():
            if remove:
                self._db.execute("DELETE FROM budget_limits WHERE scope = ? AND key = ?", (scope, key))  # type: ignore[attr-defined]
                return
            self._db.execute(  # type: ignore[attr-defined]
                "INSERT INTO budget_limits (scope, key, limit_micro_usd) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET limit_micro_usd = excluded.limit_micro_usd",
                (scope, key, limit))

        await self._run(work)  # type: ignore[attr-defined]


def _limits_from_rows(rows: list[Any]) -> StoredLimits:
    limits = StoredLimits()
    for row in rows:
        if row["scope"] == "default":
            limits.default_person = row["limit_micro_usd"]
        elif row["scope"] == "hub":
            limits.hub = row["limit_micro_usd"]
        elif row["scope"] == "person":
            limits.people[row["key"]] = row["limit_micro_usd"]
    return limits


# -- Firestore --------------------------------------------------------------------
#
# Collections (behind the store's prefix):
# - usage_requests: doc id "r:" + the percent-encoded request id; one per recorded request.
# - usage_totals: doc id "<month>|<scope>|<percent-encoded key>|<shard>", with month, scope,
#   key, person, shard and the counters. Queries are equalities on month, scope and person.
# - budget_limits: doc ids "default", "hub" and "person|<e-mail>"; limit_micro_usd null: no limit.
#
# A request and its three totals are one batched write: create() of the request doc fails
# when that request id is stored already, and then none of the increments is applied. The
# increments are server-side transforms, so no write reads first.
#
# Every request of the hub adds to the hub's totals, and Firestore serialises writes to one
# document: concurrent requests would queue on it (the emulator gives up on such a queue with
# ABORTED "Transaction lock timeout"). So each total is split into shards, a request adds to
# one shard picked at random, and readers add the shards up (Firestore's distributed counter).
# A write that is aborted all the same was not applied, so it is simply tried again.


def _request_doc_id(request_id: str) -> str:
    return "r:" + quote(request_id, safe="")


SHARDS = {"person": 4, "agent": 4, "hub": 16}
COMMIT_ATTEMPTS = 6


def _totals_doc_id(month: str, scope: str, key: str, shard: int) -> str:
    return f"{month}|{scope}|{quote(key, safe='@')}|{shard}"


def _added(parts: list[dict[str, Any]]) -> Totals:
    """The shards of one total, added up."""
    totals = Totals()
    for part in parts:
        totals.person = totals.person or part.get("person", "")
        for name in COUNTERS:
            setattr(totals, name, getattr(totals, name) + int(part.get(name, 0)))
    return totals


def _limit_doc_id(scope: str, key: str) -> str:
    return f"person|{quote(key, safe='@')}" if scope == "person" else scope


class FirestoreUsage(UsageStore):
    """Usage and budgets on Firestore."""

    # FirestoreStore provides: _client, prefix, _agents.

    @property
    def _usage_requests(self) -> Any:
        return self._client.collection(f"{self.prefix}usage_requests")  # type: ignore[attr-defined]

    @property
    def _usage_totals(self) -> Any:
        return self._client.collection(f"{self.prefix}usage_totals")  # type: ignore[attr-defined]

    @property
    def _budget_limits(self) -> Any:
        return self._client.collection(f"{self.prefix}budget_limits")  # type: ignore[attr-defined]

    async def _add_usage(self, record: UsageRecord, month: str) -> bool:
        from google.api_core import exceptions as google_errors
        from google.cloud import firestore

        totals = Totals.of(record)
        scopes = [("person", record.person, record.person), ("hub", HUB, "")]
        if record.agent_id is not None:
            scopes.append(("agent", record.agent_id, record.person))
        for attempt in range(COMMIT_ATTEMPTS):
            batch = self._client.batch()  # type: ignore[attr-defined]
            batch.create(self._usage_requests.document(_request_doc_id(record.request_id)), {
                "request_id": record.request_id, "person": record.person, "agent_id": record.agent_id,
                "model": record.model, "month": month, "at": record.at, "outcome": str(record.outcome),
                **totals.amounts(),
            })
            for scope, key, person in scopes:
                shard = random.randrange(SHARDS[scope])
                batch.set(self._usage_totals.document(_totals_doc_id(month, scope, key, shard)), {
                    "month": month, "scope": scope, "key": key, "person": person, "shard": shard,
                    **{name: firestore.Increment(value) for name, value in totals.counters().items()},
                }, merge=True)
            try:
                await batch.commit()
                return True
            except google_errors.AlreadyExists:
                return False
            except google_errors.Aborted:
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise
                # Not applied: try again after a pause that grows, at a random point so the
                # writers that collided do not collide again.
                await asyncio.sleep(random.uniform(0, 0.05 * 2 ** attempt))
        raise AssertionError("unreachable")

    async def _budget_inputs(self, person, agent_id, month):
        from .firestore import _existing_doc, _record
        from .base import Agent

        refs = {
            "default": self._budget_limits.document("default"),
            "hub_limit": self._budget_limits.document("hub"),
            "override": self._budget_limits.document(_limit_doc_id("person", person)),
        }
        totals_of = [("person", person), ("hub", HUB)] + ([("agent", agent_id)] if agent_id else [])
        for scope, key in totals_of:
            for shard in range(SHARDS[scope]):
                refs[f"{scope}|{shard}"] = self._usage_totals.document(_totals_doc_id(month, scope, key, shard))
        agent_ref = _existing_doc(self._agents, agent_id) if agent_id else None  # type: ignore[attr-defined]
        if agent_ref is not None:
            refs["agent_doc"] = agent_ref
        by_path = {ref.path: name for name, ref in refs.items()}
        found: dict[str, dict[str, Any]] = {}
        parts: dict[str, list[dict[str, Any]]] = {"person": [], "hub": [], "agent": []}
        # One round trip for everything, however many requests the month holds.
        async for snapshot in self._client.get_all(list(refs.values())):  # type: ignore[attr-defined]
            if snapshot.exists:
                name = by_path[snapshot.reference.path]
                if "|" in name:
                    parts[name.split("|")[0]].append(snapshot.to_dict())
                else:
                    found[name] = snapshot.to_dict()
        limits = StoredLimits()
        if "default" in found:
            limits.default_person = found["default"].get("limit_micro_usd")
        if "hub_limit" in found:
            limits.hub = found["hub_limit"].get("limit_micro_usd")
        if "override" in found:
            limits.people[person] = found["override"].get("limit_micro_usd")
        agent = _record(Agent, found["agent_doc"]) if "agent_doc" in found else None
        agent_totals = _added(parts["agent"]) if agent_id else None
        return limits, _added(parts["person"]), agent_totals, _added(parts["hub"]), agent

    async def _month_totals(self, month, scope, person=None):
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._usage_totals.where(filter=FieldFilter("month", "==", month)).where(
            filter=FieldFilter("scope", "==", scope))
        if person is not None:
            query = query.where(filter=FieldFilter("person", "==", person))
        by_key: dict[str, list[dict[str, Any]]] = {}
        async for snapshot in query.stream():
            by_key.setdefault(snapshot.get("key"), []).append(snapshot.to_dict())
        return {key: _added(parts) for key, parts in by_key.items()}

    async def usage_months(self) -> list[str]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._usage_totals.where(filter=FieldFilter("scope", "==", "hub"))
        return sorted({snapshot.get("month") async for snapshot in query.stream()}, reverse=True)

    async def _stored_limits(self) -> StoredLimits:
        limits = StoredLimits()
        async for snapshot in self._budget_limits.stream():
            data = snapshot.to_dict()
            if data.get("scope") == "default":
                limits.default_person = data.get("limit_micro_usd")
            elif data.get("scope") == "hub":
                limits.hub = data.get("limit_micro_usd")
            elif data.get("scope") == "person":
                limits.people[data["key"]] = data.get("limit_micro_usd")
        return limits

    async def _set_limit(self, scope, key, limit, *, remove=False):
        ref = self._budget_limits.document(_limit_doc_id(scope, key))
        if remove:
            await ref.delete()
        else:
            await ref.set({"scope": scope, "key": key, "limit_micro_usd": limit})
