"""Each agent's place in a person's server: a folder, its settings and a kernelspec.

For an agent named "Market researcher" with slug ``market-researcher``:
``~/agents/market-researcher/`` is its folder (``CLAUDE.md``, its
instructions for the person to read, and whatever the agent writes); the
settings the Claude kernel obeys are kept outside every agent folder, in
``<jupyter data dir>/oh-my-agent/agents/<agent id>.json``, named by the
kernelspec ``claude-market-researcher`` ("Claude · Market researcher") that
puts the agent in the JupyterLab launcher. Renames move the folder; deleting
an agent removes its kernelspec and settings and moves its folder to
``~/agents/.trash/``: nothing the agent wrote is lost.

The agent runs Bash in its folder, so everything in it is the agent's to
fake: the server never learns anything from it (which agent a folder
belongs to comes from the settings records, written from what the agents
service returned) and touches it only through oma_contract.folder_files,
which follows no link.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from oma_contract import (
    AGENT_DIR_ENV,
    INSTRUCTIONS_FILE,
    OLD_SETTINGS_FILE,
    SETTINGS_ENV,
    AgentSettingsFile,
    folder_files,
    instructions_text,
)

log = logging.getLogger("oh-my-agent.agents")

# Written even when empty: what the records map ids to, and what the kernel decides turns by.
ALWAYS_WRITTEN = ("id", "name", "slug", "status")
AGENTS_FOLDER = "agents"  # in the server's root folder (the person's home)
KERNEL_PREFIX = "claude-"
TRASH = ".trash"
# Ids and slugs become file and folder names: one plain path component each.
PATH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def agent_settings(agent: dict[str, Any]) -> dict[str, Any]:
    """The settings file the kernel obeys (the contract's AgentSettingsFile), from the agent the service
    returned: its fields that the file has, checked, and without the ones that are unset or empty.
    Raises FieldInvalid (a ValueError) for an agent the kernel could not use."""
    checked = AgentSettingsFile.check({key: value for key, value in agent.items() if key in AgentSettingsFile.model_fields})
    values = checked.model_dump(mode="json", exclude_unset=True)
    return {key: value for key, value in values.items() if key in ALWAYS_WRITTEN or value not in (None, [], "")}


def kernelspec(agent: dict[str, Any], folder: Path, settings: Path, python: str = sys.executable) -> dict[str, Any]:
    return {
        "argv": [python, "-m", "claude_kernel", "-f", "{connection_file}"],
        "display_name": f"Claude · {agent['name']}",
        "language": "markdown",
        "interrupt_mode": "message",
        "env": {AGENT_DIR_ENV: str(folder), SETTINGS_ENV: str(settings)},
        "metadata": {"debugger": False, "oh-my-agent": {"agent_id": agent["id"]}},
    }


def _path_part(agent: dict[str, Any], key: str) -> str:
    value = agent.get(key)
    if not isinstance(value, str) or not PATH_PART.fullmatch(value):
        raise ValueError(f"The agents service sent an agent {key} that cannot name a file: {value!r}")
    return value


class Workspace:
    def __init__(self, agents_root: Path, kernels_dir: Path, settings_dir: Path) -> None:
        self.root = agents_root
        self.kernels_dir = kernels_dir
        self.settings_dir = settings_dir

    def folder(self, agent: dict[str, Any]) -> Path:
        return self.root / _path_part(agent, "slug")

    def settings_path(self, agent_id: str) -> Path:
        return self.settings_dir / f"{agent_id}.json"

    def _kernel_dir(self, slug: str) -> Path:
        return self.kernels_dir / f"{KERNEL_PREFIX}{slug}"

    def _records(self) -> dict[str, dict[str, Any]]:
        """Agent id -> its settings as last written here: the one map of ids to folders."""
        found = {}
        if self.settings_dir.is_dir():
            for path in self.settings_dir.glob("*.json"):
                try:
                    record = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if (isinstance(record, dict) and record.get("id") == path.stem
                        and PATH_PART.fullmatch(str(record.get("slug")))):
                    found[path.stem] = record
        return found

    @contextmanager
    def _agents_root(self) -> Iterator[int]:
        self.root.mkdir(parents=True, exist_ok=True)
        with folder_files.opened(self.root.resolve()) as root:
            yield root

    def sync(self, agent: dict[str, Any]) -> Path:
        """Create or update the agent's folder, settings and kernelspec (moving them on a rename)."""
        agent_id, slug = _path_part(agent, "id"), _path_part(agent, "slug")
        settings_text = json.dumps(agent_settings(agent), indent=2, ensure_ascii=False) + "\n"  # refused before any change
        previous = self._records().get(agent_id, {}).get("slug")
        with self._agents_root() as root:
            if previous and previous != slug and folder_files.kind(root, previous):
                if folder_files.kind(root, slug) is not None:
                    self._trash(root, slug)
                os.rename(previous, slug, src_dir_fd=root, dst_dir_fd=root)  # moves a link itself, never its target
                shutil.rmtree(self._kernel_dir(previous), ignore_errors=True)
                log.info("Agent %s renamed: %s -> %s", agent_id, previous, slug)
            with self._agent_folder(root, slug) as folder:
                # Kept as a file (not replaced) so running sandboxes keep it mounted read-only.
                folder_files.write(folder, INSTRUCTIONS_FILE, instructions_text(agent.get("instructions")), keep_file=True)
                folder_files.remove(folder, OLD_SETTINGS_FILE)  # written here before; read by nothing now
        self.settings_dir.mkdir(parents=True, exist_ok=True)
        settings = self.settings_path(agent_id)
        _write(settings, settings_text)
        spec_dir = self._kernel_dir(slug)
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = kernelspec(agent, self.root / slug, settings)
        _write(spec_dir / "kernel.json", json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
        return self.root / slug

    @contextmanager
    def _agent_folder(self, root: int, slug: str) -> Iterator[int]:
        """The agent's folder, made when missing; anything else under its name (a link, a file) goes to the trash."""
        if folder_files.kind(root, slug) not in (None, stat.S_IFDIR):
            self._trash(root, slug)
        try:
            os.mkdir(slug, 0o755, dir_fd=root)
        except FileExistsError:
            pass
        with folder_files.opened(slug, root) as folder:
            yield folder

    def remove(self, agent_id: str) -> Path | None:
        """Remove the agent's kernelspec and settings and move its folder to the trash; returns where it went."""
        record = self._records().get(agent_id)
        if record is None:
            return None
        slug = record["slug"]
        shutil.rmtree(self._kernel_dir(slug), ignore_errors=True)
        trashed = None
        with self._agents_root() as root:
            if folder_files.kind(root, slug) is not None:
                trashed = self._trash(root, slug)
        self.settings_path(agent_id).unlink(missing_ok=True)
        return trashed

    def reconcile(self, agents: list[Any]) -> None:
        """Bring folders and kernelspecs in line with the agents the service knows.

        One agent that cannot be set up (a record the service should not have stored, a folder
        that cannot be written) is logged and skipped: the others are still brought in step."""
        agents = [agent for agent in agents if isinstance(agent, dict)]
        wanted = {agent.get("id") for agent in agents}
        for agent in agents:
            try:
                self.sync(agent)
            except (OSError, ValueError) as err:
                log.error("Agent %r could not be set up in this server: %s", agent.get("id"), err)
        for agent_id in set(self._records()) - wanted:
            self.remove(agent_id)
        if self.kernels_dir.is_dir():  # kernelspecs whose agent is gone
            for spec in self.kernels_dir.glob(f"{KERNEL_PREFIX}*/kernel.json"):
                try:
                    meta = json.loads(spec.read_text(encoding="utf-8")).get("metadata", {}).get("oh-my-agent")
                except (OSError, ValueError):
                    continue
                if meta and meta.get("agent_id") not in wanted:
                    shutil.rmtree(spec.parent, ignore_errors=True)

    def _trash(self, root: int, name: str) -> Path:
        """Move ``name`` (in the agents folder) to the trash; a link is moved itself, its target untouched."""
        try:
            os.mkdir(TRASH, 0o755, dir_fd=root)
        except FileExistsError:
            pass
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        with folder_files.opened(TRASH, root) as trash:
            os.rename(name, f"{name}-{stamp}", src_dir_fd=root, dst_dir_fd=trash)
        target = self.root / TRASH / f"{name}-{stamp}"
        log.info("Moved %s to %s", self.root / name, target)
        return target


def _write(path: Path, text: str) -> None:
    """Write whole-or-nothing in one of the server's own folders, so a kernel never reads a half-written file."""
    with folder_files.opened(path.parent.resolve()) as parent:
        folder_files.write(parent, path.name, text)
