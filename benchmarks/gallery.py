"""The recipe gallery's list and search, p50 and p95, with 1,000 recipes, on SQLite and on the Firestore emulator.

For each store backend this publishes ``--recipes`` recipes into a real, fresh store (titles, descriptions
and tags drawn from a fixed vocabulary, 50 authors, a small notebook each; seeded, so every run has the
same gallery), then times what one gallery request asks of the store and the service, as the API does it
(``store.recipes.gallery(...)`` and the JSON of its answer), ``--rounds`` times per kind:

  list          the newest 50 published recipes (the gallery's first page)
  tag           one tag, about one recipe in ten
  word          one common word
  two words     two words, each beginning a word of the recipe
  prefix        the start of a word ("mark" for "marketing"), as people type
  rare          a word only a few recipes have

Run from the project root (the Firestore part needs Google Cloud's CLI with the emulator, and Java):

    .venv/bin/python benchmarks/gallery.py [--recipes 1000] [--rounds 100] [--backends sqlite,firestore]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents_extension.service.gallery import recipe_json  # noqa: E402
from agents_extension.store import open_store  # noqa: E402
from agents_extension.store.recipes import Recipe  # noqa: E402
from tests.store.conftest import firestore_emulator_missing, running_firestore_emulator  # noqa: E402

WORDS = ("weekly report competitor prices launches customer interviews survey summary market research sales "
         "forecast campaign newsletter social media trends budget review hiring onboarding support tickets "
         "churn retention pricing product roadmap release notes meeting minutes analysis dashboard quarterly "
         "revenue growth funnel leads outreach partners investors pitch deck blog draft translation korean "
         "english legal contract risk compliance inventory supplier logistics shipping returns feedback").split()
TAGS = ("marketing sales research ops finance hr support product legal weekly daily monthly data writing "
        "translation analysis planning reporting outreach strategy").split()
RARE = "zeppelin"
NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "markdown", "metadata": {}, "source": "# A recipe\n" + "Some words. " * 100},
    {"cell_type": "code", "metadata": {}, "source": "Summarise the week.", "execution_count": None, "outputs": []}]})
QUERIES = {"list": {}, "tag": {"tag": "marketing"}, "word": {"query": "weekly"},
           "two words": {"query": "competitor prices"}, "prefix": {"query": "mark"}, "rare": {"query": RARE}}


def a_recipe(number: int, rng: random.Random) -> Recipe:
    title = " ".join(rng.sample(WORDS, 4)).capitalize()
    description = " ".join(rng.choice(WORDS) for _ in range(40)) + (f" {RARE}" if number % 200 == 0 else "")
    author = f"person{number % 50}@example.org"
    return Recipe(id=uuid.uuid4().hex, author=author, author_name=f"Person {number % 50}", title=title,
                  description=description, tags=rng.sample(TAGS, rng.randint(1, 3)),
                  agent={"name": f"Agent {number % 30}", "model": "claude-sonnet-4-5", "allowed_tools": ["Read"]})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def measure(label: str, url: str, recipes: int, rounds: int) -> None:
    store = open_store(url)
    try:
        rng = random.Random(12)
        started = time.perf_counter()
        for start in range(0, recipes, 25):  # 25 at once: publishing is one transaction per recipe
            await asyncio.gather(*(store.recipes.publish(a_recipe(n, rng), NOTEBOOK)
                                   for n in range(start, min(start + 25, recipes))))
        print(f"\n{label}: {recipes} recipes published in {time.perf_counter() - started:.1f} s")
        print(f"  {'request':<12} {'found':>6} {'p50 ms':>8} {'p95 ms':>8}")
        for name, arguments in QUERIES.items():
            await store.recipes.gallery(**arguments)  # warm: the first call opens channels and caches
            times, found = [], 0
            for _ in range(rounds):
                tick = time.perf_counter()
                listed = await store.recipes.gallery(**arguments)
                json.dumps([recipe_json(r) for r in listed])
                times.append((time.perf_counter() - tick) * 1000)
                found = len(listed)
            print(f"  {name:<12} {found:>6} {percentile(times, 0.5):>8.1f} {percentile(times, 0.95):>8.1f}")
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,firestore")
    args = parser.parse_args()
    backends = args.backends.split(",")
    print(f"Gallery list and search: {args.recipes} recipes, {args.rounds} requests of each kind "
          "(the store's call and the answer's JSON, as the API makes it)")
    with tempfile.TemporaryDirectory() as folder:
        new_sqlite: Callable[[], str] = lambda: f"sqlite:///{Path(folder) / uuid.uuid4().hex}.sqlite"  # noqa: E731
        if "sqlite" in backends:
            await measure("SQLite", new_sqlite(), args.recipes, args.rounds)
        if "firestore" in backends:
            missing = firestore_emulator_missing()
            if missing:
                print(f"\nFirestore: not measured, {missing}")
                return
            with running_firestore_emulator(Path(folder) / "emulator.log") as host:
                os.environ["FIRESTORE_EMULATOR_HOST"] = host
                await measure("Firestore (emulator)", f"firestore://oma-bench?prefix=g{uuid.uuid4().hex[:8]}_",
                              args.recipes, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
