"""The store of the agents service: its records, its errors, and ``open_store`` to pick a backend by URL."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qs, urlsplit

from .base import (
    Agent,
    AgentStatus,
    AgentUsage,
    BetaApplication,
    BetaChanges,
    BetaDecision,
    BetaStatus,
    Conflict,
    MessageStatus,
    NotFound,
    OutboxMessage,
    Person,
    Session,
    SessionStatus,
    Store,
    StoreError,
)

__all__ = [
    "Agent",
    "AgentStatus",
    "AgentUsage",
    "BetaApplication",
    "BetaChanges",
    "BetaDecision",
    "BetaStatus",
    "Conflict",
    "MessageStatus",
    "NotFound",
    "OutboxMessage",
    "Person",
    "Session",
    "SessionStatus",
    "Store",
    "StoreError",
    "open_store",
]

ACCEPTED_URLS = (
    "sqlite:///ABSOLUTE/PATH.db, sqlite:///:memory:, "
    "or firestore://PROJECT_ID[?database=NAME][&prefix=COLLECTION_PREFIX]"
)

# Collection ids cannot contain "/"; keep prefixes to plain characters so the names stay readable.
_PREFIX = re.compile(r"^[A-Za-z0-9_-]*$")


def open_store(url: str) -> Store:
    """The store a URL names (the OMA_STORE_URL setting). Raises ValueError for a URL it cannot use."""
    parts = urlsplit(url.strip())
    if parts.scheme == "sqlite":
        return _open_sqlite(url, parts)
    if parts.scheme == "firestore":
        return _open_firestore(url, parts)
    raise ValueError(f"unsupported store URL {url!r}: use {ACCEPTED_URLS}")


def _open_sqlite(url: str, parts: SplitResult) -> Store:
    from .sqlite import SQLiteStore

    path = parts.path
    if parts.netloc or parts.query or parts.fragment or not path:
        raise ValueError(f"bad SQLite store URL {url!r}: use {ACCEPTED_URLS} (three slashes, then the absolute path)")
    if path == "/:memory:":
        return SQLiteStore(":memory:")
    # "sqlite:///" + "/abs/path" (four slashes, as SQLAlchemy writes it) and "sqlite:///abs/path" mean one file.
    path = "/" + path.lstrip("/")
    if path.endswith("/"):
        raise ValueError(f"bad SQLite store URL {url!r}: it names a folder, not a file; use {ACCEPTED_URLS}")
    return SQLiteStore(path)


def _open_firestore(url: str, parts: SplitResult) -> Store:
    project = parts.netloc
    if not project or parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"bad Firestore store URL {url!r}: use {ACCEPTED_URLS}")
    try:
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as error:
        raise ValueError(f"bad Firestore store URL {url!r}: {error}; use {ACCEPTED_URLS}") from None
    unknown = sorted(set(options) - {"database", "prefix"})
    repeated = sorted(name for name, values in options.items() if len(values) > 1)
    if unknown or repeated:
        problem = f"unknown options {unknown}" if unknown else f"options given twice {repeated}"
        raise ValueError(f"bad Firestore store URL {url!r}: {problem}; use {ACCEPTED_URLS}")
    prefix = options.get("prefix", [""])[0]
    if not _PREFIX.match(prefix):
        raise ValueError(f"bad Firestore store URL {url!r}: the prefix may hold only letters, digits, '_' and '-'")
    database = options.get("database", [""])[0] or None

    # Imported here so the SQLite default works without google-cloud-firestore's import cost.
    from .firestore import FirestoreStore

    return FirestoreStore(project, database=database, prefix=prefix)
