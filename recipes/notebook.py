"""Reading and changing recipe notebooks (nbformat documents): their parameters, agent and provenance.

Pure functions on nbformat nodes, no I/O: the contents manager, the runner and
the Run form all use them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from oma_contract.parameters import (
    INJECTED_TAG, PARAMETERS_TAG, Value, declaration, is_parameters_cell, parse_declaration,
)
from oma_contract.recipe import RECIPE_KEY, CellProvenance, definition_of

KERNEL_PREFIX = "claude-"  # an agent's kernelspec is claude-<slug> (agents_extension/server/workspace.py)


def tags(cell: Mapping[str, Any]) -> list[str]:
    found = cell.get("metadata", {}).get("tags", [])
    return list(found) if isinstance(found, list) else []


def code_cells(nb: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """(index, cell) of every cell the kernel runs (code cells that are not empty)."""
    return [(i, c) for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code" and str(c.get("source", "")).strip()]


def parameters_cell(nb: Mapping[str, Any]) -> int | None:
    """The index of the cell declaring the parameters: the one tagged ``parameters``, else the first
    ``%parameters`` cell."""
    cells = nb["cells"]
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags(cell):
            return i
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code" and INJECTED_TAG not in tags(cell) and is_parameters_cell(str(cell["source"])):
            return i
    return None


def declared_parameters(nb: Mapping[str, Any]) -> dict[str, Value]:
    """The recipe's parameters and their defaults (empty without a parameters cell). Raises ParameterError."""
    index = parameters_cell(nb)
    return parse_declaration(str(nb["cells"][index]["source"])) if index is not None else {}


def inject_parameters(nb: Any, values: Mapping[str, Value], new_cell) -> None:
    """Put an ``injected-parameters`` cell holding ``values`` after the parameters cell (papermill's
    layout), replacing one a previous run left. ``new_cell`` is nbformat's new_code_cell."""
    nb["cells"] = [cell for cell in nb["cells"] if INJECTED_TAG not in tags(cell)]
    if not values:
        return
    index = parameters_cell(nb)
    cell = new_cell(declaration(values), metadata={"tags": [INJECTED_TAG]})
    nb["cells"].insert(0 if index is None else index + 1, cell)


def recipe_version(nb: Mapping[str, Any]) -> str:
    """sha256 of the recipe's cells (type and source): what was run, whatever its outputs were."""
    cells = [[c.get("cell_type"), str(c.get("source", ""))] for c in nb["cells"] if INJECTED_TAG not in tags(c)]
    digest = hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()
    return "sha256:" + digest


def output_provenance(cell: Mapping[str, Any]) -> dict[str, Any] | None:
    """The provenance the kernel left in the cell's outputs (the last one that carries it)."""
    found = None
    for output in cell.get("outputs", []):
        record = output.get("metadata", {}).get(RECIPE_KEY) if isinstance(output.get("metadata"), Mapping) else None
        if isinstance(record, Mapping):
            found = record
    return dict(found) if found is not None else None


def lift_provenance(cell: Any) -> dict[str, Any] | None:
    """Copy the kernel's provenance record up into ``cell.metadata.oh_my_agent`` (checked against the
    contract: a record an output claims but that breaks it is not copied). Returns the record."""
    record = output_provenance(cell)
    if record is None:
        return None
    try:
        checked = CellProvenance.check(record).model_dump(mode="json")
    except ValueError:
        return None
    cell.setdefault("metadata", {})[RECIPE_KEY] = checked
    return checked


def agent_slug(nb: Mapping[str, Any]) -> str | None:
    """The agent whose kernel the notebook names (``claude-<slug>``), or None."""
    name = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if isinstance(name, str) and name.startswith(KERNEL_PREFIX) and len(name) > len(KERNEL_PREFIX):
        return name[len(KERNEL_PREFIX):]
    return None


def embed_definition(metadata: Any, agent: Mapping[str, Any]) -> bool:
    """Write the agent's definition into the notebook's metadata; True when it changed."""
    definition = definition_of(agent).model_dump(mode="json")
    recipe = metadata.get(RECIPE_KEY)
    if not isinstance(recipe, dict):
        recipe = {}
    if recipe.get("agent") == definition:
        return False
    metadata[RECIPE_KEY] = {**recipe, "agent": definition}
    return True
