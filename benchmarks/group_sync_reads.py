"""Store reads of the beta-group sync per hour at 1,000 approved people: before and after it read only changes.

For each store backend (SQLite, and Firestore on the emulator when Google
Cloud's CLI is installed) this puts ``--people`` approved people into a real,
fresh store, then runs the service's own sync loop (``BetaDesk.keep_in_sync``)
for one hour's worth of rounds (``3600 / OMA_GROUP_SYNC_SECONDS``, 720 at the
default 5 s; the rounds follow one another without the wait, which changes
nothing the store sees), twice:

  before   the algorithm the service had: every round lists every approved person
           (kept here, in ``ListEveryRoundDesk``, only as the baseline)
  after    the service's algorithm: a full read at the first round (and every
           ``OMA_GROUP_FULL_SYNC_SECONDS``, an hour by default), otherwise only the
           people whose beta status changed since the last round

During the hour ``--edits`` admin-panel edits happen (people added to the
group, then as many removed), spread over the rounds, so the changes the sync
reads are real ones.

Reads are counted at the store's API (``CountingStore``): every record a call
returns is one record read, and a call that returns none still reads one
(``get_person`` of an unknown person, a query with no result, the cursor):
that is how Firestore bills reads (a query is at least one read), so the
"records read" column is Firestore's bill for the same calls. Writes
(decisions) read the person inside their transaction: counted too.

The hub's group is held in this process (``GroupOfTheHub``): each round's
``GET /hub/api/groups/beta`` is a query of the hub's own database, not a store
read, and is counted separately as hub requests.

Run from the project root:

    .venv/bin/python benchmarks/group_sync_reads.py [--people 1000] [--edits 10] [--backends sqlite,firestore]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents_extension.service.beta import BetaDesk  # noqa: E402
from agents_extension.store import BetaApplication, BetaDecision, Store, open_store  # noqa: E402
from email_hook import templates as email_templates  # noqa: E402
from tests.store.conftest import firestore_emulator_missing, running_firestore_emulator  # noqa: E402

SYNC_SECONDS = float(os.environ.get("OMA_GROUP_SYNC_SECONDS", "5"))
FULL_SYNC_SECONDS = float(os.environ.get("OMA_GROUP_FULL_SYNC_SECONDS", "3600"))
GROUP = "beta"

# The store calls that read, and what each returns; everything else passes through uncounted.
READING_CALLS = ("get_person", "list_people", "beta_changes_since", "beta_changes_cursor", "decide_beta",
                 "record_sign_in", "apply_for_beta")


class CountingStore:
    """A real store, with every record its reading calls return counted (at least one per call)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if name not in READING_CALLS:
            return method

        async def counted(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            if isinstance(result, list):
                returned = len(result)
            elif hasattr(result, "people"):  # BetaChanges
                returned = len(result.people)
            else:
                returned = 1  # one record (or the one-record lookup of the cursor)
            self.reads[name] += max(1, returned)
            return result

        return counted


class GroupOfTheHub:
    """The hub's beta group, held here: the hub's side of the sync is not what is measured."""

    def __init__(self, members: set[str]) -> None:
        self.members = set(members)
        self.requests = 0
        self.rounds = 0

    async def group_members(self, group: str) -> set[str]:
        self.requests += 1
        self.rounds += 1
        return set(self.members)

    async def add_to_group(self, group: str, names: list[str]) -> None:
        self.requests += 1
        self.members.update(names)

    async def remove_from_group(self, group: str, names: list[str]) -> None:
        self.requests += 1
        self.members.difference_update(names)

    async def stop_server(self, name: str) -> None:
        self.requests += 1


class ListEveryRoundDesk(BetaDesk):
    """The sync as it was: who the store has approved, listed in full every round."""

    async def _approved_in_store(self) -> set[str]:
        return {p.email for p in await self.store.list_people("approved")}


async def fill(store: Store, people: int) -> list[str]:
    emails = [f"person{i:05d}@example.com" for i in range(people)]
    application = BetaApplication(name="Benchmark person", purpose="Counting reads")
    approval = BetaDecision("approved", by="admin@example.com")
    for start in range(0, people, 50):
        batch = emails[start:start + 50]
        await asyncio.gather(*(store.apply_for_beta(email, application, []) for email in batch))
        await asyncio.gather(*(store.decide_beta(email, approval, []) for email in batch))
    return emails


async def one_hour(desk_class: type[BetaDesk], url: str, emails: list[str], edits: int) -> tuple[Counter, int, int]:
    """Run the service's sync loop for an hour's rounds; the store reads by call, the hub requests, the rounds."""
    store = CountingStore(open_store(url))
    hub = GroupOfTheHub(set(emails))
    desk = desk_class(store=store, hub=hub, group=GROUP, hub_url="http://127.0.0.1:8000", admin_emails=[],
                      compose_email=email_templates.compose, full_sync_seconds=FULL_SYNC_SECONDS)
    rounds = round(3600 / SYNC_SECONDS)
    newcomers = [f"newcomer-{uuid.uuid4().hex[:8]}@example.com" for _ in range(edits // 2)]
    # Panel edits at evenly spread rounds: first newcomers added, then as many approved people removed.
    edit_at = {round((i + 1) * rounds / (edits + 1)): i for i in range(edits)}
    stop = asyncio.Event()

    async def panel_edits() -> None:
        done = set()
        while not stop.is_set():
            index = edit_at.get(hub.rounds)
            if index is not None and index not in done:
                done.add(index)
                if index < len(newcomers):
                    hub.members.add(newcomers[index])
                else:
                    hub.members.discard(emails[index - len(newcomers)])
            if hub.rounds >= rounds:
                stop.set()
            await asyncio.sleep(0)

    editing = asyncio.create_task(panel_edits())
    await desk.keep_in_sync(0, stop)
    await editing
    await store.close()
    return store.reads, hub.requests, hub.rounds


async def measure(label: str, new_store_url: Callable[[], str], people: int, edits: int) -> None:
    print(f"\n{label}: one hour of sync rounds every {SYNC_SECONDS:g} s at {people} approved people,"
          f" {edits} admin-panel edits in it (each algorithm on a store of its own, filled alike)", flush=True)
    print(f"  {'algorithm':<40} {'rounds':>7} {'records read / hour':>20} {'hub requests / hour':>20}")
    for name, desk_class in (("before: every approved person each round", ListEveryRoundDesk),
                             ("after: changes since the last round", BetaDesk)):
        url = new_store_url()
        filler = open_store(url)
        emails = await fill(filler, people)
        await filler.close()
        reads, hub_requests, rounds = await one_hour(desk_class, url, emails, edits)
        detail = ", ".join(f"{call} {count}" for call, count in sorted(reads.items()))
        print(f"  {name:<40} {rounds:>7} {sum(reads.values()):>20,} {hub_requests:>20,}")
        print(f"    by call: {detail}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=10, help="admin-panel edits of the group during the hour")
    parser.add_argument("--backends", default="sqlite,firestore")
    args = parser.parse_args()
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as folder:
        if "sqlite" in backends:
            await measure("SQLite", lambda: f"sqlite:///{Path(folder) / uuid.uuid4().hex}.sqlite",
                          args.people, args.edits)
        if "firestore" in backends:
            missing = firestore_emulator_missing()
            if missing:
                print(f"\nFirestore: not measured, {missing}")
                return
            with running_firestore_emulator(Path(folder) / "emulator.log") as host:
                os.environ["FIRESTORE_EMULATOR_HOST"] = host
                await measure("Firestore (emulator)", lambda: f"firestore://oma-bench?prefix=b{uuid.uuid4().hex[:8]}_",
                              args.people, args.edits)


if __name__ == "__main__":
    asyncio.run(main())
