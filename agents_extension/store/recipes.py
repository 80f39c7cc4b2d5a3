"""The recipe gallery's shelf: notebooks people share as recipes, with every version they published.

A recipe is what its author wrote about it (title, description, tags), the agent definition the
notebook carries, and counters (imports, runs); each published version keeps its notebook, stored
apart from the recipe so that listing and searching the gallery never reads notebooks.

Both backends decide the same way through the functions at the top (search words, matching,
order), so the gallery lists the same recipes on SQLite and on Firestore:

- SQLite: tables ``recipes`` and ``recipe_versions`` in the store's file, on the store's worker thread.
- Firestore: collections ``recipes`` (doc id = recipe id) and ``recipe_notebooks`` (doc id =
  ``<recipe id>@<version>``). Firestore has no text search: a recipe doc carries ``search_keys``,
  every prefix of every word it can be found by, so a search is one ``array_contains`` query on
  Firestore's index; ``listed_at`` exists only while the recipe is published, so the gallery's
  newest-first page is one query ordered by it, read a page at a time. A search or a tag filter
  ordered by it needs a composite index (array-contains + listed_at descending): FIRESTORE_INDEXES,
  shipped as docs/firestore.indexes.json (docs/deploy-gke.md says how to create them).
"""

from __future__ import annotations

import abc
import dataclasses
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from . import rules
from .base import Conflict, NotFound

if TYPE_CHECKING:  # the backends are imported by their store, which hands itself in
    from .firestore import FirestoreStore
    from .sqlite import SQLiteStore

# Firestore keeps at most 1 MiB per document; a notebook is one field of one, with room for the rest.
MAX_NOTEBOOK_BYTES = 900_000
# Words are searchable by prefixes up to this long; longer query words are matched on that much first.
SEARCH_PREFIX = 20
GALLERY_PAGE = 50


class RecipeStatus(StrEnum):
    PUBLISHED = "published"  # in the gallery
    UNPUBLISHED = "unpublished"  # taken out by its author: only they see it, and may publish it again


class Counter(StrEnum):
    IMPORTS = "imports"
    RUNS = "runs"


@dataclass
class Recipe:
    id: str
    author: str  # the author's e-mail address (their id)
    author_name: str  # as the gallery shows the author
    title: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    agent: dict[str, Any] = field(default_factory=dict)  # the agent definition the notebook carries
    outputs_kept: bool = True
    notebook_bytes: int = 0  # of the current version
    version: int = 1
    status: RecipeStatus = RecipeStatus.PUBLISHED
    imports: int = 0
    runs: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None  # when the current version was published (or the status changed)


# What a new version may change; the rest is the shelf's.
VERSION_FIELDS = frozenset({"title", "description", "tags", "agent", "outputs_kept", "author_name"})

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words text is found by: letters and digits of any script, case and accents folded."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


def searchable_text(recipe: Recipe) -> str:
    """Everything a person may search a recipe by: its words, the author, the agent's name and model."""
    return " ".join([recipe.title, recipe.description, " ".join(recipe.tags), recipe.author_name,
                     str(recipe.agent.get("name") or ""), str(recipe.agent.get("model") or "")])


def search_keys(recipe: Recipe) -> list[str]:
    """Every prefix (up to SEARCH_PREFIX characters) of every word of the recipe."""
    keys = {word[:length] for word in words(searchable_text(recipe)) for length in range(1, min(len(word), SEARCH_PREFIX) + 1)}
    return sorted(keys)


def matches(recipe: Recipe, query_words: list[str]) -> bool:
    """A recipe matches when each word of the query begins a word of the recipe."""
    own = words(searchable_text(recipe))
    return all(any(word.startswith(q) for word in own) for q in query_words)


def tag_key(tag: str) -> str:
    """Tags are compared as people read them: "Marketing" and "marketing" are one tag."""
    return unicodedata.normalize("NFKC", tag).strip().casefold()


def gallery_order(recipe: Recipe) -> tuple:
    """Newest published version first; ties by id, the same on both backends."""
    return (recipe.updated_at, recipe.id)


def _checked_notebook(notebook: str) -> int:
    size = len(notebook.encode("utf-8"))
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"a recipe notebook may hold at most {MAX_NOTEBOOK_BYTES} bytes, this one {size}")
    return size


def _new_recipe(recipe: Recipe, notebook: str, now: datetime) -> Recipe:
    rules.record_id(recipe.id, "recipe id")
    return dataclasses.replace(recipe, author=rules.person_id(recipe.author), tags=list(recipe.tags),
                               notebook_bytes=_checked_notebook(notebook), version=1, status=RecipeStatus.PUBLISHED,
                               imports=0, runs=0, created_at=now, updated_at=now)


def _next_version(current: Recipe, changes: dict[str, Any], notebook: str, now: datetime) -> Recipe:
    unknown = set(changes) - VERSION_FIELDS
    if unknown:
        raise ValueError(f"a new version cannot change {sorted(unknown)}")
    return dataclasses.replace(current, **changes, notebook_bytes=_checked_notebook(notebook), version=current.version + 1,
                               status=RecipeStatus.PUBLISHED, updated_at=now)


def _check_version(current: Recipe, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != current.version:
        raise Conflict(f"recipe {current.id!r} is at version {current.version}, not {expected_version}: "
                       "someone published a version meanwhile")


def _wanted(recipe: Recipe, wanted_tag: str | None, query_words: list[str]) -> bool:
    """Whether the gallery shows the recipe for this tag (a tag_key, or None) and these search words."""
    return (wanted_tag is None or wanted_tag in {tag_key(t) for t in recipe.tags}) and matches(recipe, query_words)


class RecipeShelf(abc.ABC):
    """What the gallery needs of the store."""

    @abc.abstractmethod
    async def publish(self, recipe: Recipe, notebook: str) -> Recipe:
        """Store a new recipe at version 1, published. Raises Conflict for a used id, ValueError for a notebook
        over MAX_NOTEBOOK_BYTES."""

    @abc.abstractmethod
    async def publish_version(self, recipe_id: str, changes: dict[str, Any], notebook: str,
                              expected_version: int | None = None) -> Recipe:
        """Publish a new version (one higher) with its notebook and the VERSION_FIELDS changed; the earlier
        versions' notebooks stay readable. Publishes an unpublished recipe again. Raises NotFound, or Conflict
        when ``expected_version`` is not the current one."""

    @abc.abstractmethod
    async def get(self, recipe_id: str) -> Recipe | None: ...

    @abc.abstractmethod
    async def notebook(self, recipe_id: str, version: int | None = None) -> str | None:
        """A version's notebook (the current one when None), as published; None when there is none."""

    @abc.abstractmethod
    async def gallery(self, *, tag: str | None = None, query: str | None = None, limit: int = GALLERY_PAGE) -> list[Recipe]:
        """Published recipes, newest version first: with ``tag`` (compared ignoring case), and with every word
        of ``query`` beginning one of a recipe's words (see ``matches``)."""

    @abc.abstractmethod
    async def by_author(self, author: str) -> list[Recipe]:
        """One author's recipes, published or not, newest first."""

    @abc.abstractmethod
    async def set_status(self, recipe_id: str, status: RecipeStatus) -> Recipe:
        """Unpublish, or publish again the current version. Raises NotFound."""

    @abc.abstractmethod
    async def remove(self, recipe_id: str) -> None:
        """The recipe and every version's notebook, gone. Raises NotFound."""

    @abc.abstractmethod
    async def count(self, recipe_id: str, counter: Counter) -> Recipe:
        """One more import or run, counted atomically. Raises NotFound."""


# -- SQLite -----------------------------------------------------------------------------------

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS recipes (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    author_name TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',   -- JSON list, as the author wrote them
    tag_keys TEXT NOT NULL DEFAULT '[]',  -- JSON list of tag_key(tag), for the tag filter
    agent TEXT NOT NULL DEFAULT '{}',  -- JSON object: the agent definition
    outputs_kept INTEGER NOT NULL DEFAULT 1,
    notebook_bytes INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    imports INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL DEFAULT '',  -- the words of searchable_text, for LIKE before matches()
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recipes_listed ON recipes (status, updated_at);
CREATE INDEX IF NOT EXISTS recipes_by_author ON recipes (author);

CREATE TABLE IF NOT EXISTS recipe_versions (
    recipe_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    notebook TEXT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (recipe_id, version)
);
"""


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SQLiteRecipes(RecipeShelf):
    """The shelf in the SQLite store's file, on its one worker thread."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        store._worker.submit(store._db.executescript, SQLITE_SCHEMA).result()

    @staticmethod
    def _row(recipe: Recipe) -> dict[str, Any]:
        from .sqlite import _time

        row = dataclasses.asdict(recipe)
        row.update(tags=json.dumps(recipe.tags, ensure_ascii=False), agent=json.dumps(recipe.agent, ensure_ascii=False),
                   tag_keys=json.dumps([tag_key(t) for t in recipe.tags], ensure_ascii=False),
                   outputs_kept=int(recipe.outputs_kept), search_text=" ".join(words(searchable_text(recipe))),
                   created_at=_time(recipe.created_at), updated_at=_time(recipe.updated_at))
        return row

    @staticmethod
    def _read(row: Any) -> Recipe:
        from .sqlite import _read_time

        values = dict(row)
        for bookkeeping in ("tag_keys", "search_text"):
            values.pop(bookkeeping)
        values.update(tags=json.loads(values["tags"]), agent=json.loads(values["agent"]),
                      outputs_kept=bool(values["outputs_kept"]), created_at=_read_time(values["created_at"]),
                      updated_at=_read_time(values["updated_at"]))
        return Recipe(**values)

    def _save(self, db: Any, recipe: Recipe, insert: bool) -> None:
        row = self._row(recipe)
        if insert:
            db.execute(f"INSERT INTO recipes ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})", row)
        else:
            db.execute(f"UPDATE recipes SET {', '.join(f'{k} = :{k}' for k in row if k != 'id')} WHERE id = :id", row)

    def _current(self, recipe_id: str) -> Recipe:
        row = self._store._one("SELECT * FROM recipes WHERE id = ?", recipe_id)
        if row is None:
            raise NotFound(f"no recipe {recipe_id!r}")
        return self._read(row)

    def _keep_notebook(self, db: Any, recipe: Recipe, notebook: str) -> None:
        from .sqlite import _time

        db.execute("INSERT INTO recipe_versions (recipe_id, version, notebook, published_at) VALUES (?, ?, ?, ?)",
                   (recipe.id, recipe.version, notebook, _time(recipe.updated_at)))

    async def publish(self, recipe: Recipe, notebook: str) -> Recipe:
        recipe = _new_recipe(recipe, notebook, rules.utc_now())

        def work() -> Recipe:
            with self._store._transaction() as db:
                if self._store._one("SELECT 1 FROM recipes WHERE id = ?", recipe.id):
                    raise Conflict(f"a recipe with id {recipe.id!r} already exists")
                self._save(db, recipe, insert=True)
                self._keep_notebook(db, recipe, notebook)
                return recipe

        return await self._store._run(work)

    async def publish_version(self, recipe_id: str, changes: dict[str, Any], notebook: str,
                              expected_version: int | None = None) -> Recipe:
        now = rules.utc_now()

        def work() -> Recipe:
            with self._store._transaction() as db:
                current = self._current(recipe_id)
                _check_version(current, expected_version)
                recipe = _next_version(current, changes, notebook, now)
                self._save(db, recipe, insert=False)
                self._keep_notebook(db, recipe, notebook)
                return recipe

        return await self._store._run(work)

    async def get(self, recipe_id: str) -> Recipe | None:
        def work() -> Recipe | None:
            row = self._store._one("SELECT * FROM recipes WHERE id = ?", recipe_id)
            return self._read(row) if row else None

        return await self._store._run(work)

    async def notebook(self, recipe_id: str, version: int | None = None) -> str | None:
        def work() -> str | None:
            if version is None:
                row = self._store._one("SELECT v.notebook FROM recipe_versions v JOIN recipes r ON r.id = v.recipe_id "
                                       "AND r.version = v.version WHERE r.id = ?", recipe_id)
            else:
                row = self._store._one("SELECT notebook FROM recipe_versions WHERE recipe_id = ? AND version = ?",
                                       recipe_id, version)
            return row["notebook"] if row else None

        return await self._store._run(work)

    async def gallery(self, *, tag: str | None = None, query: str | None = None, limit: int = GALLERY_PAGE) -> list[Recipe]:
        def work() -> list[Recipe]:
            sql, params = "SELECT * FROM recipes WHERE status = 'published'", []
            if tag:
                sql += " AND EXISTS (SELECT 1 FROM json_each(recipes.tag_keys) WHERE value = ?)"
                params.append(tag_key(tag))
            for word in words(query or ""):
                sql += " AND search_text LIKE ? ESCAPE '\\'"
                params.append(_like(word))
            # LIKE finds words anywhere in a word; matches() keeps those that begin one, so fetch until a page is full.
            rows = self._store._all(sql + " ORDER BY updated_at DESC, id DESC", *params)
            chosen: list[Recipe] = []
            for row in rows:
                recipe = self._read(row)
                if matches(recipe, words(query or "")):
                    chosen.append(recipe)
                    if len(chosen) == limit:
                        break
            return chosen

        return await self._store._run(work)

    async def by_author(self, author: str) -> list[Recipe]:
        key = rules.person_id(author)

        def work() -> list[Recipe]:
            rows = self._store._all("SELECT * FROM recipes WHERE author = ? ORDER BY updated_at DESC, id DESC", key)
            return [self._read(row) for row in rows]

        return await self._store._run(work)

    async def set_status(self, recipe_id: str, status: RecipeStatus) -> Recipe:
        status = RecipeStatus(status)
        now = rules.utc_now()

        def work() -> Recipe:
            with self._store._transaction() as db:
                recipe = dataclasses.replace(self._current(recipe_id), status=status, updated_at=now)
                self._save(db, recipe, insert=False)
                return recipe

        return await self._store._run(work)

    async def remove(self, recipe_id: str) -> None:
        def work() -> None:
            with self._store._transaction() as db:
                if db.execute("DELETE FROM recipes WHERE id = ?", (recipe_id,)).rowcount == 0:
                    raise NotFound(f"no recipe {recipe_id!r}")
                db.execute("DELETE FROM recipe_versions WHERE recipe_id = ?", (recipe_id,))

        await self._store._run(work)

    async def count(self, recipe_id: str, counter: Counter) -> Recipe:
        column = Counter(counter).value  # one of two known column names, never input

        def work() -> Recipe:
            with self._store._transaction() as db:
                if db.execute(f"UPDATE recipes SET {column} = {column} + 1 WHERE id = ?", (recipe_id,)).rowcount == 0:
                    raise NotFound(f"no recipe {recipe_id!r}")
                return self._current(recipe_id)

        return await self._store._run(work)


# -- Firestore --------------------------------------------------------------------------------

_LISTED_AT = "listed_at"
_SEARCH_KEYS = "search_keys"
_TAG_KEYS = "tag_keys"
# Firestore transactions write at most 500 docs; a removal deletes old notebooks in batches of this many.
_BATCH = 400
# The composite indexes the gallery's queries need on Firestore (the emulator needs none; production refuses
# such a query without its index). docs/firestore.indexes.json holds the same (tests/store/test_recipe_conformance.py).
FIRESTORE_INDEXES = [
    {"collectionGroup": "recipes", "queryScope": "COLLECTION",
     "fields": [{"fieldPath": field, "arrayConfig": "CONTAINS"}, {"fieldPath": "listed_at", "order": "DESCENDING"}]}
    for field in ("search_keys", "tag_keys")
]
# Pages read of an ordered gallery query while other words or a tag still drop some of what it finds.
_MAX_PAGE_READ = 200
# What a list reads of each recipe doc: its fields, not the search keys (hundreds per recipe, only for the index).
_RECIPE_FIELDS = [f.name for f in dataclasses.fields(Recipe)]


class FirestoreRecipes(RecipeShelf):
    """The shelf in the Firestore store's database, behind its collection prefix."""

    def __init__(self, store: FirestoreStore) -> None:
        self._store = store
        self._recipes = store._client.collection(f"{store.prefix}recipes")
        self._notebooks = store._client.collection(f"{store.prefix}recipe_notebooks")

    @staticmethod
    def _doc(recipe: Recipe) -> dict[str, Any]:
        """The whole doc (written with set(), never merged: the agent definition is replaced, not merged)."""
        doc = dataclasses.asdict(recipe)
        doc[_SEARCH_KEYS] = search_keys(recipe)
        doc[_TAG_KEYS] = sorted({tag_key(t) for t in recipe.tags})
        if recipe.status == RecipeStatus.PUBLISHED:
            doc[_LISTED_AT] = recipe.updated_at  # only while published: the gallery's ordered query sees nothing else
        return doc

    @staticmethod
    def _read(data: dict[str, Any]) -> Recipe:
        from .firestore import _record

        return _record(Recipe, data)

    def _ref(self, recipe_id: str) -> Any:
        from .firestore import _existing_doc

        ref = _existing_doc(self._recipes, recipe_id)
        if ref is None:
            raise NotFound(f"no recipe {recipe_id!r}")
        return ref

    def _notebook_ref(self, recipe_id: str, version: int) -> Any:
        return self._notebooks.document(f"{recipe_id}@{version}")

    async def _current(self, transaction: Any, ref: Any) -> Recipe:
        snapshot = await ref.get(transaction=transaction)
        if not snapshot.exists:
            raise NotFound(f"no recipe {ref.id!r}")
        return self._read(snapshot.to_dict())

    async def publish(self, recipe: Recipe, notebook: str) -> Recipe:
        recipe = _new_recipe(recipe, notebook, rules.utc_now())
        ref = self._recipes.document(recipe.id)

        async def work(transaction: Any) -> Recipe:
            if (await ref.get(transaction=transaction)).exists:
                raise Conflict(f"a recipe with id {recipe.id!r} already exists")
            doc = self._doc(recipe)
            transaction.create(ref, doc)
            transaction.set(self._notebook_ref(recipe.id, 1), {"recipe_id": recipe.id, "version": 1, "notebook": notebook,
                                                               "published_at": recipe.updated_at})
            return recipe

        return await self._store._transaction(work)

    async def publish_version(self, recipe_id: str, changes: dict[str, Any], notebook: str,
                              expected_version: int | None = None) -> Recipe:
        ref = self._ref(recipe_id)

        async def work(transaction: Any) -> Recipe:
            current = await self._current(transaction, ref)
            _check_version(current, expected_version)
            recipe = _next_version(current, changes, notebook, rules.utc_now())
            transaction.set(ref, self._doc(recipe))
            transaction.set(self._notebook_ref(recipe.id, recipe.version),
                            {"recipe_id": recipe.id, "version": recipe.version, "notebook": notebook,
                             "published_at": recipe.updated_at})
            return recipe

        return await self._store._transaction(work)

    async def get(self, recipe_id: str) -> Recipe | None:
        from .firestore import _existing_doc

        ref = _existing_doc(self._recipes, recipe_id)
        if ref is None:
            return None
        snapshot = await ref.get()
        return self._read(snapshot.to_dict()) if snapshot.exists else None

    async def notebook(self, recipe_id: str, version: int | None = None) -> str | None:
        if version is None:
            recipe = await self.get(recipe_id)
            if recipe is None:
                return None
            version = recipe.version
        elif await self.get(recipe_id) is None:
            return None
        snapshot = await self._notebook_ref(recipe_id, version).get()
        return snapshot.get("notebook") if snapshot.exists else None

    async def gallery(self, *, tag: str | None = None, query: str | None = None, limit: int = GALLERY_PAGE) -> list[Recipe]:
        from google.cloud import firestore
        from google.cloud.firestore_v1.base_query import FieldFilter

        query_words = words(query or "")
        listed = self._recipes
        if query_words:
            # The longest word narrows most; the other words and the tag are checked on what it finds.
            key = max(query_words, key=len)[:SEARCH_PREFIX]
            listed = listed.where(filter=FieldFilter(_SEARCH_KEYS, "array_contains", key))
        elif tag:
            listed = listed.where(filter=FieldFilter(_TAG_KEYS, "array_contains", tag_key(tag)))
        # Newest first by Firestore itself (one composite index per filter: FIRESTORE_INDEXES), read a page
        # at a time: a common word or tag reads the page asked for, not every recipe it is in.
        listed = listed.order_by(_LISTED_AT, direction=firestore.Query.DESCENDING).select(_RECIPE_FIELDS + [_LISTED_AT])
        # Firestore's filter is the whole test for one word (of at most SEARCH_PREFIX letters) or one tag; other
        # words, a tag beside words, are checked here and drop some of each page, so pages are larger then.
        whole = not query_words or (len(query_words) == 1 and not tag and len(query_words[0]) <= SEARCH_PREFIX)
        page = limit if whole else min(2 * limit, _MAX_PAGE_READ)
        wanted_tag = tag_key(tag) if tag else None
        chosen: list[Recipe] = []
        after = None
        while True:
            ordered = listed.limit(page) if after is None else listed.start_after(after).limit(page)
            snapshots = [s async for s in ordered.stream()]
            for snapshot in snapshots:
                data = snapshot.to_dict()
                data.pop(_LISTED_AT, None)
                recipe = self._read(data)
                if recipe.status == RecipeStatus.PUBLISHED and _wanted(recipe, wanted_tag, query_words):
                    chosen.append(recipe)
                    if len(chosen) == limit:
                        return chosen
            if len(snapshots) < page:
                return chosen
            after = snapshots[-1]

    async def by_author(self, author: str) -> list[Recipe]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._recipes.where(filter=FieldFilter("author", "==", rules.person_id(author))).select(_RECIPE_FIELDS)
        found = [self._read(s.to_dict()) async for s in query.stream()]
        return sorted(found, key=gallery_order, reverse=True)

    async def set_status(self, recipe_id: str, status: RecipeStatus) -> Recipe:
        status = RecipeStatus(status)
        ref = self._ref(recipe_id)

        async def work(transaction: Any) -> Recipe:
            recipe = dataclasses.replace(await self._current(transaction, ref), status=status, updated_at=rules.utc_now())
            transaction.set(ref, self._doc(recipe))
            return recipe

        return await self._store._transaction(work)

    async def remove(self, recipe_id: str) -> None:
        ref = self._ref(recipe_id)

        async def work(transaction: Any) -> int:
            recipe = await self._current(transaction, ref)
            transaction.delete(ref)
            return recipe.version

        versions = await self._store._transaction(work)
        # Once the recipe is gone nothing lists or reads its notebooks; they go after it, in batches.
        refs = [self._notebook_ref(recipe_id, v) for v in range(1, versions + 1)]
        for start in range(0, len(refs), _BATCH):
            batch = self._store._client.batch()
            for notebook_ref in refs[start:start + _BATCH]:
                batch.delete(notebook_ref)
            await batch.commit()

    async def count(self, recipe_id: str, counter: Counter) -> Recipe:
        from google.api_core import exceptions as google_errors
        from google.cloud import firestore

        counter = Counter(counter)
        ref = self._ref(recipe_id)
        try:
            # Incremented by Firestore itself: imports counted at once never contend for a transaction.
            await ref.update({counter.value: firestore.Increment(1)})
        except google_errors.NotFound as error:
            raise NotFound(f"no recipe {recipe_id!r}") from error
        recipe = await self.get(recipe_id)
        if recipe is None:  # removed in between
            raise NotFound(f"no recipe {recipe_id!r}")
        return recipe
