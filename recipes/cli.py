"""``oh-my-agent run NOTEBOOK -p name=value ... [-o OUT]``: run a recipe headless from a terminal.

In a person's server (its terminal, or a cron job there): the same run as the
Run form's (recipes.runner), progress on stderr as "cell k of n", the run
notebook's path on stdout. Ctrl-C cancels the run and still writes the notebook.
A run of a recipe copied from the gallery is counted there (recipes.counting).
Exit status: 0 finished, 1 a cell failed, 2 the recipe or a parameter cannot be
used, 130 cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from oma_contract.parameters import ParameterError
from oma_contract.recipe import RunStatus

from .counting import service_from_environment
from .runner import RUNS_FOLDER, RecipeError, RecipeRun

EXIT = {RunStatus.FINISHED: 0, RunStatus.FAILED: 1, RunStatus.CANCELLED: 130}


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value (e.g. -p topic=\"AI agents\")")
    return name.strip(), value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="oh-my-agent", description="oh-my-agent in your server.")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a recipe notebook headless on a fresh session of its agent",
                              description="Run a recipe notebook headless on a fresh session of its agent. Tools "
                              "the agent may not use without asking are denied (the agent's headless policy).")
    run.add_argument("notebook", type=Path)
    run.add_argument("-p", "--parameter", dest="parameters", action="append", type=_parameter, default=[],
                     metavar="NAME=VALUE", help="a value for one of the recipe's parameters (repeatable)")
    run.add_argument("-o", "--output", type=Path,
                     help=f"where to write the run notebook (default: ~/{RUNS_FOLDER}/<recipe>-<time>.ipynb)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    given = dict(args.parameters)

    def show(run: RecipeRun) -> None:
        p = run.progress
        if p.status == RunStatus.RUNNING:
            print(f"cell {p.cell} of {p.cells}", file=sys.stderr, flush=True)

    run = RecipeRun(args.notebook.resolve(), given, runs_dir=Path.home() / RUNS_FOLDER, output=args.output,
                    label=str(args.notebook), on_progress=show, service=service_from_environment())
    try:
        run.prepare()
    except (RecipeError, ParameterError) as err:
        print(f"oh-my-agent run: {err}", file=sys.stderr)
        return 2
    progress = asyncio.run(_run(run))
    if progress.error:
        print(progress.error, file=sys.stderr)
    print(run.output)
    return EXIT.get(progress.status, 1)


async def _run(run: RecipeRun):
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, lambda: loop.create_task(run.cancel()))
    loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(run.cancel()))
    return await run.run()


if __name__ == "__main__":
    sys.exit(main())
