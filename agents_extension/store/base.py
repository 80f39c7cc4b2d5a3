"""The store: one interface, two backends (SQLite embedded, Google Firestore).

It holds the product's collections: people (with their beta application and
its decision), agents, Claude sessions with their usage, and the e-mail
outbox. Only the agents service (the trusted side) opens it; user servers
reach it through the service's REST API.

Every operation that causes e-mail takes the messages with it and writes them
into the outbox in the same transaction as the change itself, so an event
and its e-mail are stored together or not at all.

All times are timezone-aware UTC datetimes. E-mail addresses (the people's
ids) are stored lower-cased.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

# The records' enums are the contract's; these dataclasses are the storage shape.
from oma_contract import AgentStatus, BetaStatus, Language, MessageStatus, PermissionMode, SessionStatus

from .usage import UsageStore
if TYPE_CHECKING:
    from .recipes import RecipeShelf

# A person with one of these statuses may not apply again (apply_for_beta raises Conflict).
APPLIED = (BetaStatus.PENDING, BetaStatus.APPROVED)


class StoreError(Exception):
    """Base of the store's errors."""


class NotFound(StoreError):
    """No such record (or not the caller's: the service never tells the two apart)."""


class Conflict(StoreError):
    """The change clashes with what is stored (a duplicate name, a stale version)."""


@dataclass
class BetaApplication:
    name: str
    purpose: str
    organisation: str = ""
    language: Language = Language.EN  # the language e-mails to this person are written in
    applied_at: datetime | None = None


@dataclass
class BetaDecision:
    status: BetaStatus  # approved or rejected
    by: str  # the admin's e-mail, or "jupyterhub-group" when made in the admin panel
    note: str = ""
    at: datetime | None = None


@dataclass
class Person:
    email: str
    name: str = ""
    picture: str = ""
    google_id: str = ""
    created_at: datetime | None = None
    last_seen_at: datetime | None = None
    beta_status: BetaStatus = BetaStatus.NONE
    application: BetaApplication | None = None
    decision: BetaDecision | None = None


@dataclass
class BetaChanges:
    """People whose beta status changed after a cursor, and the cursor to ask from next time."""

    people: list[Person]  # as they are now, each once
    cursor: str  # opaque: only the backend that made it can read it


@dataclass
class Agent:
    id: str
    owner: str
    name: str
    slug: str
    description: str = ""
    instructions: str = ""
    model: str | None = None
    permission_mode: PermissionMode = PermissionMode.DEFAULT
    allowed_tools: list[str] = field(default_factory=list)
    disallowed_tools: list[str] = field(default_factory=list)
    max_turns: int | None = None
    max_budget_usd: float | None = None
    monthly_limit_usd: float | None = None  # the agent's model spend per calendar month (store/usage.py)
    status: AgentStatus = AgentStatus.DRAFT
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Session:
    """One Claude session of an agent, as the kernel reports it."""

    session_id: str
    owner: str
    agent_id: str
    notebook: str = ""
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    status: SessionStatus = SessionStatus.ACTIVE
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class AgentUsage:
    agent_id: str
    sessions: int = 0
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    last_used_at: datetime | None = None


@dataclass
class OutboxMessage:
    id: str
    to: list[str]
    subject: str
    text: str
    html: str
    event: str  # what caused it, e.g. "beta.applied.applicant", "beta.approved"
    created_at: datetime | None = None
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    last_error: str = ""
    sent_at: datetime | None = None


class Store(UsageStore, abc.ABC):
    """What the agents service, the e-mail sender and the model gateway (``UsageStore``) need from storage."""

    # -- people and beta access ---------------------------------------------
    @abc.abstractmethod
    async def get_person(self, email: str) -> Person | None: ...

    @abc.abstractmethod
    async def record_sign_in(self, email: str, *, name: str = "", picture: str = "", google_id: str = "") -> Person:
        """Create the person on first sign-in, else refresh profile fields and last_seen_at."""

    @abc.abstractmethod
    async def list_people(self, beta_status: BetaStatus | None = None) -> list[Person]:
        """Newest application first (people without one: newest sign-in first)."""

    @abc.abstractmethod
    async def apply_for_beta(self, email: str, application: BetaApplication, messages: list[OutboxMessage]) -> Person:
        """Record a pending application (creating the person if needed) and queue its e-mails.

        Raises Conflict when the person is already pending or approved."""

    @abc.abstractmethod
    async def decide_beta(self, email: str, decision: BetaDecision, messages: list[OutboxMessage]) -> Person:
        """Approve or reject (from any other status), and queue the decision's e-mails.

        Deciding the status the person already has changes nothing: their earlier
        decision stays and the messages are not queued. The person is returned as
        stored, so ``decision`` tells the two apart. Raises NotFound for an unknown person."""

    @abc.abstractmethod
    async def beta_changes_cursor(self) -> str:
        """Where "changed since" begins now: ``beta_changes_since`` of it lists the changes after this call.

        Reads at most one record, so the beta-group sync can take it before a full list."""

    @abc.abstractmethod
    async def beta_changes_since(self, cursor: str) -> BetaChanges:
        """People whose beta status changed (an application, a decision that changed it) after ``cursor``.

        Reads only the changed records, so polling costs what changed, not how many people there are.
        Sign-ins are not beta changes. Records stored before the store kept change stamps are
        never listed: a full ``list_people`` covers them. Raises ValueError for a cursor this
        backend did not make."""

    # -- agents ----------------------------------------------------------------
    @abc.abstractmethod
    async def create_agent(self, agent: Agent) -> Agent:
        """Store a new agent (id, owner, name, slug set by the caller; version 1).

        Raises Conflict when the owner already has an agent of that name or slug."""

    @abc.abstractmethod
    async def get_agent(self, agent_id: str) -> Agent | None: ...

    @abc.abstractmethod
    async def list_agents(self, owner: str | None = None) -> list[Agent]:
        """One owner's agents (all agents when owner is None), oldest first."""

    @abc.abstractmethod
    async def update_agent(self, agent_id: str, changes: dict[str, Any], expected_version: int | None = None) -> Agent:
        """Apply field changes, bump version, set updated_at.

        Raises NotFound, or Conflict on a name/slug clash or when expected_version is stale."""

    @abc.abstractmethod
    async def delete_agent(self, agent_id: str) -> None:
        """Raises NotFound."""

    # -- sessions and usage ----------------------------------------------------
    @abc.abstractmethod
    async def record_session(self, session: Session) -> Session:
        """Create or update a session record by session_id (created_at kept from the first write).

        A record belongs to the owner and agent of its first report: a report for a stored
        session id of another owner or another agent raises NotFound and changes nothing."""

    @abc.abstractmethod
    async def list_sessions(self, owner: str, agent_id: str | None = None) -> list[Session]: ...

    @abc.abstractmethod
    async def agent_usage(self, owner: str) -> dict[str, AgentUsage]:
        """Per agent of this owner: sessions, turns, tokens, cost, last used."""

    # -- e-mail outbox ---------------------------------------------------------
    @abc.abstractmethod
    async def queue_messages(self, messages: list[OutboxMessage]) -> None:
        """Queue e-mails not tied to a change (the ones tied to one go with it)."""

    @abc.abstractmethod
    async def claim_due_message(self, now: datetime, lease_seconds: float) -> OutboxMessage | None:
        """Atomically take one pending message whose next_attempt_at has come and whose
        lease has expired: set lease_until = now + lease_seconds, attempts += 1, return it.
        Two senders never hold the same message at once."""

    @abc.abstractmethod
    async def mark_sent(self, message_id: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def mark_retry(self, message_id: str, error: str, next_attempt_at: datetime | None) -> None:
        """Record a failed attempt; next_attempt_at None gives up (status "failed")."""

    @abc.abstractmethod
    async def list_outbox(self, limit: int = 100) -> list[OutboxMessage]:
        """Newest first, for admins reading the outbox in local mode."""

    @property
    @abc.abstractmethod
    def recipes(self) -> RecipeShelf:
        """The recipe gallery's shelf (recipes.py), in this store."""

    async def close(self) -> None:
        """Release connections."""
