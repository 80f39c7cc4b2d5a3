"""The decisions both store backends make the same way.

Each backend does its own I/O, but what a stored record looks like (times in
UTC, lower-cased e-mail addresses), when two agent names clash, which person
lists first, which agent fields a change may touch and how usage adds up are
decided here once, so the two backends cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from .base import Agent, AgentUsage, BetaDecision, NotFound, OutboxMessage, Person, Session

# An agent's identity and bookkeeping are the store's, never a change's.
FIXED_AGENT_FIELDS = frozenset({"id", "owner", "version", "created_at", "updated_at"})
CHANGEABLE_AGENT_FIELDS = frozenset(f.name for f in dataclasses.fields(Agent)) - FIXED_AGENT_FIELDS

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None, what: str = "time") -> datetime | None:
    """The same instant in UTC; naive datetimes are refused, since their zone is a guess."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(timezone.utc)


def person_id(email: str) -> str:
    """People are keyed by their e-mail address, lower-cased (as JupyterHub names them)."""
    key = (email or "").strip().lower()
    if not key:
        raise ValueError("an e-mail address is required")
    # Firestore document ids cannot contain "/", and no real address does.
    if "/" in key:
        raise ValueError(f"not an e-mail address (contains '/'): {email!r}")
    return key


def record_id(value: str, what: str) -> str:
    """Ids of agents, sessions and messages are chosen by the caller; refuse ones Firestore cannot key by."""
    if not value or "/" in value or value in (".", "..") or (value.startswith("__") and value.endswith("__")):
        raise ValueError(f"{what} {value!r} cannot be a record id (empty, contains '/', or reserved)")
    return value


def agent_name_key(name: str) -> str:
    """Names clash case-insensitively: "Researcher" and "researcher" are one name to a person."""
    return name.strip().casefold()


def people_order_key(person: Person) -> tuple:
    """Sort key for list_people: newest application first, then people without one by newest sign-in."""
    applied_at = person.application.applied_at if person.application else None
    if applied_at is not None:
        return (0, _desc(applied_at), person.email)
    return (1, _desc(person.last_seen_at or person.created_at), person.email)


def _desc(value: datetime | None) -> tuple[int, int]:
    # Whole microseconds keep the order exact; missing times sort last in a newest-first list.
    return (0, -((value - _EPOCH) // _MICROSECOND)) if value else (1, 0)


def check_agent_changes(changes: dict[str, Any]) -> None:
    """Refuse a change that names an unknown field or one the store owns."""
    fixed = sorted(set(changes) & FIXED_AGENT_FIELDS)
    if fixed:
        raise ValueError(f"these agent fields cannot be changed: {', '.join(fixed)}")
    unknown = sorted(set(changes) - CHANGEABLE_AGENT_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown agent fields: {', '.join(unknown)} (changeable: {', '.join(sorted(CHANGEABLE_AGENT_FIELDS))})"
        )


def new_agent(agent: Agent, now: datetime) -> Agent:
    """The agent as first stored: version 1, times in UTC, owner normalised."""
    record_id(agent.id, "agent id")
    created_at = as_utc(agent.created_at, "created_at") or now
    return dataclasses.replace(
        agent,
        owner=person_id(agent.owner),
        version=1,
        allowed_tools=list(agent.allowed_tools),
        disallowed_tools=list(agent.disallowed_tools),
        created_at=created_at,
        updated_at=as_utc(agent.updated_at, "updated_at") or created_at,
    )


def changed_agent(agent: Agent, changes: dict[str, Any], now: datetime) -> Agent:
    check_agent_changes(changes)
    return dataclasses.replace(agent, **changes, version=agent.version + 1, updated_at=now)


def decision_changes(person: Person, decision: BetaDecision) -> bool:
    """A decision is news only when it gives the person another status: deciding what they
    already have keeps their earlier decision and queues no e-mail (so concurrent approvals
    of one person mail them once)."""
    return person.beta_status != decision.status


def check_session_holder(session: Session, stored_owner: str | None, stored_agent_id: str | None) -> None:
    """A session record belongs to the owner and agent that first reported it: a report for a
    session id stored under anyone else, or under another agent, changes nothing."""
    if stored_owner is None:
        return
    if stored_owner != person_id(session.owner) or stored_agent_id != session.agent_id:
        raise NotFound(f"no session {session.session_id!r} of {session.owner} and agent {session.agent_id!r}")


def stamped_session(session: Session, first_created_at: datetime | None, now: datetime) -> Session:
    """The session as stored: created_at from its first write, updated_at the report's or now."""
    record_id(session.session_id, "session id")
    return dataclasses.replace(
        session,
        owner=person_id(session.owner),
        created_at=first_created_at or as_utc(session.created_at, "created_at") or now,
        updated_at=as_utc(session.updated_at, "updated_at") or now,
    )


def stamped_messages(messages: Iterable[OutboxMessage], now: datetime) -> list[OutboxMessage]:
    """Messages as queued: created now unless told otherwise, and due as soon as created."""
    stamped = []
    for message in messages:
        record_id(message.id, "message id")
        created_at = as_utc(message.created_at, "created_at") or now
        stamped.append(
            dataclasses.replace(
                message,
                to=list(message.to),
                created_at=created_at,
                next_attempt_at=as_utc(message.next_attempt_at, "next_attempt_at") or created_at,
                lease_until=as_utc(message.lease_until, "lease_until"),
                sent_at=as_utc(message.sent_at, "sent_at"),
            )
        )
    return stamped


def claimable(message: OutboxMessage, now: datetime) -> bool:
    """Pending, due, and not leased to a sender right now."""
    return (
        message.status == "pending"
        and (message.next_attempt_at is None or message.next_attempt_at <= now)
        and (message.lease_until is None or message.lease_until <= now)
    )


def usage_by_agent(agents: Iterable[Agent], sessions: Iterable[Session]) -> dict[str, AgentUsage]:
    """Every agent given gets an entry (zeros when unused); sessions of other agents are ignored."""
    usage = {agent.id: AgentUsage(agent_id=agent.id) for agent in agents}
    for session in sessions:
        entry = usage.get(session.agent_id)
        if entry is None:
            continue
        entry.sessions += 1
        entry.turns += session.turns
        entry.input_tokens += session.input_tokens
        entry.output_tokens += session.output_tokens
        entry.cost_usd += session.cost_usd
        used_at = session.updated_at or session.created_at
        if used_at and (entry.last_used_at is None or used_at > entry.last_used_at):
            entry.last_used_at = used_at
    return usage
