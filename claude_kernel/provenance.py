"""What produced a cell's answer, recorded where the notebook keeps it.

A kernel cannot write cell metadata: it only sends outputs. So the footer of
a turn (the usage line under every answer) carries the cell's provenance in
its output metadata, under ``oh_my_agent`` (oma_contract.recipe.CellProvenance:
model, session, turn, tokens, cost, duration, the tools called and the ones
denied). The notebook saves outputs with their metadata; the server's contents
manager and the recipe runner copy the record up into ``cell.metadata.oh_my_agent``
(agents_extension/server/contents.py, recipes/notebook.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from oma_contract.recipe import RECIPE_KEY, CellProvenance, ToolCall

from .events import PermissionAsked, TurnUsage
from .render import tool_summary


def tool_call(name: str, tool_input: Mapping[str, Any], folder: Path | None = None) -> ToolCall:
    """The tool and its key argument as the cell shows it (``Bash``, ``ls -la``; paths in the agent's folder
    relative to it)."""
    summary = tool_summary(name, tool_input, folder)
    _, _, argument = summary.partition(": ")
    return ToolCall(name=name, argument=argument)


class CellRecord:
    """Collects, while a turn runs, what its provenance will say."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.tools: list[ToolCall] = []
        self.denied: list[ToolCall] = []

    def called(self, name: str, tool_input: Mapping[str, Any]) -> None:
        self.tools.append(tool_call(name, tool_input, self.folder))

    def refused(self, name: str, tool_input: Mapping[str, Any]) -> None:
        self.denied.append(tool_call(name, tool_input, self.folder))

    def metadata(self, *, agent: str, model: str | None, turn: int, usage: TurnUsage | None, seconds: float,
                 status: str) -> dict[str, Any]:
        """The output metadata that carries this cell's provenance."""
        record = CellProvenance(
            agent=agent, model=model, session_id=usage.session_id if usage else None, turn=turn,
            turns=usage.turns if usage else 0, input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0, cost_usd=usage.cost_usd if usage else 0.0,
            duration_seconds=round(seconds, 3), tools=self.tools, denied=self.denied, status=status,
            finished_at=datetime.now(timezone.utc))
        return {RECIPE_KEY: record.model_dump(mode="json")}

    def asked(self, request: PermissionAsked) -> None:
        """Note a permission request's outcome once it was answered (a denial is part of the record)."""
        if request.answer.done() and not request.answer.cancelled() and request.answer.result()[0] == "deny":
            self.refused(request.tool, request.tool_input)
