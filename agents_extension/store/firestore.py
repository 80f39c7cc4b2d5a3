"""The production store: Google Firestore (native mode), through its AsyncClient.

Collections (each name behind an optional prefix, so tests and several
deployments can share one database):

- ``users``: doc id = e-mail address; the person with the beta application and decision as maps,
  and ``beta_changed_at``, the commit time of the last change to their beta status (see
  ``beta_changes_since``).
- ``agents``: doc id = agent id.
- ``agent_names``: one doc per taken agent name and per taken slug of an owner
  (``<owner>|name|<name as it clashes>``, ``<owner>|slug|<slug>``). Firestore
  has no unique constraints, so an agent and its name docs are written in one
  transaction and a clash is a doc that already exists.
- ``sessions``: doc id = session id; a session belongs to the owner and agent of its first report.
- ``usage_requests``, ``usage_totals``, ``budget_limits``: model usage and budgets (see ``usage``).
- ``outbox``: doc id = message id, plus ``due_at``, the moment the message can
  next be claimed (absent once sent or failed). One range field is what lets
  claiming use Firestore's automatic single-field index: no composite index
  has to be deployed.

Every query here is an equality on one or two fields, a range on ``due_at`` or
``beta_changed_at``, or an ordering on ``created_at``, all served by automatic indexes; lists are
sorted in Python where the order spans fields.

With FIRESTORE_EMULATOR_HOST set, the client talks to that emulator without
credentials (the library handles it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import functools
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import quote

from google.api_core import exceptions as google_errors
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from . import rules
from .base import (
    APPLIED,
    Agent,
    AgentUsage,
    BetaApplication,
    BetaChanges,
    BetaDecision,
    BetaStatus,
    Conflict,
    NotFound,
    OutboxMessage,
    Person,
    Session,
    Store,
)
from .usage import FirestoreUsage

T = TypeVar("T")
R = TypeVar("R")

# How many due messages one claim looks at; if all were taken by other senders
# meanwhile, the claim reports none and the sender simply polls again.
_CLAIM_CANDIDATES = 10
_ALWAYS_DUE = datetime(1970, 1, 1, tzinfo=timezone.utc)


_BETA_CHANGED_AT = "beta_changed_at"


# How long a commit can still be in flight with a stamp earlier than one a poll has already
# seen. The emulator makes a concurrently committed change visible after a later-stamped one;
# so a poll reads again the changes of this last stretch and leaves out those it handed out
# before (their keys travel in the cursor). 30 s also covers a few seconds of clock skew
# between this process and Firestore, whose commit times are compared with our clock.
# The price: a change is read (and billed) again by each poll of those 30 s, six at the
# group sync's 5 s; a quiet store is read as before.
_SETTLING = timedelta(seconds=30)


def _change_key(email: str, stamp: datetime) -> str:
    # One change of one person: a second change of the same person has a later stamp, so a new key.
    return hashlib.sha256(f"{email}|{_plain_time(stamp).isoformat()}".encode()).hexdigest()[:16]


def _beta_cursor(floor: datetime, handed_out: set[str] = frozenset()) -> str:
    # "<floor>" or "<floor>~<key>,<key>...": changes stamped after the floor, less those handed out.
    text = _plain_time(floor).isoformat(timespec="microseconds")
    return f"{text}~{','.join(sorted(handed_out))}" if handed_out else text


def _read_beta_cursor(cursor: str) -> tuple[datetime, set[str]]:
    text, _, keys = cursor.partition("~") if isinstance(cursor, str) else ("", "", "")
    try:
        floor = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        floor = None
    if floor is None or floor.utcoffset() is None:
        raise ValueError(f"not a cursor of the Firestore store: {cursor!r}")
    return floor, set(filter(None, keys.split(",")))


def _plain_time(value: datetime) -> datetime:
    # Firestore hands back its DatetimeWithNanoseconds; callers get plain UTC datetimes (microseconds, as stored).
    value = value.astimezone(timezone.utc)
    return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                    value.microsecond, tzinfo=timezone.utc)


def _record(cls: type[R], data: dict[str, Any]) -> R:
    """The dataclass from a stored map, ignoring bookkeeping fields it does not have."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            value = data[field.name]
            values[field.name] = _plain_time(value) if isinstance(value, datetime) else value
    return cls(**values)


def _read_person(data: dict[str, Any]) -> Person:
    person = _record(Person, data)
    person.application = _record(BetaApplication, data["application"]) if data.get("application") else None
    person.decision = _record(BetaDecision, data["decision"]) if data.get("decision") else None
    return person


def _message_doc(message: OutboxMessage) -> dict[str, Any]:
    doc = dataclasses.asdict(message)
    due_at = _due_at(message)
    if due_at is not None:
        doc["due_at"] = due_at
    return doc


def _due_at(message: OutboxMessage) -> datetime | None:
    """When the message can next be claimed (rules.claimable), or None when never."""
    if message.status != "pending":
        return None
    # Queued messages always carry next_attempt_at (rules.stamped_messages); the epoch is "due already".
    times = [t for t in (message.next_attempt_at, message.lease_until) if t is not None]
    return max(times) if times else _ALWAYS_DUE


def _existing_doc(collection: Any, doc_id: str) -> Any:
    """The doc reference for a looked-up id, or None when no stored record can have that id.

    rules.record_id keeps such ids out when records are created; looking one up
    must not turn "a/b" into a path into another collection."""
    try:
        return collection.document(rules.record_id(doc_id, "id"))
    except ValueError:
        return None


def _name_doc_id(owner: str, kind: str, value: str) -> str:
    # Percent-encoding keeps "/" (not allowed in a doc id) and "|" (our separator) out of each part.
    return f"{quote(owner, safe='@')}|{kind}|{quote(value, safe='')}"


class FirestoreStore(FirestoreUsage, Store):
    """The Store on Firestore; ``prefix`` is put before every collection name."""

    def __init__(self, project: str, *, database: str | None = None, prefix: str = "") -> None:
        self.project = project
        self.database = database
        self.prefix = prefix
        self._client = firestore.AsyncClient(project=project, database=database)
        self._people = self._client.collection(f"{prefix}users")
        self._agents = self._client.collection(f"{prefix}agents")
        self._agent_names = self._client.collection(f"{prefix}agent_names")
        self._sessions = self._client.collection(f"{prefix}sessions")
        self._outbox = self._client.collection(f"{prefix}outbox")

    async def _transaction(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``work(transaction)`` in a transaction (retried by the library when Firestore aborts it)."""
        try:
            return await firestore.async_transactional(work)(self._client.transaction())
        except google_errors.AlreadyExists as error:
            # A create() met a doc that appeared after we looked: someone else won the race.
            raise Conflict(f"the change clashes with what is stored: {error.message}") from error

    def _queue_in(self, transaction: Any, messages: list[OutboxMessage]) -> None:
        for message in messages:
            # create(), not set(): a reused message id must not overwrite a queued e-mail.
            transaction.create(self._outbox.document(message.id), _message_doc(message))

    # -- people and beta access ---------------------------------------------
    async def get_person(self, email: str) -> Person | None:
        snapshot = await self._people.document(rules.person_id(email)).get()
        return _read_person(snapshot.to_dict()) if snapshot.exists else None

    async def record_sign_in(self, email: str, *, name: str = "", picture: str = "", google_id: str = "") -> Person:
        key = rules.person_id(email)
        ref = self._people.document(key)

        async def work(transaction: Any) -> Person:
            now = rules.utc_now()
            snapshot = await ref.get(transaction=transaction)
            if not snapshot.exists:
                person = Person(email=key, name=name, picture=picture, google_id=google_id,
                                created_at=now, last_seen_at=now)
                transaction.create(ref, dataclasses.asdict(person))
                return person
            person = _read_person(snapshot.to_dict())
            # An empty value means "not told this time" (the dev login has no picture), not "erase".
            person.name = name or person.name
            person.picture = picture or person.picture
            person.google_id = google_id or person.google_id
            person.last_seen_at = now
            transaction.update(ref, {"name": person.name, "picture": person.picture,
                                     "google_id": person.google_id, "last_seen_at": now})
            return person

        return await self._transaction(work)

    async def list_people(self, beta_status: BetaStatus | None = None) -> list[Person]:
        query = self._people if beta_status is None else self._people.where(
            filter=FieldFilter("beta_status", "==", beta_status))
        people = [_read_person(snapshot.to_dict()) async for snapshot in query.stream()]
        return sorted(people, key=rules.people_order_key)

    async def apply_for_beta(self, email: str, application: BetaApplication, messages: list[OutboxMessage]) -> Person:
        key = rules.person_id(email)
        ref = self._people.document(key)
        now = rules.utc_now()
        application = dataclasses.replace(application, applied_at=rules.as_utc(application.applied_at, "applied_at") or now)
        queued = rules.stamped_messages(messages, now)

        async def work(transaction: Any) -> Person:
            snapshot = await ref.get(transaction=transaction)
            person = _read_person(snapshot.to_dict()) if snapshot.exists else Person(email=key, created_at=now)
            if person.beta_status in APPLIED:
                raise Conflict(f"{key} has already applied for the beta (status: {person.beta_status})")
            person.beta_status = "pending"
            person.application = application
            person.decision = None  # a new application starts over; the old decision was about the old one
            transaction.set(ref, {**dataclasses.asdict(person), _BETA_CHANGED_AT: firestore.SERVER_TIMESTAMP})
            self._queue_in(transaction, queued)
            return person

        return await self._transaction(work)

    async def decide_beta(self, email: str, decision: BetaDecision, messages: list[OutboxMessage]) -> Person:
        key = rules.person_id(email)
        ref = self._people.document(key)
        now = rules.utc_now()
        decision = dataclasses.replace(decision, at=rules.as_utc(decision.at, "at") or now)
        queued = rules.stamped_messages(messages, now)

        async def work(transaction: Any) -> Person:
            snapshot = await ref.get(transaction=transaction)
            if not snapshot.exists:
                raise NotFound(f"no person {key!r}")
            person = _read_person(snapshot.to_dict())
            if not rules.decision_changes(person, decision):
                return person
            person.beta_status = decision.status
            person.decision = decision
            transaction.update(ref, {"beta_status": decision.status, "decision": dataclasses.asdict(decision),
                                     _BETA_CHANGED_AT: firestore.SERVER_TIMESTAMP})
            self._queue_in(transaction, queued)
            return person

        return await self._transaction(work)

    async def beta_changes_cursor(self) -> str:
        latest = self._people.order_by(_BETA_CHANGED_AT, direction=firestore.Query.DESCENDING).limit(1)
        stamps = [snapshot.get(_BETA_CHANGED_AT) async for snapshot in latest.stream()]
        return _beta_cursor(stamps[0] if stamps else _ALWAYS_DUE)

    async def beta_changes_since(self, cursor: str) -> BetaChanges:
        floor, handed_out = _read_beta_cursor(cursor)
        # A single-field range, so Firestore's automatic index serves it. Everything stamped after
        # the floor is read; what an earlier poll already handed out is left out. The floor moves
        # up to the last stamp only once that stamp is older than _SETTLING: until then a change
        # committed concurrently with an earlier stamp may still become visible, and is caught.
        query = self._people.where(filter=FieldFilter(_BETA_CHANGED_AT, ">", floor)).order_by(_BETA_CHANGED_AT)
        snapshots = [snapshot async for snapshot in query.stream()]
        changes = [(s, _change_key(s.id, s.get(_BETA_CHANGED_AT))) for s in snapshots]
        last = snapshots[-1].get(_BETA_CHANGED_AT) if snapshots else floor
        new_floor = max(floor, min(last, rules.utc_now() - _SETTLING))
        still_settling = {key for s, key in changes if s.get(_BETA_CHANGED_AT) > new_floor}
        return BetaChanges(people=[_read_person(s.to_dict()) for s, key in changes if key not in handed_out],
                           cursor=_beta_cursor(new_floor, still_settling))

    # -- agents ----------------------------------------------------------------
    def _name_refs(self, agent: Agent) -> dict[str, Any]:
        return {
            "name": self._agent_names.document(_name_doc_id(agent.owner, "name", rules.agent_name_key(agent.name))),
            "slug": self._agent_names.document(_name_doc_id(agent.owner, "slug", agent.slug)),
        }

    async def _claim_names(self, transaction: Any, agent: Agent, previous: Agent | None) -> None:
        """Take the agent's name and slug docs, releasing the previous ones (reads first, as Firestore requires)."""
        wanted = self._name_refs(agent)
        held = self._name_refs(previous) if previous else {}
        to_take = {kind: ref for kind, ref in wanted.items() if kind not in held or held[kind].id != ref.id}
        for kind, ref in to_take.items():
            snapshot = await ref.get(transaction=transaction)
            if snapshot.exists and snapshot.get("agent_id") != agent.id:
                if kind == "name":
                    raise Conflict(f"{agent.owner} already has an agent named {snapshot.get('value')!r}")
                raise Conflict(f"{agent.owner} already has an agent with the folder name (slug) {agent.slug!r}")
        for kind, ref in wanted.items():
            # Rewritten even when kept, so a case-only rename shows up in later clash messages.
            value = agent.name if kind == "name" else agent.slug
            transaction.set(ref, {"owner": agent.owner, "kind": kind, "value": value, "agent_id": agent.id})
            if kind in to_take and kind in held:
                transaction.delete(held[kind])

    async def create_agent(self, agent: Agent) -> Agent:
        agent = rules.new_agent(agent, rules.utc_now())
        ref = self._agents.document(agent.id)

        async def work(transaction: Any) -> Agent:
            if (await ref.get(transaction=transaction)).exists:
                raise Conflict(f"an agent with id {agent.id!r} already exists")
            await self._claim_names(transaction, agent, None)
            transaction.create(ref, dataclasses.asdict(agent))
            return agent

        return await self._transaction(work)

    async def get_agent(self, agent_id: str) -> Agent | None:
        ref = _existing_doc(self._agents, agent_id)
        if ref is None:
            return None
        snapshot = await ref.get()
        return _record(Agent, snapshot.to_dict()) if snapshot.exists else None

    async def list_agents(self, owner: str | None = None) -> list[Agent]:
        query = self._agents if owner is None else self._agents.where(
            filter=FieldFilter("owner", "==", rules.person_id(owner)))
        agents = [_record(Agent, snapshot.to_dict()) async for snapshot in query.stream()]
        return sorted(agents, key=lambda agent: (agent.created_at, agent.id))

    async def update_agent(self, agent_id: str, changes: dict[str, Any], expected_version: int | None = None) -> Agent:
        rules.check_agent_changes(changes)
        ref = self._agent_ref(agent_id)

        async def work(transaction: Any) -> Agent:
            snapshot = await ref.get(transaction=transaction)
            if not snapshot.exists:
                raise NotFound(f"no agent {agent_id!r}")
            current = _record(Agent, snapshot.to_dict())
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"agent {agent_id!r} was changed meanwhile: it is at version {current.version}, "
                    f"the change was made to version {expected_version}"
                )
            agent = rules.changed_agent(current, changes, rules.utc_now())
            await self._claim_names(transaction, agent, current)
            transaction.set(ref, dataclasses.asdict(agent))
            return agent

        return await self._transaction(work)

    async def delete_agent(self, agent_id: str) -> None:
        ref = self._agent_ref(agent_id)

        async def work(transaction: Any) -> None:
            snapshot = await ref.get(transaction=transaction)
            if not snapshot.exists:
                raise NotFound(f"no agent {agent_id!r}")
            for name_ref in self._name_refs(_record(Agent, snapshot.to_dict())).values():
                transaction.delete(name_ref)
            transaction.delete(ref)

        await self._transaction(work)

    def _agent_ref(self, agent_id: str) -> Any:
        ref = _existing_doc(self._agents, agent_id)
        if ref is None:
            raise NotFound(f"no agent {agent_id!r}")
        return ref

    # -- sessions and usage ----------------------------------------------------
    async def record_session(self, session: Session) -> Session:
        ref = self._sessions.document(rules.record_id(session.session_id, "session id"))

        async def work(transaction: Any) -> Session:
            snapshot = await ref.get(transaction=transaction)
            rules.check_session_holder(session, snapshot.get("owner") if snapshot.exists else None,
                                       snapshot.get("agent_id") if snapshot.exists else None)
            first_created_at = _plain_time(snapshot.get("created_at")) if snapshot.exists else None
            stored = rules.stamped_session(session, first_created_at, rules.utc_now())
            transaction.set(ref, dataclasses.asdict(stored))
            return stored

        return await self._transaction(work)

    async def list_sessions(self, owner: str, agent_id: str | None = None) -> list[Session]:
        query = self._sessions.where(filter=FieldFilter("owner", "==", rules.person_id(owner)))
        if agent_id is not None:
            query = query.where(filter=FieldFilter("agent_id", "==", agent_id))
        sessions = [_record(Session, snapshot.to_dict()) async for snapshot in query.stream()]
        # Newest first, as the dashboard shows them (the same order as the SQLite backend).
        return sorted(sessions, key=lambda s: (s.created_at, s.session_id), reverse=True)

    async def agent_usage(self, owner: str) -> dict[str, AgentUsage]:
        return rules.usage_by_agent(await self.list_agents(owner), await self.list_sessions(owner))

    # -- e-mail outbox ---------------------------------------------------------
    async def queue_messages(self, messages: list[OutboxMessage]) -> None:
        queued = rules.stamped_messages(messages, rules.utc_now())

        async def work(transaction: Any) -> None:
            self._queue_in(transaction, queued)

        await self._transaction(work)

    async def claim_due_message(self, now: datetime, lease_seconds: float) -> OutboxMessage | None:
        now = rules.as_utc(now, "now")
        lease_until = now + timedelta(seconds=lease_seconds)
        due = self._outbox.where(filter=FieldFilter("due_at", "<=", now)).order_by("due_at").limit(_CLAIM_CANDIDATES)
        candidates = [snapshot.reference async for snapshot in due.stream()]

        for ref in candidates:
            async def work(transaction: Any, ref: Any = ref) -> OutboxMessage | None:
                # Read again inside the transaction: another sender may have claimed it since the query.
                snapshot = await ref.get(transaction=transaction)
                if not snapshot.exists:
                    return None
                message = _record(OutboxMessage, snapshot.to_dict())
                if not rules.claimable(message, now):
                    return None
                message.lease_until = lease_until
                message.attempts += 1
                transaction.update(ref, {"lease_until": lease_until, "attempts": message.attempts,
                                         "due_at": _due_at(message)})
                return message

            claimed = await self._transaction(work)
            if claimed is not None:
                return claimed
        return None

    async def mark_sent(self, message_id: str, now: datetime) -> None:
        await self._update_message(message_id, {
            "status": "sent",
            "sent_at": rules.as_utc(now, "now"),
            "lease_until": None,
            "due_at": firestore.DELETE_FIELD,
        })

    async def mark_retry(self, message_id: str, error: str, next_attempt_at: datetime | None) -> None:
        fields: dict[str, Any] = {"last_error": error, "lease_until": None}
        if next_attempt_at is None:
            fields.update(status="failed", due_at=firestore.DELETE_FIELD)
        else:
            next_attempt_at = rules.as_utc(next_attempt_at, "next_attempt_at")
            fields.update(status="pending", next_attempt_at=next_attempt_at, due_at=next_attempt_at)
        await self._update_message(message_id, fields)

    async def _update_message(self, message_id: str, fields: dict[str, Any]) -> None:
        ref = _existing_doc(self._outbox, message_id)
        if ref is None:
            raise NotFound(f"no outbox message {message_id!r}")
        try:
            # update() fails on a missing doc, which is exactly the NotFound we owe.
            await ref.update(fields)
        except google_errors.NotFound as error:
            raise NotFound(f"no outbox message {message_id!r}") from error

    async def list_outbox(self, limit: int = 100) -> list[OutboxMessage]:
        # Firestore breaks created_at ties by doc id in the same direction: id descending, as in SQLite.
        query = self._outbox.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        return [_record(OutboxMessage, snapshot.to_dict()) async for snapshot in query.stream()]

    @functools.cached_property
    def recipes(self):
        from .recipes import FirestoreRecipes

        return FirestoreRecipes(self)

    async def close(self) -> None:
        # AsyncClient has no public close; its gRPC channel exists only once a call was made.
        transport = getattr(self._client, "_transport", None)
        if transport is not None:
            await transport.close()
