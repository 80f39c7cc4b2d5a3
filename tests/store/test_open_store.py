"""open_store: which URLs name which backend, and the message a wrong one gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents_extension.store import StoreError, open_store
from agents_extension.store.firestore import FirestoreStore
from agents_extension.store.sqlite import SQLiteStore


async def test_a_sqlite_url_opens_that_file_creating_its_folder(tmp_path: Path):
    path = tmp_path / "hub" / "data" / "store.sqlite"
    store = open_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SQLiteStore)
        await store.record_sign_in("ada@example.com")
    finally:
        await store.close()
    assert path.exists()


@pytest.mark.parametrize("slashes", ["sqlite://", "sqlite:///"])
async def test_three_or_four_slashes_name_the_same_absolute_file(tmp_path: Path, slashes: str):
    path = tmp_path / "store.sqlite"
    store = open_store(f"{slashes}{path}")
    try:
        assert store.path == str(path)
    finally:
        await store.close()


async def test_a_memory_url_opens_a_private_sqlite_store():
    store = open_store("sqlite:///:memory:")
    try:
        assert (await store.record_sign_in("ada@example.com")).email == "ada@example.com"
    finally:
        await store.close()


@pytest.mark.parametrize("url, project, database, prefix", [
    ("firestore://my-project", "my-project", None, ""),
    ("firestore://my-project?database=agents", "my-project", "agents", ""),
    ("firestore://my-project?prefix=test_&database=agents", "my-project", "agents", "test_"),
])
async def test_a_firestore_url_names_project_database_and_prefix(url, project, database, prefix, monkeypatch):
    # The emulator setting lets the client be built without Google credentials; nothing is contacted.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")
    store = open_store(url)
    assert isinstance(store, FirestoreStore)
    assert (store.project, store.database, store.prefix) == (project, database, prefix)
    await store.close()


@pytest.mark.parametrize("url", [
    "",
    "postgres://localhost/db",
    "sqlite://relative.db",
    "sqlite:///",
    "sqlite:///relative/../x.db?mode=ro",
    "firestore://",
    "firestore://project/path",
    "firestore://project?collection=x",
    "firestore://project?prefix=a/b",
    "firestore://project?prefix=a&prefix=b",
])
def test_a_bad_url_says_which_forms_are_accepted(url: str):
    with pytest.raises(ValueError) as raised:
        open_store(url)
    message = str(raised.value)
    if "prefix may hold" not in message:
        assert "sqlite:///ABSOLUTE/PATH.db" in message and "firestore://PROJECT_ID" in message


def test_an_unopenable_sqlite_file_says_where(tmp_path: Path):
    folder = tmp_path / "taken"
    folder.mkdir()
    with pytest.raises(StoreError, match=f"cannot open the SQLite store at {folder}"):
        open_store(f"sqlite:///{folder}")
