"""Each agent's place in a person's server: a folder and a kernelspec.

For an agent named "Market researcher" with slug ``market-researcher``:
``~/agents/market-researcher/`` holds ``agent.json`` (the settings the Claude
kernel reads), ``CLAUDE.md`` (its instructions) and whatever the agent writes;
the kernelspec ``claude-market-researcher`` ("Claude · Market researcher")
puts it in the JupyterLab launcher. Renames move the folder; deleting an agent
removes its kernelspec and moves its folder to ``~/agents/.trash/``: nothing
the agent wrote is lost.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger("oh-my-agent.agents")

KERNEL_SETTINGS = ("instructions", "model", "permission_mode", "allowed_tools", "disallowed_tools",
                   "max_turns", "max_budget_usd")
KERNEL_PREFIX = "claude-"
TRASH = ".trash"


def agent_settings(agent: dict[str, Any]) -> dict[str, Any]:
    """The agent.json the kernel reads (claude_kernel/agent.py documents the format)."""
    settings = {"id": agent["id"], "name": agent["name"], "status": agent.get("status", "draft")}
    settings.update({key: agent.get(key) for key in KERNEL_SETTINGS if agent.get(key) not in (None, [], "")})
    return settings


def kernelspec(agent: dict[str, Any], folder: Path, python: str = sys.executable) -> dict[str, Any]:
    return {
        "argv": [python, "-m", "claude_kernel", "-f", "{connection_file}"],
        "display_name": f"Claude · {agent['name']}",
        "language": "markdown",
        "interrupt_mode": "message",
        "env": {"CLAUDE_AGENT_DIR": str(folder)},
        "metadata": {"debugger": False, "oh-my-agent": {"agent_id": agent["id"]}},
    }


class Workspace:
    def __init__(self, agents_root: Path, kernels_dir: Path) -> None:
        self.root = agents_root
        self.kernels_dir = kernels_dir

    def folder(self, agent: dict[str, Any]) -> Path:
        return self.root / agent["slug"]

    def _kernel_dir(self, slug: str) -> Path:
        return self.kernels_dir / f"{KERNEL_PREFIX}{slug}"

    def _known(self) -> dict[str, Path]:
        """Agent id -> its folder, for every agent folder present."""
        found = {}
        if self.root.is_dir():
            for settings in self.root.glob("*/agent.json"):
                try:
                    agent_id = json.loads(settings.read_text(encoding="utf-8")).get("id")
                except (OSError, ValueError):
                    continue
                if agent_id:
                    found[agent_id] = settings.parent
        return found

    def sync(self, agent: dict[str, Any]) -> Path:
        """Create or update the agent's folder and kernelspec (moving them on a rename)."""
        folder = self.folder(agent)
        previous = self._known().get(agent["id"])
        if previous is not None and previous != folder:
            if folder.exists():
                self._trash(folder)
            previous.rename(folder)
            shutil.rmtree(self._kernel_dir(previous.name), ignore_errors=True)
            log.info("Agent %s renamed: %s -> %s", agent["id"], previous.name, folder.name)
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / "agent.json", json.dumps(agent_settings(agent), indent=2, ensure_ascii=False) + "\n")
        _write(folder / "CLAUDE.md", (agent.get("instructions") or "").rstrip() + "\n")
        spec_dir = self._kernel_dir(agent["slug"])
        spec_dir.mkdir(parents=True, exist_ok=True)
        _write(spec_dir / "kernel.json", json.dumps(kernelspec(agent, folder), indent=2, ensure_ascii=False) + "\n")
        return folder

    def remove(self, agent_id: str) -> Path | None:
        """Remove the agent's kernelspec and move its folder to the trash; returns where it went."""
        folder = self._known().get(agent_id)
        if folder is None:
            return None
        shutil.rmtree(self._kernel_dir(folder.name), ignore_errors=True)
        return self._trash(folder)

    def reconcile(self, agents: list[dict[str, Any]]) -> None:
        """Bring folders and kernelspecs in line with the agents the service knows."""
        wanted = {agent["id"] for agent in agents}
        for agent in agents:
            self.sync(agent)
        for agent_id in set(self._known()) - wanted:
            self.remove(agent_id)
        if self.kernels_dir.is_dir():  # kernelspecs whose folder is gone
            for spec in self.kernels_dir.glob(f"{KERNEL_PREFIX}*/kernel.json"):
                try:
                    meta = json.loads(spec.read_text(encoding="utf-8")).get("metadata", {}).get("oh-my-agent")
                except (OSError, ValueError):
                    continue
                if meta and meta.get("agent_id") not in wanted:
                    shutil.rmtree(spec.parent, ignore_errors=True)

    def _trash(self, folder: Path) -> Path:
        trash = self.root / TRASH
        trash.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        target = trash / f"{folder.name}-{stamp}"
        folder.rename(target)
        log.info("Moved %s to %s", folder, target)
        return target


def _write(path: Path, text: str) -> None:
    """Write whole-or-nothing, so a kernel never reads a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
