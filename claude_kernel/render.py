"""What a turn looks like in the cell: streamed Markdown, one line per tool
call with a foldable result, and a footer with the turn's usage.

The pure functions build text; ``CellOutput`` turns a turn's events (see
``events``) into Jupyter display messages through the ``send(msg_type,
content)`` it is given.
"""

from __future__ import annotations

import html
import itertools
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from oma_contract.money import format_usd

from . import events
from .events import Notice, Retrying, Text, TextEnded, ToolFinished, ToolStarted, TurnUsage, tool_output
from .words import ENGLISH, N_, Words

Send = Callable[[str, dict[str, Any]], None]

KEY_ARGUMENT = {
    "Bash": "command",
    "Read": "file_path",
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "Glob": "pattern",
    "Grep": "pattern",
    "WebFetch": "url",
    "WebSearch": "query",
    "Task": "description",
    "Agent": "description",
    "Skill": "skill",
}
PATH_ARGUMENTS = {"file_path", "notebook_path"}
LINE_WIDTH = 100
PREVIEW_LINES = 12
PREVIEW_CHARS = 2000
UPDATE_INTERVAL = 0.08  # seconds between redraws of a growing answer
_display_ids = itertools.count(1)


def _one_line(text: str, width: int = LINE_WIDTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def tool_summary(name: str, tool_input: Mapping[str, Any], folder: Path | None = None) -> str:
    """``Bash: ls -la``, ``Write: report.md``: the tool and its key argument."""
    key = KEY_ARGUMENT.get(name)
    value = tool_input.get(key) if key else None
    if value is None:
        value = next((v for v in tool_input.values() if isinstance(v, str) and v.strip()), None)
    if value is None:
        return name
    if key in PATH_ARGUMENTS and folder is not None:
        try:
            value = str(Path(value).relative_to(folder))
        except ValueError:
            pass
    return f"{name}: {_one_line(value)}"


def result_preview(content: Any, say: Words = ENGLISH) -> str:
    """The first lines of a tool's result, short enough to sit folded in a cell."""
    text = tool_output(content).rstrip()
    lines = text.splitlines()
    shown = "\n".join(lines[:PREVIEW_LINES])
    if len(shown) > PREVIEW_CHARS:
        shown = shown[:PREVIEW_CHARS]
    hidden = len(lines) - PREVIEW_LINES
    if hidden > 0:
        shown += "\n… " + say(N_("{n} more line") if hidden == 1 else N_("{n} more lines"), n=hidden)
    elif len(text) > len(shown):
        shown += "\n…"
    return shown


def footer(turns: int, input_tokens: int, output_tokens: int, cost_usd: float, seconds: float,
           month: str | None = None, say: Words = ENGLISH) -> str:
    """The turn's usage; ``month`` (``month_spend.month_words``) adds the month's spend against its limits."""
    return (
        say(N_("{n} turn") if turns == 1 else N_("{n} turns"), n=turns) + " · "
        + say(N_("{input:,} in / {output:,} out tokens"), input=input_tokens, output=output_tokens)
        + f" · {format_usd(cost_usd)} · {seconds:.1f} s" + (f" · {month}" if month else "")
    )


def retry_line(retry: Retrying, say: Words = ENGLISH) -> str:
    return say(N_("The model API answered HTTP {status}; retrying in {seconds:.1f} s (attempt {attempt})…"),
               status=retry.status or "?", seconds=retry.delay_seconds,
               attempt=retry.attempt if retry.attempt is not None else "?")


# Why a tool ran although nobody was asked, in words (events.unasked_reason names the reason).
WITHOUT_ASKING = {
    events.SESSION: N_("you allowed {tool} for this session"),
    events.PRE_APPROVED: N_("pre-approved in the agent's settings"),
    events.ALL_ALLOWED: N_("the agent may use every tool without asking"),
    events.EDITS_ALLOWED: N_("the agent may change files without asking"),
    events.READ_ONLY_TOOL: N_("it only reads, so Claude Code does not ask"),
    events.READ_ONLY_COMMAND: N_("a read-only command, which Claude Code runs without asking"),
    events.NEVER_ASKS: N_("Claude Code does not ask before this tool"),
}


def without_asking(reason: str | None, tool: str, say: Words = ENGLISH) -> str | None:
    """``reason`` (events' name for why a call ran unasked) as the words on the tool's line."""
    words = WITHOUT_ASKING.get(reason or "")
    return say(N_("ran without asking: {why}"), why=say(words, tool=tool)) if words else None


def tool_bundle(summary: str, state: str, preview: str | None, why: str | None = None,
                say: Words = ENGLISH) -> dict[str, str]:
    """The display data of one tool call; ``state`` is ▸ running, ✓ done, ✗ failed; ``why``
    says why it ran without asking anyone."""
    plain = f"{state} {summary}"
    line = plain + (f" · {why}" if why else "")
    why_html = f" <span class='claude-tool-why'>· {html.escape(why)}</span>" if why else ""
    if preview is None:
        return {"text/plain": line, "text/html": f"<div class='claude-tool'><code>{html.escape(plain)}</code>{why_html}</div>"}
    nothing = say(N_("(no output)"))
    body = html.escape(preview) if preview else f"<i>{html.escape(nothing)}</i>"
    return {
        "text/plain": line + ("\n  " + preview.replace("\n", "\n  ") if preview else ""),
        "text/html": (
            f"<details class='claude-tool'><summary><code>{html.escape(plain)}</code>{why_html}</summary>"
            f"<pre style='max-height:16em;overflow:auto'>{body}</pre></details>"
        ),
    }


class CellOutput:
    """The outputs of one cell, in the order the turn produced them."""

    def __init__(self, send: Send, folder: Path | None = None, say: Words = ENGLISH) -> None:
        self.send = send
        self.folder = folder
        self.say = say
        self._text = ""
        self._text_id: str | None = None
        self._last_draw = 0.0
        self._dirty = False
        self._tools: dict[str, tuple[str, str, str]] = {}  # tool_use id -> (display id, summary, tool)
        self._status_id: str | None = None

    def show(self, event: Text | TextEnded | ToolStarted | ToolFinished | Retrying | Notice) -> None:
        """Show one event of the turn where it belongs in the cell."""
        if isinstance(event, Text):
            self.add_text(event.piece)
        elif isinstance(event, TextEnded):
            self.end_text()
        elif isinstance(event, ToolStarted):
            self.tool_started(event.tool_use_id, event.name, event.tool_input)
        elif isinstance(event, ToolFinished):
            self.tool_finished(event.tool_use_id, event.output, event.is_error, event.ran_without_asking)
        elif isinstance(event, Retrying):
            self.status(retry_line(event, self.say))
        elif isinstance(event, Notice):
            self.note(event.text)

    def _display(self, data: dict[str, str], display_id: str | None = None, update: bool = False,
                 metadata: dict[str, Any] | None = None) -> None:
        content: dict[str, Any] = {"data": data, "metadata": metadata or {}}
        if display_id:
            content["transient"] = {"display_id": display_id}
        self.send("update_display_data" if update else "display_data", content)

    # -- streamed text -------------------------------------------------------
    def add_text(self, piece: str) -> None:
        if not piece:
            return
        self.clear_status()
        self._text += piece
        if self._text_id is None:
            self._text_id = f"claude-text-{next(_display_ids)}"
            self._display({"text/markdown": self._text, "text/plain": self._text}, self._text_id)
            self._last_draw = time.monotonic()
            return
        self._dirty = True
        if time.monotonic() - self._last_draw >= UPDATE_INTERVAL:
            self.flush()

    def flush(self) -> None:
        if self._dirty and self._text_id:
            self._display({"text/markdown": self._text, "text/plain": self._text}, self._text_id, update=True)
            self._last_draw = time.monotonic()
            self._dirty = False

    def end_text(self) -> None:
        """The current block of text is complete; the next text starts a new output."""
        self.flush()
        self._text, self._text_id = "", None

    # -- tools ---------------------------------------------------------------
    def tool_started(self, tool_use_id: str, name: str, tool_input: Mapping[str, Any]) -> None:
        self.end_text()
        self.clear_status()
        summary = tool_summary(name, tool_input, self.folder)
        display_id = f"claude-tool-{next(_display_ids)}"
        self._tools[tool_use_id] = (display_id, summary, name)
        self._display(tool_bundle(summary, "▸", None, say=self.say), display_id)

    def tool_finished(self, tool_use_id: str, content: Any, is_error: bool, ran_without_asking: str | None = None) -> None:
        if tool_use_id not in self._tools:
            return
        display_id, summary, tool = self._tools[tool_use_id]
        self._display(tool_bundle(summary, "✗" if is_error else "✓", result_preview(content, self.say),
                                  without_asking(ran_without_asking, tool, self.say), self.say),
                      display_id, update=True)

    # -- notes ---------------------------------------------------------------
    def note(self, text: str) -> None:
        """A line for the person that stays in the cell (stderr, so it stands apart)."""
        self.end_text()
        self.send("stream", {"name": "stderr", "text": text.rstrip("\n") + "\n"})

    def decision(self, text: str) -> None:
        """What the person answered to a permission question: a plain line of the cell, not the
        stderr colour of a warning, since nothing went wrong."""
        self.end_text()
        self._display({"text/plain": text})

    def status(self, text: str) -> None:
        """A transient line (e.g. a retry in progress), replaced by what comes next."""
        data = {"text/plain": text, "text/markdown": f"*{text}*"}
        if self._status_id is None:
            self._status_id = f"claude-status-{next(_display_ids)}"
            self._display(data, self._status_id)
        else:
            self._display(data, self._status_id, update=True)

    def clear_status(self) -> None:
        if self._status_id is not None:
            self._display({"text/plain": ""}, self._status_id, update=True)
            self._status_id = None

    def receipt(self, usage: TurnUsage, seconds: float, metadata: dict[str, Any] | None = None,
                month: str | None = None) -> None:
        """The footer of a finished turn; ``seconds`` is how long the person waited for it; ``metadata``
        goes with it into the notebook (the cell's provenance, see ``provenance``); ``month`` is the
        month's spend in words, when the model gateway told it."""
        self.footer(footer(usage.turns, usage.input_tokens, usage.output_tokens, usage.cost_usd, seconds, month,
                           self.say), metadata)

    def footer(self, text: str, metadata: dict[str, Any] | None = None) -> None:
        self.end_text()
        self.clear_status()
        self._display({"text/plain": text, "text/markdown": f"<sub>{text}</sub>"}, metadata=metadata)
