"""Recorded claude-agent-sdk message sequences: the JSON form, and back to SDK objects.

A recording is what a real ``ClaudeSDKClient`` handed over during one turn
with the real Claude Code CLI and the fake model (``record.py`` makes them):
each SDK message as its dataclass fields, tagged with its class name
(``"sdk": "AssistantMessage"``), and each ``can_use_tool`` call of the SDK
(``"can_use_tool": {...}``) where it happened. Loading rebuilds the SDK's
own classes, so tests give the translator exactly what the SDK gives it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AGENT_FOLDER = "/agents/recorded"  # stands for the temporary agent folder of the recording


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"sdk": type(value).__name__,
                **{f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    import claude_agent_sdk

    if isinstance(value, dict):
        fields = {key: from_json(item) for key, item in value.items() if key != "sdk"}
        if "sdk" in value:
            return getattr(claude_agent_sdk, value["sdk"])(**fields)
        return fields
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


@dataclasses.dataclass(frozen=True)
class PermissionCall:
    """The SDK called ``can_use_tool(tool_name, input, context)`` here."""

    tool_name: str
    input: dict[str, Any]


def load(name: str, folder: Path = HERE) -> list[Any]:
    """The recording ``name`` as the SDK objects (and ``PermissionCall``s) it was made of, in order."""
    recording = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    steps = []
    for step in recording["sequence"]:
        if "can_use_tool" in step:
            steps.append(PermissionCall(**step["can_use_tool"]))
        else:
            steps.append(from_json(step["message"]))
    return steps


def names() -> list[str]:
    return sorted(path.stem for path in HERE.glob("*.json"))
