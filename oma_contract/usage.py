"""Model usage and monthly budgets: what the model gateway records per request (``UsageRecord``),
why it refuses one (``BudgetRefusal``), the limits admins and owners set (``BudgetLimits``,
``LimitChange``) and the month figures the Usage page, the dashboard and the REST API show.

Budgets are in US dollars per calendar month in UTC ("2026-03"). Four limits can apply to a
request: the default per person (set by admins), an override for one person (admins), the
agent's own ``monthly_limit_usd`` (its owner) and one for the whole hub (admins). None set
means unlimited. Amounts are kept in whole micro-dollars by the store, so many small
requests recorded at once add up exactly; the models speak dollars.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, Strict, StrictInt, field_validator

from .money import format_usd
from .problems import Contract, FieldInvalid

# The most a monthly limit may be: large enough for any real hub, small enough to catch a typo of zeros.
LIMIT_MAX_USD = 1_000_000
COUNT_MAX = 10**15
COST_MAX = 10**6

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

Tokens = Annotated[StrictInt, Field(ge=0, le=COUNT_MAX)]
Cost = Annotated[float, Field(ge=0, le=COST_MAX, allow_inf_nan=False)]
LimitUSD = Annotated[float, Strict(), Field(ge=0, le=LIMIT_MAX_USD, allow_inf_nan=False)]

LIMIT_RULE = f"an amount in US dollars from 0 to {LIMIT_MAX_USD:,}, or null for no limit"


class UsageOutcome(StrEnum):
    """How the model request ended; every outcome is counted (tokens the model produced were paid for)."""

    COMPLETE = "complete"
    CLIENT_DISCONNECTED = "client_disconnected"
    UPSTREAM_ERROR = "upstream_error"


def month_of(at: datetime) -> str:
    """The calendar month in UTC of a moment, as "YYYY-MM"."""
    if at.utcoffset() is None:
        raise ValueError("a usage time must carry its time zone (UTC)")
    return at.astimezone(timezone.utc).strftime("%Y-%m")


def check_month(month: str, field: str = "month") -> str:
    """``month`` if it is "YYYY-MM", else FieldInvalid naming ``field``."""
    if not isinstance(month, str) or not MONTH_PATTERN.match(month):
        raise FieldInvalid(field, f"'{field}' must be a calendar month written YYYY-MM, such as 2026-03.")
    return month


def check_person(value: str, field: str = "person") -> str:
    """A person's id (their e-mail address, lower-cased) for a limit, else FieldInvalid naming ``field``."""
    person = value.strip().lower() if isinstance(value, str) else ""
    if (not person or len(person) > 320 or "@" not in person or "/" in person
            or any(not character.isprintable() or character.isspace() for character in person)):
        raise FieldInvalid(field, f"'{field}' must be the person's e-mail address (their JupyterHub user name), "
                                  "such as ada@example.com.")
    return person


def micro_usd(usd: float) -> int:
    """Dollars as whole micro-dollars (how the store adds them up)."""
    return round(usd * 1_000_000)


def usd(micro: int) -> float:
    return micro / 1_000_000


class UsageRecord(Contract):
    """One model request, as the gateway records it once it has ended."""

    noun: ClassVar[str] = "usage record"
    rules: ClassVar[dict[str, str]] = {
        "request_id": "the request's id (text of 1 to 200 characters)",
        "person": "the JupyterHub user name (an e-mail address)",
        "agent_id": "the agent's id, or null for a request not made by an agent",
        "model": "the model's name",
        "outcome": "one of " + ", ".join(UsageOutcome),
        "at": "a time with its time zone",
        "cost_usd": f"an amount in US dollars from 0 to {COST_MAX:,}",
    }

    request_id: Annotated[str, Field(min_length=1, max_length=200)]
    person: Annotated[str, Field(min_length=1, max_length=320)]
    agent_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    model: Annotated[str, Field(max_length=200)] = ""
    input_tokens: Tokens = 0
    output_tokens: Tokens = 0
    cache_creation_input_tokens: Tokens = 0
    cache_read_input_tokens: Tokens = 0
    cost_usd: Cost = 0.0
    at: AwareDatetime
    outcome: UsageOutcome = UsageOutcome.COMPLETE

    @field_validator("person")
    @classmethod
    def _lower_case(cls, value: str) -> str:
        # People's ids are stored lower-cased everywhere in the store.
        return value.strip().lower()

    @property
    def month(self) -> str:
        return month_of(self.at)


class UsageTotals(Contract):
    """What a person, an agent or the hub used in one month."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0


class MonthSpend(Contract):
    """One person's month: the total, and the part each of their agents used (requests made
    outside any agent are in the total only)."""

    person: str
    month: str
    total: UsageTotals
    agents: dict[str, UsageTotals] = {}


class MySpend(MonthSpend):
    """What a person reads about their own month (``GET api/usage/me``): their spend, the limit that
    applies to them, and each of their agents' spend against the agent's own limit."""

    limit_usd: float | None = Field(None, description="Your monthly limit; null: no limit")
    limit_source: Literal["override", "default", "none"] = "none"
    hub_limit_reached: bool = Field(False, description="The whole hub has used up its monthly limit")
    agent_limits: dict[str, float | None] = Field({}, description="Each of your agents' monthly_limit_usd")


class AgentStanding(Contract):
    """An agent's month against its own limit."""

    agent_id: str
    spent_usd: float
    limit_usd: float | None = Field(None, description="The agent's monthly_limit_usd; null: no limit")


class MonthStanding(Contract):
    """Where a person stands this month, as the model gateway counts it (``GET /v1/oma/spend``): what they
    spent against the limit that applies to them and, for a request through one of their agents, the
    agent's spend against its limit. The same figures the gateway checks a request against."""

    person: str
    month: str
    spent_usd: float
    limit_usd: float | None = Field(None, description="Your monthly limit; null: no limit")
    limit_source: Literal["override", "default", "none"] = "none"
    hub_limit_reached: bool = Field(False, description="The whole hub has used up its monthly limit")
    agent: AgentStanding | None = None


class PersonSpend(Contract):
    """A person's line on the Usage page: the month's totals and the limit that applies to them."""

    person: str
    totals: UsageTotals
    limit_usd: float | None = Field(description="The limit that applies this month; null: no limit")
    limit_source: Literal["override", "default", "none"] = Field(
        description="override: set for this person; default: the default per person; none: no limit")


class AgentSpend(Contract):
    """An agent's line on the Usage page."""

    agent_id: str
    person: str = Field(description="The agent's owner")
    name: str = Field("", description="The agent's name; empty once the agent was deleted")
    totals: UsageTotals
    limit_usd: float | None = None


class MonthReport(Contract):
    """Everything the admin Usage page shows for one month."""

    month: str
    totals: UsageTotals
    people: list[PersonSpend]
    agents: list[AgentSpend]
    limits: "BudgetLimits"
    months: list[str] = Field(description="Months with recorded usage, newest first")


class BudgetLimits(Contract):
    """The limits admins set. null: no limit (an override of null exempts that person from the default)."""

    default_person_usd: float | None = None
    hub_usd: float | None = None
    people: dict[str, float | None] = Field({}, description="Overrides per person (e-mail address)")


class LimitChange(Contract):
    """PUT of one limit: ``{"monthly_limit_usd": 20}`` or ``null`` for no limit."""

    noun: ClassVar[str] = "limit"
    rules: ClassVar[dict[str, str]] = {"monthly_limit_usd": LIMIT_RULE}

    monthly_limit_usd: LimitUSD | None


Scope = Literal["person", "agent", "hub"]


class BudgetRefusal(Contract):
    """Why a model request is refused before it reaches the model: the limit that is used up."""

    limit: Scope
    limit_usd: float
    spent_usd: float
    who_can_raise: str = Field(description="Who can raise the limit, in words")
    month: str = ""

    @property
    def message(self) -> str:
        """One sentence for the cell, for someone who never saw the configuration."""
        spent, limit = format_usd(self.spent_usd), format_usd(self.limit_usd)  # as every page shows money
        if self.limit == "agent":
            return (f"This agent has used {spent} of its {limit} monthly limit. "
                    f"{self.who_can_raise.capitalize()} can raise the limit on the agents dashboard.")
        if self.limit == "person":
            return (f"You have used {spent} of your {limit} monthly limit for the model. "
                    f"{self.who_can_raise.capitalize()} can raise it on the Usage page.")
        return (f"This hub has used {spent} of its {limit} monthly limit for the model. "
                f"{self.who_can_raise.capitalize()} can raise it on the Usage page.")


WHO_CAN_RAISE: dict[str, str] = {"agent": "its owner", "person": "an admin", "hub": "an admin"}


def refusal(person_limit: float | None, person_spent: float,
            agent_limit: float | None, agent_spent: float,
            hub_limit: float | None, hub_spent: float, month: str) -> BudgetRefusal | None:
    """The limit a new request would break, or None.

    A limit is used up once the month's spend has reached it (a limit of 0 refuses everything).
    When several are used up, the one hardest to lift is told: the hub's, then the person's,
    then the agent's, so raising what the message names is never in vain because of a limit
    it did not name."""
    for scope, limit, spent in (("hub", hub_limit, hub_spent), ("person", person_limit, person_spent),
                                ("agent", agent_limit, agent_spent)):
        if limit is not None and spent >= limit:
            return BudgetRefusal(limit=scope, limit_usd=limit, spent_usd=spent,
                                 who_can_raise=WHO_CAN_RAISE[scope], month=month)
    return None


MonthReport.model_rebuild()
