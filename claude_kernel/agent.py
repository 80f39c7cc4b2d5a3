"""The agent a kernel works for: its folder, and the settings it obeys.

The agent's tools can change anything in its folder, so its settings are not
read from there: they come from the file named by ``CLAUDE_AGENT_SETTINGS``
in the kernelspec's environment, which the agents dashboard (the user
server) writes outside every agent folder from what the agents service
returned. Every key is optional::

    {
      "id": "3f2c…",
      "name": "Market researcher",
      "instructions": "Answer in Korean. Cite sources.",
      "model": "claude-sonnet-4-5",
      "permission_mode": "default",
      "allowed_tools": ["Read", "Write", "Bash(ls:*)"],
      "disallowed_tools": ["WebFetch"],
      "max_turns": 20,
      "max_budget_usd": 2.5,
      "headless_permission": "deny",
      "status": "active"
    }

``instructions`` are appended to Claude Code's system prompt (and shown to
the agent, read-only, as its folder's CLAUDE.md); ``headless_permission``
decides tool requests that nobody can answer (a notebook run without a front
end): ``deny`` (default) or ``allow``; ``status`` ``paused`` makes the agent
refuse new turns (``draft`` and ``active`` take them); ``id`` is the agent's
id on the platform, under which the kernel reports its sessions' usage.

A kernel without ``CLAUDE_AGENT_SETTINGS`` (the plain "Claude" kernel) is an
agent with every default, working in the notebook's folder: files named
agent.json there are not read, since the agent could write them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AGENT_DIR_ENV = "CLAUDE_AGENT_DIR"
SETTINGS_ENV = "CLAUDE_AGENT_SETTINGS"
# The name the agent's instructions have in its folder (Claude Code's project memory file).
INSTRUCTIONS_FILE = "CLAUDE.md"
# Where hand-made agents kept their settings before settings moved out of agent folders.
OLD_SETTINGS_FILE = "agent.json"
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto")
HEADLESS_POLICIES = ("deny", "allow")
STATUSES = ("draft", "active", "paused")


class AgentConfigError(ValueError):
    """The agent's settings file cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class AgentSettings:
    folder: Path
    name: str
    instructions: str = ""
    model: str | None = None
    permission_mode: str = "default"
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    max_turns: int | None = None
    max_budget_usd: float | None = None
    headless_permission: str = "deny"
    status: str = "active"
    id: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def agent_folder(notebook_folder: str | os.PathLike[str] | None = None) -> Path:
    """The folder named by the kernelspec's environment, else the notebook's folder."""
    named = os.environ.get(AGENT_DIR_ENV, "").strip()
    folder = Path(named).expanduser() if named else Path(notebook_folder or os.getcwd())
    return folder.resolve()


def instructions_text(instructions: str | None) -> str:
    """The agent's CLAUDE.md for its instructions (what the owner reads, and the agent sees read-only)."""
    return (instructions or "").rstrip() + "\n"


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
        return AgentSettings(folder=folder, name=folder.name)
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


def _settings_from(raw: dict[str, Any], folder: Path, path: Path) -> AgentSettings:
    def bad(key: str, expected: str) -> AgentConfigError:
        return AgentConfigError(f"{path}: '{key}' must be {expected} (found {raw[key]!r}).")

    def text(key: str, default: str | None) -> str | None:
        if raw.get(key) is None:
            return default
        if not isinstance(raw[key], str):
            raise bad(key, "text")
        return raw[key]

    def choice(key: str, options: tuple[str, ...], default: str) -> str:
        value = raw.get(key, default)
        if value not in options:
            raise bad(key, "one of " + ", ".join(options))
        return value

    def tools(key: str) -> tuple[str, ...]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
            raise bad(key, "a list of tool names")
        return tuple(t.strip() for t in value)

    max_turns = raw.get("max_turns")
    if max_turns is not None and (isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1):
        raise bad("max_turns", "a whole number of at least 1")
    budget = raw.get("max_budget_usd")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
        raise bad("max_budget_usd", "a positive number of US dollars")

    known = {"name", "instructions", "model", "permission_mode", "allowed_tools", "disallowed_tools",
             "max_turns", "max_budget_usd", "headless_permission", "status", "id"}
    return AgentSettings(
        folder=folder,
        name=text("name", folder.name) or folder.name,
        instructions=text("instructions", "") or "",
        model=text("model", None) or None,
        permission_mode=choice("permission_mode", PERMISSION_MODES, "default"),
        allowed_tools=tools("allowed_tools"),
        disallowed_tools=tools("disallowed_tools"),
        max_turns=max_turns,
        max_budget_usd=float(budget) if budget is not None else None,
        headless_permission=choice("headless_permission", HEADLESS_POLICIES, "deny"),
        status=choice("status", STATUSES, "active"),
        id=text("id", "") or "",
        extra={k: v for k, v in raw.items() if k not in known},
    )
