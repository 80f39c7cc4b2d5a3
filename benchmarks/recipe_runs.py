"""A 10-cell recipe run headless (recipes.runner, as the Run form and `oh-my-agent run` do) against the same
cells run interactively (one kernel, cell after cell, as JupyterLab sends them), on the real Claude kernel and
CLI with the fake model.

Prints, over ``--rounds`` rounds: the mean time per cell each way and the headless run's overhead per cell
(target: at most 50 ms), and the time from a run's start to its first cell starting (kernel start
included) against an interactive kernel's start to its first cell.

Run from the project root:

    .venv/bin/python benchmarks/recipe_runs.py [--cells 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_client.manager import start_new_kernel  # noqa: E402

from recipes.runner import RecipeRun  # noqa: E402
from tests.fake_model import FakeModel  # noqa: E402
from tests.recipes.notebooks import recipe, write  # noqa: E402


def environment(model: FakeModel, home: Path) -> None:
    agent = home / "agents" / "bench"
    agent.mkdir(parents=True)
    settings = home / "settings.json"
    settings.write_text("{}")
    os.environ.update({**model.client_environment(), "CLAUDE_CONFIG_DIR": str(home / "claude-config"),
                       "CLAUDE_AGENT_DIR": str(agent), "CLAUDE_AGENT_SETTINGS": str(settings),
                       "CLAUDE_KERNEL_STATE_DIR": str(home / "kernel-state")})


def interactive(prompts: list[str], notebook: Path) -> tuple[float, list[float]]:
    started = time.monotonic()
    # JupyterLab names the notebook to its kernel (which then remembers the session per notebook), as a run does
    km, kc = start_new_kernel(kernel_name="claude", startup_timeout=60,
                              env={**os.environ, "JPY_SESSION_NAME": str(notebook)})
    try:
        first = time.monotonic() - started
        times = []
        for prompt in prompts:
            t = time.monotonic()
            reply = kc.execute_interactive(prompt, output_hook=lambda m: None, timeout=120, allow_stdin=False)
            assert reply["content"]["status"] == "ok", reply["content"]
            times.append(time.monotonic() - t)
        return first, times
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


async def headless(path: Path, runs: Path) -> tuple[float, list[float]]:
    marks: list[float] = []
    run = RecipeRun(path, {}, runs_dir=runs, on_progress=lambda r: marks.append(time.monotonic())).prepare()
    started = time.monotonic()
    progress = await run.run()
    assert progress.status == "finished", progress.error
    # on_progress is called as each cell starts, and once more after the kernel has shut down: the time from one
    # cell's start to the next's is the cell with everything the run adds (provenance, writing the notebook)
    return marks[0] - started, [b - a for a, b in zip(marks[:-2], marks[1:-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    model = FakeModel().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            environment(model, home)
            prompts = [f"Step {i + 1}: answer in one word." for i in range(args.cells)]
            path = write(home / "bench.ipynb", recipe(*prompts, parameters=None))
            firsts = {"interactive": [], "headless": []}
            cells = {"interactive": [], "headless": []}
            for round_ in range(args.rounds):
                first, times = interactive(prompts, home / f"interactive-{round_}.ipynb")
                firsts["interactive"].append(first)
                cells["interactive"] += times[1:-1]  # the first cell also waits for Claude Code to start
                first, times = asyncio.run(headless(path, home / "runs"))
                firsts["headless"].append(first)
                cells["headless"] += times[1:]  # cells 2..n-1: the last one's end is not marked
    finally:
        model.stop()
    mean = {way: statistics.mean(values) for way, values in cells.items()}
    print(f"{args.cells}-cell recipe, {args.rounds} rounds, fake model (cells 2..{args.cells - 1} of each round)")
    for way in ("interactive", "headless"):
        print(f"  {way:<11}  per cell: mean {mean[way] * 1000:7.1f} ms, p50 {statistics.median(cells[way]) * 1000:7.1f} ms"
              f"   start to first cell: {statistics.median(firsts[way]) * 1000:7.0f} ms (median)")
    overhead = (mean["headless"] - mean["interactive"]) * 1000
    print(f"  headless overhead per cell: {overhead:+.1f} ms (target <= 50 ms): {'met' if overhead <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
