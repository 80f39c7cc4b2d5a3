"""A headless run of a recipe: its cells on a fresh session of its agent, written to ``runs/``.

The run executes in the person's own server, on the notebook's Claude kernel,
through nbclient: every code cell in order, with no one to ask for
permissions (nbclient sends no stdin), so the agent's headless policy answers
tool requests and the cells say what was denied. The parameters given are
injected after the parameters cell as papermill does. The run notebook
``runs/<recipe>-<time>.ipynb`` is written before the first cell, after cells
(every few seconds) and at the end, so a failed or cancelled run still leaves
it, the failing cell holding its error. Each cell's provenance is lifted from the kernel's footer
into the cell's metadata, and the run's record (parameters, recipe and
version, start, end, total cost) into the notebook's.

The kernel remembers a session per notebook path (JPY_SESSION_NAME): naming
the run notebook gives every run a fresh session, never the author's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from oma_contract.parameters import ParameterError, merge
from oma_contract.recipe import RECIPE_KEY, RunRecord, RunStatus

from .counting import ServiceCall, count_run
from .notebook import code_cells, declared_parameters, inject_parameters, lift_provenance, recipe_version

log = logging.getLogger("oh-my-agent.recipes")

RUNS_FOLDER = "runs"
WRITE_EVERY = 2.0  # seconds between writes of the run notebook while it runs (the page's progress is live)
DEFAULT_CELL_TIMEOUT = 1800.0  # seconds; the kernel itself stops a turn that stalls long before this
COUNT_GRACE = 5.0  # seconds a finished run waits for its count to reach the gallery, at most
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class RecipeError(ValueError):
    """A recipe that cannot be run as asked; ``field`` names what to fix (a parameter, "path", "kernel")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def run_path(runs_dir: Path, recipe: Path, started: datetime) -> Path:
    """``runs/<recipe>-<time>.ipynb``, with a number added when two runs start in the same second."""
    stem = _UNSAFE.sub("-", recipe.stem).strip("-") or "recipe"
    base = f"{stem}-{started.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = runs_dir / f"{base}.ipynb", 2
    while candidate.exists():
        candidate, n = runs_dir / f"{base}-{n}.ipynb", n + 1
    return candidate


def read_recipe(path: Path) -> Any:
    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise RecipeError("path", f"There is no notebook at {path}.") from None
    except (OSError, ValueError, nbformat.ValidationError) as err:
        raise RecipeError("path", f"{path} is not a notebook that can be read ({err}).") from None


@dataclass
class Progress:
    """How a run stands, for the page or the command that started it."""

    status: str = RunStatus.RUNNING
    cell: int = 0  # the cell running now (1-based), or the last one run
    cells: int = 0
    cost_usd: float = 0.0
    error: str = ""
    started_at: float = field(default_factory=time.monotonic)
    first_cell_at: float | None = None
    finished_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        ended = self.finished_at or time.monotonic()
        return {"status": self.status, "cell": self.cell, "cells": self.cells, "cost_usd": round(self.cost_usd, 6),
                "error": self.error, "seconds": round(ended - self.started_at, 3)}


class RecipeRun:
    """One run of a recipe. ``prepare`` checks everything that can be checked before a kernel starts
    (raising RecipeError or ParameterError), ``run`` executes, ``cancel`` stops it between or inside cells."""

    def __init__(self, recipe: Path, given: Mapping[str, Any], *, runs_dir: Path, output: Path | None = None,
                 label: str | None = None, cell_timeout: float | None = DEFAULT_CELL_TIMEOUT,
                 on_progress: Callable[["RecipeRun"], None] | None = None,
                 service: ServiceCall | None = None) -> None:
        self.recipe = recipe
        self.label = label or recipe.name
        self.given = dict(given)
        self.runs_dir = runs_dir
        self.output = output
        self.cell_timeout = cell_timeout
        self.on_progress = on_progress
        self.service = service  # where a run of a gallery recipe is counted (recipes.counting)
        self.progress = Progress()
        self._cancelled = asyncio.Event()
        self._client: NotebookClient | None = None
        self._written_at = 0.0
        self.nb: Any = None

    def prepare(self) -> "RecipeRun":
        nb = read_recipe(self.recipe)
        kernel = nb.metadata.get("kernelspec", {}).get("name")
        if not kernel:
            raise RecipeError("kernel", f"{self.recipe.name} names no kernel: open it, pick its agent's kernel, "
                                        "save it, and run it again.")
        try:
            KernelSpecManager().get_kernel_spec(kernel)
        except NoSuchKernel:
            raise RecipeError("kernel", f"This recipe's kernel {kernel} is not on your server: its agent does not "
                                        "exist here. Create the agent from the recipe (its Run page offers to), "
                                        "then run it again.") from None
        declared = declared_parameters(nb)
        self.values = merge(declared, self.given)
        self.version = recipe_version(nb)
        inject_parameters(nb, {k: v for k, v in self.values.items() if k in self.given}, nbformat.v4.new_code_cell)
        for cell in nb.cells:  # a run starts from the recipe's cells, not from the outputs it was saved with
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
                cell.metadata.pop(RECIPE_KEY, None)
        self.kernel_name = kernel
        self.nb = nb
        self.started = datetime.now(timezone.utc)
        self.output = self.output or run_path(self.runs_dir, self.recipe, self.started)
        self.progress.cells = len(code_cells(nb))
        self._record(RunStatus.RUNNING)
        return self

    def _record(self, status: str, error: str = "") -> None:
        record = RunRecord(recipe=self.label, recipe_version=self.version, parameters=self.values, status=status,
                           started_at=self.started, cells=self.progress.cells, cells_done=self.progress.cell,
                           cost_usd=round(self.progress.cost_usd, 6), error=error,
                           finished_at=None if status == RunStatus.RUNNING else datetime.now(timezone.utc))
        recipe = self.nb.metadata.get(RECIPE_KEY)
        self.nb.metadata[RECIPE_KEY] = {**(recipe if isinstance(recipe, dict) else {}),
                                        "run": record.model_dump(mode="json")}

    def _write(self, final: bool = True) -> None:
        """Write the run notebook whole or not at all (a reader never sees half of it). Between cells it is
        written at most every WRITE_EVERY seconds and without nbformat's validation (tens of milliseconds a
        time); the first and last writes are validated."""
        assert self.output is not None
        now = time.monotonic()
        if not final and now - self._written_at < WRITE_EVERY:
            return
        self.output.parent.mkdir(parents=True, exist_ok=True)
        partial = self.output.with_name(f".{self.output.name}.partial")
        if final:
            nbformat.write(self.nb, str(partial))
        else:
            partial.write_text(json.dumps(self.nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, self.output)
        self._written_at = now

    def _tell(self) -> None:
        if self.on_progress:
            self.on_progress(self)

    async def cancel(self) -> None:
        """Stop the run: the cell running now is interrupted (it says so), no later cell starts."""
        self._cancelled.set()
        client = self._client
        if client is not None and getattr(client, "km", None) is not None:
            try:
                await client.km.interrupt_kernel()
            except Exception:  # the kernel may be starting or gone: the run stops at the next cell either way
                log.info("Could not interrupt the kernel of %s", self.output, exc_info=True)

    async def run(self) -> Progress:
        if self.nb is None:
            self.prepare()
        progress = self.progress
        self._write()
        # counted as it starts, beside it: the run waits for no one
        counting = asyncio.ensure_future(count_run(self.service, self.nb.metadata)) if self.service else None
        env = {**os.environ, "JPY_SESSION_NAME": str(self.output)}
        client = NotebookClient(self.nb, kernel_name=self.kernel_name, timeout=self.cell_timeout,
                                allow_errors=False, record_timing=True,
                                resources={"metadata": {"path": str(self.recipe.parent)}})
        self._client = client
        status, error = RunStatus.FINISHED, ""
        try:
            async with client.async_setup_kernel(env=env):
                for k, (index, cell) in enumerate(code_cells(self.nb), start=1):
                    if self._cancelled.is_set():
                        break
                    progress.cell = k
                    if progress.first_cell_at is None:
                        progress.first_cell_at = time.monotonic()
                    self._tell()
                    started = time.monotonic()
                    try:
                        await client.async_execute_cell(cell, index)
                    except (CellExecutionError, CellTimeoutError) as err:
                        status, error = RunStatus.FAILED, f"Cell {k} of {progress.cells} failed: {_first_line(err)}"
                        self._account(cell, started, "error")
                        break
                    self._account(cell, started, "stopped" if self._cancelled.is_set() else "ok")
                    self._record(RunStatus.RUNNING)
                    self._write(final=False)
        except NoSuchKernel:
            status = RunStatus.FAILED
            error = (f"This recipe's kernel {self.kernel_name} is not on your server: its agent does not exist "
                     "here. Create the agent from the recipe (its Run page offers to), then run it again.")
        except DeadKernelError as err:
            status, error = RunStatus.FAILED, f"The agent's kernel died during cell {progress.cell}: {err}"
        except Exception as err:  # the run notebook is written whatever went wrong, saying what
            log.exception("Run of %s failed", self.recipe)
            status, error = RunStatus.FAILED, f"The run stopped: {err}"
        finally:
            self._client = None
        if self._cancelled.is_set() and status == RunStatus.FINISHED:
            status, error = RunStatus.CANCELLED, f"Cancelled during cell {progress.cell} of {progress.cells}."
        progress.status, progress.error, progress.finished_at = status, error, time.monotonic()
        self._record(status, error)
        self._write()
        self._tell()
        if counting is not None:  # a command's loop ends with the run: give the count a moment to land
            await asyncio.wait([counting], timeout=COUNT_GRACE)
        return progress

    def _account(self, cell: Any, started: float, status: str) -> None:
        """The cell's provenance into its metadata (a minimal record when the kernel billed nothing)."""
        record = lift_provenance(cell)
        if record is None:
            record = {"status": status, "duration_seconds": round(time.monotonic() - started, 3)}
            cell.metadata[RECIPE_KEY] = record
        self.progress.cost_usd += float(record.get("cost_usd") or 0.0)


def _first_line(err: Exception) -> str:
    ename, evalue = getattr(err, "ename", ""), getattr(err, "evalue", "")
    if ename or evalue:
        return f"{ename}: {evalue}".strip(": ")
    return str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__


__all__ = ["ParameterError", "Progress", "RecipeError", "RecipeRun", "RUNS_FOLDER", "run_path"]
