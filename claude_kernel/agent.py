"""The agent a kernel works for: its folder and the settings file in it.

An agent folder holds ``agent.json``, written by the agents dashboard (or by
hand). Every key is optional::

    {
      "name": "Market researcher",
      "instructions": "Answer in Korean. Cite sources.",
      "model": "claude-sonnet-4-5",
      "permission_mode": "default",
      "allowed_tools": ["Read", "Write", "Bash(ls:*)"],
      "disallowed_tools": ["WebFetch"],
      "max_turns": 20,
      "max_budget_usd": 2.5,
      "headless_permission": "deny",
      "status": "active",
      "id": "3f2c…"
    }

``instructions`` are appended to Claude Code's system prompt;
``headless_permission`` decides tool requests that nobody can answer (a
notebook run without a front end): ``deny`` (default) or ``allow``;
``status`` ``paused`` makes the agent refuse new turns (``draft`` and
``active`` take them); ``id`` is the agent's id on the platform, under which
the kernel reports its sessions' usage (agents made by hand have none).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "agent.json"
AGENT_DIR_ENV = "CLAUDE_AGENT_DIR"
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


def load_agent(folder: Path) -> AgentSettings:
    """Read ``agent.json`` in ``folder``; a folder without one is an agent with defaults."""
    if not folder.is_dir():
        raise AgentConfigError(
            f"The agent folder {folder} does not exist. Recreate the agent on the agents "
            f"page, or point {AGENT_DIR_ENV} at an existing folder."
        )
    path = folder / CONFIG_FILE
    if not path.exists():
        return AgentSettings(folder=folder, name=folder.name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AgentConfigError(f"{path} is not valid JSON ({err}). Fix the file or save the agent again.") from err
    if not isinstance(raw, dict):
        raise AgentConfigError(f"{path} must hold a JSON object of settings.")
    return _settings_from(raw, folder, path)


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
