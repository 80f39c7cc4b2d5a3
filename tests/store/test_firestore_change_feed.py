"""Firestore's beta change feed when a change becomes visible after a later-stamped one.

The emulator does this with concurrent commits (the conformance suite's concurrent-polling case
showed it). Here the late change is written directly, stamped between the cursor's floor and the
last change a poll handed out: the next poll must still list it, and only once.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from agents_extension.store import open_store
from agents_extension.store.base import BetaDecision

APPROVE = BetaDecision("approved", by="admin@example.com")


@pytest.fixture
async def store(firestore_emulator):
    opened = open_store(f"firestore://oma-test?prefix=f{uuid.uuid4().hex[:12]}_")
    yield opened
    await opened.close()


def emails(changes) -> list[str]:
    return [p.email for p in changes.people]


async def test_a_change_visible_after_a_later_stamped_one_is_still_listed_once(store):
    for email in ("early@example.com", "late@example.com"):
        await store.record_sign_in(email)
    cursor = await store.beta_changes_cursor()
    await store.decide_beta("early@example.com", APPROVE, [])
    first = await store.beta_changes_since(cursor)
    assert emails(first) == ["early@example.com"]

    # "late" was decided a moment before "early" but only shows now.
    early_stamp = (await store._people.document("early@example.com").get()).get("beta_changed_at")
    await store._people.document("late@example.com").update({
        "beta_status": "approved", "beta_changed_at": early_stamp - timedelta(milliseconds=5)})

    second = await store.beta_changes_since(first.cursor)
    assert emails(second) == ["late@example.com"]
    assert (await store.beta_changes_since(second.cursor)).people == []


async def test_once_changes_have_settled_a_poll_reads_nothing_again(store, monkeypatch):
    from agents_extension.store import firestore as backend

    await store.record_sign_in("ada@example.com")
    cursor = await store.beta_changes_cursor()
    await store.decide_beta("ada@example.com", APPROVE, [])
    first = await store.beta_changes_since(cursor)
    assert "~" in first.cursor  # still settling: the change's key travels in the cursor
    monkeypatch.setattr(backend, "_SETTLING", timedelta(0))
    settled = await store.beta_changes_since(first.cursor)
    assert settled.people == [] and "~" not in settled.cursor
