"""The embedded store: one SQLite file (or memory), for running on one machine.

sqlite3 blocks, so every call runs on one worker thread that owns the
connection; the event loop never waits on disk. Several processes may open the
same file: writes that touch more than one row take the write lock up front
(BEGIN IMMEDIATE), so a change and its outbox messages land together or not at
all, and two senders can never claim the same message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

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
    StoreError,
)
from .usage import SQLITE_SCHEMA as USAGE_SCHEMA, SQLiteUsage

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    picture TEXT NOT NULL DEFAULT '',
    google_id TEXT NOT NULL DEFAULT '',
    created_at TEXT,
    last_seen_at TEXT,
    beta_status TEXT NOT NULL DEFAULT 'none',
    application TEXT,  -- JSON of BetaApplication
    decision TEXT,     -- JSON of BetaDecision
    beta_revision INTEGER  -- the beta change stamp: see _stamp_beta_change
);
CREATE INDEX IF NOT EXISTS people_by_beta_status ON people (beta_status);

CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,  -- the name as it clashes (rules.agent_name_key)
    slug TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    instructions TEXT NOT NULL DEFAULT '',
    model TEXT,
    permission_mode TEXT NOT NULL,
    allowed_tools TEXT NOT NULL DEFAULT '[]',     -- JSON list
    disallowed_tools TEXT NOT NULL DEFAULT '[]',  -- JSON list
    max_turns INTEGER,
    max_budget_usd REAL,
    monthly_limit_usd REAL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner, name_key),
    UNIQUE (owner, slug)
);

CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    notebook TEXT NOT NULL DEFAULT '',
    turns INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_owner ON sessions (owner, agent_id);

CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    recipients TEXT NOT NULL,  -- JSON list (OutboxMessage.to; "to" is an SQL keyword)
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    lease_until TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_by_created_at ON outbox (created_at);
"""

# Stores made before people carried a beta change stamp get the column; their
# rows stay unstamped (NULL), which beta_changes_since never lists and a full
# list_people covers.
_MIGRATIONS = {
    ("people", "beta_revision"): "ALTER TABLE people ADD COLUMN beta_revision INTEGER",
    ("agents", "monthly_limit_usd"): "ALTER TABLE agents ADD COLUMN monthly_limit_usd REAL",
}
_INDEXES_ON_MIGRATED_COLUMNS = """
CREATE INDEX IF NOT EXISTS people_by_beta_revision ON people (beta_revision);
"""


# Times are stored as fixed-width ISO 8601 text in UTC, so text order is time
# order and SQL comparisons (next_attempt_at <= now) are correct.
def _time(value: datetime | None) -> str | None:
    value = rules.as_utc(value)
    return value.isoformat(timespec="microseconds") if value else None


def _read_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _application_json(application: BetaApplication | None) -> str | None:
    if application is None:
        return None
    return json.dumps({**dataclasses.asdict(application), "applied_at": _time(application.applied_at)})


def _read_application(value: str | None) -> BetaApplication | None:
    if not value:
        return None
    data = json.loads(value)
    return BetaApplication(**{**data, "applied_at": _read_time(data.get("applied_at"))})


def _decision_json(decision: BetaDecision | None) -> str | None:
    if decision is None:
        return None
    return json.dumps({**dataclasses.asdict(decision), "at": _time(decision.at)})


def _read_decision(value: str | None) -> BetaDecision | None:
    if not value:
        return None
    data = json.loads(value)
    return BetaDecision(**{**data, "at": _read_time(data.get("at"))})


def _person_row(person: Person) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "picture": person.picture,
        "google_id": person.google_id,
        "created_at": _time(person.created_at),
        "last_seen_at": _time(person.last_seen_at),
        "beta_status": person.beta_status,
        "application": _application_json(person.application),
        "decision": _decision_json(person.decision),
    }


def _read_person(row: sqlite3.Row) -> Person:
    return Person(
        email=row["email"],
        name=row["name"],
        picture=row["picture"],
        google_id=row["google_id"],
        created_at=_read_time(row["created_at"]),
        last_seen_at=_read_time(row["last_seen_at"]),
        beta_status=row["beta_status"],
        application=_read_application(row["application"]),
        decision=_read_decision(row["decision"]),
    )


def _agent_row(agent: Agent) -> dict[str, Any]:
    row = dataclasses.asdict(agent)
    row.update(
        name_key=rules.agent_name_key(agent.name),
        allowed_tools=json.dumps(list(agent.allowed_tools)),
        disallowed_tools=json.dumps(list(agent.disallowed_tools)),
        created_at=_time(agent.created_at),
        updated_at=_time(agent.updated_at),
    )
    return row


def _read_agent(row: sqlite3.Row) -> Agent:
    values = dict(row)
    del values["name_key"]
    values.update(
        allowed_tools=json.loads(values["allowed_tools"]),
        disallowed_tools=json.loads(values["disallowed_tools"]),
        created_at=_read_time(values["created_at"]),
        updated_at=_read_time(values["updated_at"]),
    )
    return Agent(**values)


def _session_row(session: Session) -> dict[str, Any]:
    row = dataclasses.asdict(session)
    row.update(created_at=_time(session.created_at), updated_at=_time(session.updated_at))
    return row


def _read_session(row: sqlite3.Row) -> Session:
    values = dict(row)
    values.update(created_at=_read_time(values["created_at"]), updated_at=_read_time(values["updated_at"]))
    return Session(**values)


_MESSAGE_TIMES = ("created_at", "next_attempt_at", "lease_until", "sent_at")


def _message_row(message: OutboxMessage) -> dict[str, Any]:
    row = dataclasses.asdict(message)
    row["recipients"] = json.dumps(row.pop("to"))
    row.update({name: _time(getattr(message, name)) for name in _MESSAGE_TIMES})
    return row


def _read_message(row: sqlite3.Row) -> OutboxMessage:
    values = dict(row)
    values["to"] = json.loads(values.pop("recipients"))
    values.update({name: _read_time(values[name]) for name in _MESSAGE_TIMES})
    return OutboxMessage(**values)


def _insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    placeholders = ", ".join(f":{name}" for name in row)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", row)


def _upsert(db: sqlite3.Connection, table: str, key: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    placeholders = ", ".join(f":{name}" for name in row)
    assignments = ", ".join(f"{name} = excluded.{name}" for name in row if name != key)
    db.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT ({key}) DO UPDATE SET {assignments}",
        row,
    )


def _insert_messages(db: sqlite3.Connection, messages: list[OutboxMessage]) -> None:
    for message in messages:
        try:
            _insert(db, "outbox", _message_row(message))
        except sqlite3.IntegrityError as error:
            raise Conflict(f"an outbox message with id {message.id!r} is already queued") from error


def _stamp_beta_change(db: sqlite3.Connection, email: str) -> None:
    """Give the person the next beta revision, inside the change's transaction.

    Writers hold the write lock (BEGIN IMMEDIATE), so revisions are handed out
    in commit order: a reader that has seen revision n has seen every change
    up to n, and "changed since n" misses nothing."""
    db.execute("UPDATE people SET beta_revision = (SELECT COALESCE(MAX(beta_revision), 0) + 1 FROM people)"
               " WHERE email = ?", (email,))


def _read_revision(cursor: str) -> int:
    try:
        revision = int(cursor)
    except (TypeError, ValueError):
        revision = -1
    if revision < 0:
        raise ValueError(f"not a cursor of the SQLite store: {cursor!r}")
    return revision


class SQLiteStore(SQLiteUsage, Store):
    """The Store on SQLite; ``path`` is a file path or ":memory:"."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._closed = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oma-store-sqlite")
        # Opened synchronously so a bad path fails here, where the store is configured.
        try:
            self._db = self._worker.submit(self._connect).result()
        except (OSError, sqlite3.Error) as error:
            self._worker.shutdown(wait=False)
            raise StoreError(f"cannot open the SQLite store at {path}: {error}") from error

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we begin and commit transactions ourselves. The
        # timeout is how long a write waits for another process's transaction.
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        db.row_factory = sqlite3.Row
        # WAL lets readers (the admin pages) go on while the sender writes.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        db.executescript(USAGE_SCHEMA)
        for (table, column), statement in _MIGRATIONS.items():
            if column not in {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}:
                db.execute(statement)
        db.executescript(_INDEXES_ON_MIGRATED_COLUMNS)
        return db

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, work, *args)
        except sqlite3.IntegrityError as error:
            # The checks inside each transaction name the clash; this is the backstop.
            raise Conflict(f"the change clashes with what is stored: {error}") from error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock before reading, so what we read cannot
        # change under us before we write (another process waits, up to the timeout).
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _one(self, sql: str, *params: Any) -> sqlite3.Row | None:
        return self._db.execute(sql, params).fetchone()

    def _all(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    # -- people and beta access ---------------------------------------------
    async def get_person(self, email: str) -> Person | None:
        key = rules.person_id(email)

        def work() -> Person | None:
            row = self._one("SELECT * FROM people WHERE email = ?", key)
            return _read_person(row) if row else None

        return await self._run(work)

    async def record_sign_in(self, email: str, *, name: str = "", picture: str = "", google_id: str = "") -> Person:
        key = rules.person_id(email)
        now = rules.utc_now()

        def work() -> Person:
            with self._transaction() as db:
                row = self._one("SELECT * FROM people WHERE email = ?", key)
                if row is None:
                    person = Person(email=key, name=name, picture=picture, google_id=google_id,
                                    created_at=now, last_seen_at=now)
                    _insert(db, "people", _person_row(person))
                    return person
                person = _read_person(row)
                # An empty value means "not told this time" (the dev login has no picture), not "erase".
                person.name = name or person.name
                person.picture = picture or person.picture
                person.google_id = google_id or person.google_id
                person.last_seen_at = now
                db.execute(
                    "UPDATE people SET name = ?, picture = ?, google_id = ?, last_seen_at = ? WHERE email = ?",
                    (person.name, person.picture, person.google_id, _time(now), key),
                )
                return person

        return await self._run(work)

    async def list_people(self, beta_status: BetaStatus | None = None) -> list[Person]:
        def work() -> list[Person]:
            if beta_status is None:
                rows = self._all("SELECT * FROM people")
            else:
                rows = self._all("SELECT * FROM people WHERE beta_status = ?", beta_status)
            return sorted((_read_person(row) for row in rows), key=rules.people_order_key)

        return await self._run(work)

    async def apply_for_beta(self, email: str, application: BetaApplication, messages: list[OutboxMessage]) -> Person:
        key = rules.person_id(email)
        now = rules.utc_now()
        application = dataclasses.replace(application, applied_at=rules.as_utc(application.applied_at, "applied_at") or now)
        queued = rules.stamped_messages(messages, now)

        def work() -> Person:
            with self._transaction() as db:
                row = self._one("SELECT * FROM people WHERE email = ?", key)
                person = _read_person(row) if row else Person(email=key, created_at=now)
                if person.beta_status in APPLIED:
                    raise Conflict(f"{key} has already applied for the beta (status: {person.beta_status})")
                person.beta_status = "pending"
                person.application = application
                person.decision = None  # a new application starts over; the old decision was about the old one
                _upsert(db, "people", "email", _person_row(person))
                _stamp_beta_change(db, key)
                _insert_messages(db, queued)
                return person

        return await self._run(work)

    async def decide_beta(self, email: str, decision: BetaDecision, messages: list[OutboxMessage]) -> Person:
        key = rules.person_id(email)
        now = rules.utc_now()
        decision = dataclasses.replace(decision, at=rules.as_utc(decision.at, "at") or now)
        queued = rules.stamped_messages(messages, now)

        def work() -> Person:
            with self._transaction() as db:
                row = self._one("SELECT * FROM people WHERE email = ?", key)
                if row is None:
                    raise NotFound(f"no person {key!r}")
                person = _read_person(row)
                if not rules.decision_changes(person, decision):
                    return person
                person.beta_status = decision.status
                person.decision = decision
                db.execute("UPDATE people SET beta_status = ?, decision = ? WHERE email = ?",
                           (person.beta_status, _decision_json(decision), key))
                _stamp_beta_change(db, key)
                _insert_messages(db, queued)
                return person

        return await self._run(work)

    async def beta_changes_cursor(self) -> str:
        def work() -> str:
            return str(self._one("SELECT COALESCE(MAX(beta_revision), 0) AS revision FROM people")["revision"])

        return await self._run(work)

    async def beta_changes_since(self, cursor: str) -> BetaChanges:
        after = _read_revision(cursor)

        def work() -> BetaChanges:
            rows = self._all("SELECT * FROM people WHERE beta_revision > ? ORDER BY beta_revision", after)
            last = rows[-1]["beta_revision"] if rows else after
            return BetaChanges(people=[_read_person(row) for row in rows], cursor=str(last))

        return await self._run(work)

    # -- agents ----------------------------------------------------------------
    def _check_unique(self, agent: Agent) -> None:
        """Raise Conflict when another agent of the owner has this name or slug (inside a transaction)."""
        clash = self._one(
            "SELECT name, slug FROM agents WHERE owner = ? AND id != ? AND (name_key = ? OR slug = ?)",
            agent.owner, agent.id, rules.agent_name_key(agent.name), agent.slug,
        )
        if clash is None:
            return
        if rules.agent_name_key(clash["name"]) == rules.agent_name_key(agent.name):
            raise Conflict(f"{agent.owner} already has an agent named {clash['name']!r}")
        raise Conflict(f"{agent.owner} already has an agent with the folder name (slug) {agent.slug!r}")

    async def create_agent(self, agent: Agent) -> Agent:
        agent = rules.new_agent(agent, rules.utc_now())

        def work() -> Agent:
            with self._transaction() as db:
                if self._one("SELECT 1 FROM agents WHERE id = ?", agent.id):
                    raise Conflict(f"an agent with id {agent.id!r} already exists")
                self._check_unique(agent)
                _insert(db, "agents", _agent_row(agent))
                return agent

        return await self._run(work)

    async def get_agent(self, agent_id: str) -> Agent | None:
        def work() -> Agent | None:
            row = self._one("SELECT * FROM agents WHERE id = ?", agent_id)
            return _read_agent(row) if row else None

        return await self._run(work)

    async def list_agents(self, owner: str | None = None) -> list[Agent]:
        def work() -> list[Agent]:
            if owner is None:
                rows = self._all("SELECT * FROM agents ORDER BY created_at, id")
            else:
                rows = self._all("SELECT * FROM agents WHERE owner = ? ORDER BY created_at, id", rules.person_id(owner))
            return [_read_agent(row) for row in rows]

        return await self._run(work)

    async def update_agent(self, agent_id: str, changes: dict[str, Any], expected_version: int | None = None) -> Agent:
        rules.check_agent_changes(changes)
        now = rules.utc_now()

        def work() -> Agent:
            with self._transaction() as db:
                row = self._one("SELECT * FROM agents WHERE id = ?", agent_id)
                if row is None:
                    raise NotFound(f"no agent {agent_id!r}")
                current = _read_agent(row)
                if expected_version is not None and expected_version != current.version:
                    raise Conflict(
                        f"agent {agent_id!r} was changed meanwhile: it is at version {current.version}, "
                        f"the change was made to version {expected_version}"
                    )
                agent = rules.changed_agent(current, changes, now)
                self._check_unique(agent)
                row = _agent_row(agent)
                assignments = ", ".join(f"{name} = :{name}" for name in row if name != "id")
                db.execute(f"UPDATE agents SET {assignments} WHERE id = :id", row)
                return agent

        return await self._run(work)

    async def delete_agent(self, agent_id: str) -> None:
        def work() -> None:
            if self._db.execute("DELETE FROM agents WHERE id = ?", (agent_id,)).rowcount == 0:
                raise NotFound(f"no agent {agent_id!r}")

        await self._run(work)

    # -- sessions and usage ----------------------------------------------------
    async def record_session(self, session: Session) -> Session:
        now = rules.utc_now()

        def work() -> Session:
            with self._transaction() as db:
                row = self._one("SELECT owner, agent_id, created_at FROM sessions WHERE session_id = ?", session.session_id)
                rules.check_session_holder(session, row["owner"] if row else None, row["agent_id"] if row else None)
                stored = rules.stamped_session(session, _read_time(row["created_at"]) if row else None, now)
                _upsert(db, "sessions", "session_id", _session_row(stored))
                return stored

        return await self._run(work)

    async def list_sessions(self, owner: str, agent_id: str | None = None) -> list[Session]:
        key = rules.person_id(owner)

        def work() -> list[Session]:
            sql = "SELECT * FROM sessions WHERE owner = ?"
            params: list[Any] = [key]
            if agent_id is not None:
                sql += " AND agent_id = ?"
                params.append(agent_id)
            # Newest first, as the dashboard shows them.
            rows = self._all(sql + " ORDER BY created_at DESC, session_id DESC", *params)
            return [_read_session(row) for row in rows]

        return await self._run(work)

    async def agent_usage(self, owner: str) -> dict[str, AgentUsage]:
        agents = await self.list_agents(owner)
        sessions = await self.list_sessions(owner)
        return rules.usage_by_agent(agents, sessions)

    # -- e-mail outbox ---------------------------------------------------------
    async def queue_messages(self, messages: list[OutboxMessage]) -> None:
        queued = rules.stamped_messages(messages, rules.utc_now())

        def work() -> None:
            with self._transaction() as db:
                _insert_messages(db, queued)

        await self._run(work)

    async def claim_due_message(self, now: datetime, lease_seconds: float) -> OutboxMessage | None:
        now = rules.as_utc(now, "now")
        lease_until = now + timedelta(seconds=lease_seconds)

        def work() -> OutboxMessage | None:
            # The same test as rules.claimable, in SQL so the choice and the claim are one statement.
            with self._transaction() as db:
                rows = db.execute(
                    """
                    UPDATE outbox SET lease_until = :lease_until, attempts = attempts + 1
                    WHERE id = (
                        SELECT id FROM outbox
                        WHERE status = 'pending'
                          AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
                          AND (lease_until IS NULL OR lease_until <= :now)
                        ORDER BY next_attempt_at, created_at, id
                        LIMIT 1
                    )
                    RETURNING *
                    """,
                    {"now": _time(now), "lease_until": _time(lease_until)},
                ).fetchall()  # all rows, so the statement is finished before COMMIT
                return _read_message(rows[0]) if rows else None

        return await self._run(work)

    async def mark_sent(self, message_id: str, now: datetime) -> None:
        sent_at = _time(rules.as_utc(now, "now"))

        def work() -> None:
            cursor = self._db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL WHERE id = ?",
                (sent_at, message_id),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no outbox message {message_id!r}")

        await self._run(work)

    async def mark_retry(self, message_id: str, error: str, next_attempt_at: datetime | None) -> None:
        status = "pending" if next_attempt_at is not None else "failed"
        retry_at = _time(rules.as_utc(next_attempt_at, "next_attempt_at"))

        def work() -> None:
            cursor = self._db.execute(
                "UPDATE outbox SET status = ?, last_error = ?, lease_until = NULL,"
                " next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                (status, error, retry_at, message_id),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no outbox message {message_id!r}")

        await self._run(work)

    async def list_outbox(self, limit: int = 100) -> list[OutboxMessage]:
        def work() -> list[OutboxMessage]:
            rows = self._all("SELECT * FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?", limit)
            return [_read_message(row) for row in rows]

        return await self._run(work)

    @functools.cached_property
    def recipes(self):
        from .recipes import SQLiteRecipes

        return SQLiteRecipes(self)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self._db.close)
        self._worker.shutdown(wait=True)
