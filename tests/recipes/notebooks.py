"""Recipe notebooks for the tests: a parameters cell and prompts that use the parameters."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "claude", "display_name": "Claude", "language": "markdown"}


def recipe(*prompts: str, parameters: str | None = '%parameters\ntopic = "AI agents"\naudience = "analysts"',
           kernel: dict | None = None) -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# A weekly note")]
    if parameters is not None:
        cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    cells += [new_code_cell(prompt) for prompt in prompts]
    return new_notebook(cells=cells, metadata={"kernelspec": kernel or KERNELSPEC,
                                               "language_info": {"name": "markdown"}})


THREE_CELLS = ("Write a note about {{topic}} for {{audience}}.", "Now list three sources on {{ topic }}.")


def write(path: Path, nb: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def prompts_seen(model) -> str:
    """Every request's conversation text, as the fake model was shown it."""
    return "\n".join(model.seen(i) for i in range(len(model.requests)))


def code(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]
