"""The agent a kernel works for: its folder, and the settings it obeys.

The agent's tools can change anything in its folder, so its settings are not
read from there: they come from the file named by ``CLAUDE_AGENT_SETTINGS``
in the kernelspec's environment, which the agents dashboard (the user
server) writes outside every agent folder from what the agents service
returned. What that file holds is the contract's ``AgentSettingsFile``
(oma_contract/agent.py documents every key); every key is optional::

    {"id": "3f2c…", "name": "Market researcher", "instructions": "Answer in Korean.",
     "permission_mode": "default", "allowed_tools": ["Read", "Bash(ls:*)"], "max_turns": 20,
     "headless_permission": "deny", "status": "active"}

A kernel without ``CLAUDE_AGENT_SETTINGS`` (the plain "Claude" kernel) is an
agent with every default, working in the notebook's folder: files named
agent.json there are not read, since the agent could write them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ConfigDict

from oma_contract import (
    AGENT_DIR_ENV,
    INSTRUCTIONS_FILE,
    OLD_SETTINGS_FILE,
    SETTINGS_ENV,
    AgentSettingsFile,
    FieldInvalid,
    instructions_text,
)

__all__ = ["AGENT_DIR_ENV", "INSTRUCTIONS_FILE", "OLD_SETTINGS_FILE", "SETTINGS_ENV", "AgentConfigError",
           "AgentSettings", "agent_folder", "instructions_text", "load_agent", "settings_file"]


class AgentConfigError(ValueError):
    """The agent's settings file cannot be used; the message says how to fix it."""


class AgentSettings(AgentSettingsFile):
    """The settings file's values, with the folder the agent works in (its name, when the file names none)."""

    model_config = ConfigDict(frozen=True)

    folder: Path
    name: str


def agent_folder(notebook_folder: str | os.PathLike[str] | None = None) -> Path:
    """The folder named by the kernelspec's environment, else the notebook's folder."""
    named = os.environ.get(AGENT_DIR_ENV, "").strip()
    folder = Path(named).expanduser() if named else Path(notebook_folder or os.getcwd())
    return folder.resolve()


def settings_file() -> Path | None:
    """The settings file named by the kernelspec's environment, or None for an agent with defaults."""
    named = os.environ.get(SETTINGS_ENV, "").strip()
    return Path(named).expanduser() if named else None


def load_agent(folder: Path, settings: Path | None) -> AgentSettings:
    """The agent working in ``folder`` under the settings in ``settings`` (None: every default)."""
    if not folder.is_dir():
        raise AgentConfigError(
            f"The agent folder {folder} does not exist. Recreate the agent on the agents "
            f"page, or point {AGENT_DIR_ENV} at an existing folder."
        )
    if settings is None:
        return AgentSettings(folder=folder, name=folder.name)  # every default
    if Path(os.path.realpath(settings)).is_relative_to(os.path.realpath(folder)):
        raise AgentConfigError(
            f"The agent's settings file {settings} is inside its own folder, where the agent could rewrite "
            f"it. Point {SETTINGS_ENV} at a file outside every agent folder (the agents dashboard does).")
    try:
        raw = json.loads(settings.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise AgentConfigError(
            f"The agent's settings ({settings}) are missing: the agent was deleted, or its server has not "
            "set it up yet. Open the agents dashboard and save the agent again, or pick another agent's "
            "kernel.") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AgentConfigError(f"{settings} is not valid JSON ({err}). Save the agent again on the agents dashboard.") from err
    if not isinstance(raw, dict):
        raise AgentConfigError(f"{settings} must hold a JSON object of settings.")
    return _settings_from(raw, folder, settings)


def _settings_from(raw: dict, folder: Path, path: Path) -> AgentSettings:
    try:
        checked = AgentSettingsFile.check(raw)
    except FieldInvalid as err:
        raise AgentConfigError(f"{path}: {err} Save the agent again on the agents dashboard.") from None
    values = checked.model_dump(exclude_unset=False)
    return AgentSettings(**{**values, **(checked.model_extra or {}), "folder": folder,
                            "name": checked.name or folder.name})


def agent_name(folder: Path, settings: Path | None) -> str:
    """The agent's name as its settings file gives it (the folder's name when it gives none): for the
    cells' provenance, which must not fail a turn over an unreadable file."""
    try:
        raw = json.loads(settings.read_text(encoding="utf-8")) if settings else {}
    except (OSError, ValueError):
        raw = {}
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and name else folder.name
