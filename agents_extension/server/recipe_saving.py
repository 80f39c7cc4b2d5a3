"""On every save of a notebook: its agent's definition and its cells' provenance go into its metadata.

A notebook on an agent's kernel (``claude-<slug>``) carries that agent's
definition in ``metadata.oh_my_agent.agent`` (oma_contract.recipe), written
from the agent's settings record on this server, so a recipe shared or copied
brings its agent along and stays current as the agent changes. The kernel
leaves each answered cell's provenance in the cell's footer output; here it is
copied up into ``cell.metadata.oh_my_agent``, where it stays when outputs are
cleared. Installed as a pre-save hook by the contents manager (contents.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir

from recipes.notebook import agent_slug, embed_definition, lift_provenance

log = logging.getLogger("oh-my-agent.agents")


def settings_dir() -> Path:
    """Where the server keeps agents' settings records (agents_extension/server/extension.py)."""
    return Path(jupyter_data_dir()) / "oh-my-agent" / "agents"


def agent_record(slug: str, folder: Path | None = None) -> dict[str, Any] | None:
    """The settings record of this server's agent with that slug (written from what the service returned)."""
    folder = folder or settings_dir()
    if not folder.is_dir():
        return None
    for path in folder.glob("*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("slug") == slug and record.get("id") == path.stem:
            return record
    return None


def keep_recipe_metadata(model: dict[str, Any], path: str, **_: Any) -> None:
    """A jupyter_server pre-save hook: changes the notebook ``model`` about to be written, in place."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    nb = model["content"]
    for cell in nb.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            lift_provenance(cell)
    slug = agent_slug(nb)
    if slug is None:
        return
    record = agent_record(slug)
    if record is None:  # not this person's agent (a notebook from someone else): what it carries is kept
        return
    try:
        embed_definition(nb.setdefault("metadata", {}), record)
    except ValueError as err:  # a record the contract refuses: the notebook is saved, without a stale definition
        log.warning("%s: the agent %s could not be written into the notebook: %s", path, slug, err)
