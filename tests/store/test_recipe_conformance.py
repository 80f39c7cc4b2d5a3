"""The recipe shelf's part of the conformance suite: each case runs on SQLite and on the Firestore emulator
(the ``store`` fixture of tests/store/conftest.py)."""

from __future__ import annotations

import asyncio
import json

import pytest

from agents_extension.store import Conflict, NotFound, Store
from agents_extension.store.recipes import MAX_NOTEBOOK_BYTES, Counter, Recipe, RecipeStatus

AGENT = {"name": "Weekly analyst", "model": "claude-sonnet-4-5", "allowed_tools": ["Read"], "instructions": "Be brief."}


def notebook(text: str = "hello") -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": text}]})


def recipe(recipe_id: str, title: str = "Weekly report", author: str = "ada@example.com", **fields) -> Recipe:
    return Recipe(id=recipe_id, author=author, author_name=fields.pop("author_name", "Ada"), title=title,
                  agent=fields.pop("agent", AGENT), **fields)


async def test_a_published_recipe_reads_back_whole_with_its_notebook(store: Store):
    published = await store.recipes.publish(recipe("r1", description="Monday numbers", tags=["Marketing", "weekly"],
                                                   outputs_kept=False), notebook("v1"))
    assert (published.version, published.status, published.imports, published.runs) == (1, "published", 0, 0)
    assert published.created_at == published.updated_at is not None
    assert published.notebook_bytes == len(notebook("v1").encode())
    assert await store.recipes.get("r1") == published
    assert await store.recipes.notebook("r1") == notebook("v1")
    assert (await store.recipes.get("r1")).agent == AGENT


async def test_a_used_recipe_id_conflicts(store: Store):
    await store.recipes.publish(recipe("r1"), notebook())
    with pytest.raises(Conflict):
        await store.recipes.publish(recipe("r1", title="Another"), notebook())
    assert (await store.recipes.get("r1")).title == "Weekly report"


async def test_a_new_version_keeps_the_earlier_ones_readable(store: Store):
    await store.recipes.publish(recipe("r1"), notebook("v1"))
    second = await store.recipes.publish_version("r1", {"title": "Weekly report, tidier", "tags": ["ops"],
                                                        "agent": {"name": "Weekly analyst"}}, notebook("v2"),
                                                 expected_version=1)
    assert (second.version, second.title, second.tags, second.agent) == (2, "Weekly report, tidier", ["ops"],
                                                                         {"name": "Weekly analyst"})
    assert await store.recipes.get("r1") == second
    assert await store.recipes.notebook("r1") == notebook("v2")
    assert await store.recipes.notebook("r1", 1) == notebook("v1")
    assert await store.recipes.notebook("r1", 3) is None


async def test_a_version_published_over_a_stale_one_conflicts(store: Store):
    await store.recipes.publish(recipe("r1"), notebook("v1"))
    await store.recipes.publish_version("r1", {}, notebook("v2"), expected_version=1)
    with pytest.raises(Conflict):
        await store.recipes.publish_version("r1", {"title": "Lost"}, notebook("v3"), expected_version=1)
    assert (await store.recipes.get("r1")).version == 2
    assert await store.recipes.notebook("r1", 3) is None


@pytest.mark.parametrize("changes", [{"author": "grace@example.com"}, {"imports": 9}, {"id": "x"}])
async def test_a_version_cannot_change_the_author_the_counters_or_the_id(store: Store, changes: dict):
    await store.recipes.publish(recipe("r1"), notebook())
    with pytest.raises(ValueError):
        await store.recipes.publish_version("r1", changes, notebook())


async def test_an_oversize_notebook_is_refused_and_nothing_is_stored(store: Store):
    big = notebook("x" * MAX_NOTEBOOK_BYTES)
    with pytest.raises(ValueError, match="at most"):
        await store.recipes.publish(recipe("r1"), big)
    assert await store.recipes.get("r1") is None
    await store.recipes.publish(recipe("r1"), notebook())
    with pytest.raises(ValueError):
        await store.recipes.publish_version("r1", {}, big)
    assert (await store.recipes.get("r1")).version == 1


async def test_unknown_recipes_are_not_found(store: Store):
    assert await store.recipes.get("nope") is None
    assert await store.recipes.get("a/b") is None
    assert await store.recipes.notebook("nope") is None
    for call in (store.recipes.publish_version("nope", {}, notebook()), store.recipes.remove("nope"),
                 store.recipes.set_status("nope", RecipeStatus.UNPUBLISHED), store.recipes.count("nope", Counter.RUNS),
                 store.recipes.remove("a/b")):
        with pytest.raises(NotFound):
            await call


async def test_the_gallery_lists_published_recipes_newest_version_first(store: Store):
    for recipe_id in ("r1", "r2", "r3"):
        await store.recipes.publish(recipe(recipe_id, title=f"Recipe {recipe_id}"), notebook())
        await asyncio.sleep(0.002)
    await store.recipes.publish_version("r1", {}, notebook("v2"))
    assert [r.id for r in await store.recipes.gallery()] == ["r1", "r3", "r2"]
    assert [r.id for r in await store.recipes.gallery(limit=2)] == ["r1", "r3"]


async def test_unpublished_recipes_leave_the_gallery_but_not_their_authors_list(store: Store):
    await store.recipes.publish(recipe("r1", tags=["ops"]), notebook())
    await store.recipes.publish(recipe("r2", author="grace@example.com"), notebook())
    hidden = await store.recipes.set_status("r1", RecipeStatus.UNPUBLISHED)
    assert hidden.status == "unpublished"
    assert [r.id for r in await store.recipes.gallery()] == ["r2"]
    assert await store.recipes.gallery(tag="ops") == []
    assert await store.recipes.gallery(query="weekly") == [await store.recipes.get("r2")]
    assert [r.id for r in await store.recipes.by_author("ADA@example.com")] == ["r1"]
    await store.recipes.set_status("r1", RecipeStatus.PUBLISHED)
    assert [r.id for r in await store.recipes.gallery()] == ["r1", "r2"]
    # a new version of an unpublished recipe publishes it
    await store.recipes.set_status("r2", RecipeStatus.UNPUBLISHED)
    assert (await store.recipes.publish_version("r2", {}, notebook())).status == "published"
    assert [r.id for r in await store.recipes.gallery()] == ["r2", "r1"]


async def test_tags_filter_ignoring_case(store: Store):
    await store.recipes.publish(recipe("r1", tags=["Marketing", "weekly"]), notebook())
    await store.recipes.publish(recipe("r2", tags=["research"]), notebook())
    assert [r.id for r in await store.recipes.gallery(tag="marketing")] == ["r1"]
    assert [r.id for r in await store.recipes.gallery(tag="RESEARCH")] == ["r2"]
    assert await store.recipes.gallery(tag="sales") == []


@pytest.mark.parametrize(("query", "found"), [
    ("weekly", ["r1"]), ("Week", ["r1"]), ("competitor prices", ["r2"]), ("prices competitor", ["r2"]),
    ("ice", []),  # inside a word, not the start of one
    ("grace", ["r2"]),  # the author
    ("sonnet", ["r1"]),  # the agent's model
    ("주간", ["r3"]), ("보고서", ["r3"]),  # Korean words
    ("analyst", ["r1"]),  # the agent's name
    ("", ["r3", "r2", "r1"]), ("100%", []), ("_", []),
])
async def test_search_finds_recipes_whose_words_each_query_word_begins(store: Store, query: str, found: list[str]):
    await store.recipes.publish(recipe("r1", title="Weekly report", description="Numbers for Monday"), notebook())
    await asyncio.sleep(0.002)
    await store.recipes.publish(recipe("r2", title="Competitor prices", author="grace@example.com", author_name="Grace",
                                       agent={"name": "Pricer", "model": None}), notebook())
    await asyncio.sleep(0.002)
    await store.recipes.publish(recipe("r3", title="주간 보고서", agent={"name": "분석가"}), notebook())
    assert [r.id for r in await store.recipes.gallery(query=query)] == found


async def test_search_and_tag_together(store: Store):
    await store.recipes.publish(recipe("r1", title="Weekly report", tags=["ops"]), notebook())
    await store.recipes.publish(recipe("r2", title="Weekly prices", tags=["sales"]), notebook())
    assert [r.id for r in await store.recipes.gallery(query="weekly", tag="Sales")] == ["r2"]


async def test_a_search_reads_on_until_its_page_is_full_newest_first(store: Store):
    # Twelve recipes share "alpha"; only some also have "beta" or the tag, the oldest among them: a store that
    # reads the newest few of "alpha" and stops would miss them.
    for number in range(12):
        words = "alpha beta" if number in (0, 1, 5) else "alpha"
        await store.recipes.publish(recipe(f"r{number:02}", title=f"{words} {number}",
                                           tags=["rare"] if number in (0, 5) else ["common"]), notebook())
    newest_first = [f"r{n:02}" for n in range(11, -1, -1)]
    assert [r.id for r in await store.recipes.gallery(query="alpha", limit=5)] == newest_first[:5]
    assert [r.id for r in await store.recipes.gallery(query="alpha beta", limit=2)] == ["r05", "r01"]
    assert [r.id for r in await store.recipes.gallery(query="alpha beta", limit=5)] == ["r05", "r01", "r00"]
    assert [r.id for r in await store.recipes.gallery(query="alp", tag="rare", limit=1)] == ["r05"]
    assert [r.id for r in await store.recipes.gallery(tag="common", limit=3)] == ["r11", "r10", "r09"]
    await store.recipes.set_status("r05", RecipeStatus.UNPUBLISHED)
    assert [r.id for r in await store.recipes.gallery(query="beta", limit=5)] == ["r01", "r00"]


def test_the_firestore_indexes_the_gallery_needs_are_shipped_for_the_deploy_guide():
    from pathlib import Path

    from agents_extension.store.recipes import FIRESTORE_INDEXES

    shipped = json.loads((Path(__file__).resolve().parents[2] / "docs" / "firestore.indexes.json").read_text())
    assert shipped["indexes"] == FIRESTORE_INDEXES


async def test_imports_and_runs_are_counted_even_at_once(store: Store):
    await store.recipes.publish(recipe("r1"), notebook())
    await asyncio.gather(*(store.recipes.count("r1", Counter.IMPORTS) for _ in range(5)))
    counted = await store.recipes.count("r1", Counter.RUNS)
    assert (counted.imports, counted.runs) == (5, 1)
    assert await store.recipes.get("r1") == counted


async def test_a_removed_recipe_and_its_versions_are_gone(store: Store):
    await store.recipes.publish(recipe("r1"), notebook("v1"))
    await store.recipes.publish_version("r1", {}, notebook("v2"))
    await store.recipes.publish(recipe("r2"), notebook())
    await store.recipes.remove("r1")
    assert await store.recipes.get("r1") is None
    assert await store.recipes.notebook("r1", 1) is None and await store.recipes.notebook("r1") is None
    assert [r.id for r in await store.recipes.gallery()] == ["r2"]
    assert [r.id for r in await store.recipes.by_author("ada@example.com")] == ["r2"]
    # the id may be used again: nothing of the old recipe comes back with it
    again = await store.recipes.publish(recipe("r1", title="Fresh"), notebook("new"))
    assert again.version == 1 and await store.recipes.notebook("r1", 2) is None
