"""Which Claude session each notebook was using, kept across kernel restarts.

The Claude Code CLI keeps the conversation itself (its transcript); this file
remembers, per (agent folder, notebook path), the session id and its running
totals (turns, tokens, cost), so that a restarted kernel, or the same notebook
opened another day, resumes the session and goes on counting from where it was.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

class SessionMemory:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "sessions.json"

    @staticmethod
    def _key(agent_folder: Path, notebook: str) -> str:
        return f"{agent_folder}::{notebook}"

    def recall(self, agent_folder: Path, notebook: str | None) -> dict[str, Any] | None:
        """The remembered session: {"session_id": ..., "turns": ..., ...}, or None."""
        if not notebook:
            return None
        entry = self._read().get(self._key(agent_folder, notebook))
        if isinstance(entry, str):  # written before totals were kept
            return {"session_id": entry}
        return entry if isinstance(entry, dict) and entry.get("session_id") else None

    def remember(self, agent_folder: Path, notebook: str | None, session: dict[str, Any] | None) -> None:
        """Keep (or, with None, forget) the notebook's session and its totals."""
        if not notebook:
            return
        with self._locked():
            entries = self._read()
            key = self._key(agent_folder, notebook)
            if session:
                if entries.get(key) == session:
                    return
                entries[key] = session
            elif entries.pop(key, None) is None:
                return
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Several kernels may save at once; the lock keeps their writes whole.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
