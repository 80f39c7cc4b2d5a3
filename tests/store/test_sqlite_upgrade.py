"""An SQLite store made before people carried a beta change stamp opens, and keeps working."""

from __future__ import annotations

import sqlite3

from agents_extension.store import BetaDecision, open_store

# The people table as it was before beta_revision.
OLD_PEOPLE = """
CREATE TABLE people (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    picture TEXT NOT NULL DEFAULT '',
    google_id TEXT NOT NULL DEFAULT '',
    created_at TEXT,
    last_seen_at TEXT,
    beta_status TEXT NOT NULL DEFAULT 'none',
    application TEXT,
    decision TEXT
);
"""


async def test_an_older_store_gets_the_stamp_and_its_unstamped_people_are_listed_only_in_full(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_PEOPLE)
        db.execute("INSERT INTO people (email, beta_status) VALUES ('early@example.com', 'approved')")
        db.execute("INSERT INTO people (email, beta_status) VALUES ('later@example.com', 'none')")

    store = open_store(f"sqlite:///{path}")
    try:
        start = await store.beta_changes_cursor()
        assert (await store.beta_changes_since("0")).people == []  # unstamped: a full read covers them
        assert [p.email for p in await store.list_people("approved")] == ["early@example.com"]

        await store.decide_beta("later@example.com", BetaDecision("approved", by="admin@example.com"), [])
        changes = await store.beta_changes_since(start)
        assert [(p.email, p.beta_status) for p in changes.people] == [("later@example.com", "approved")]
    finally:
        await store.close()

    reopened = open_store(f"sqlite:///{path}")  # the upgrade is done once; opening again changes nothing
    try:
        assert (await reopened.beta_changes_since(start)).cursor == changes.cursor
    finally:
        await reopened.close()
