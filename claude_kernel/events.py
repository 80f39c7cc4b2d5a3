"""What happens in a turn, as the cell shows it: typed, immutable events, and
the one translator that makes them out of claude-agent-sdk's messages.

The SDK speaks in the CLI's terms (an ``AssistantMessage`` holding a
``ToolUseBlock``, a ``SystemMessage`` of subtype ``api_retry``, a
``ResultMessage`` with a cumulative cost); the kernel wants to know that a
tool started, that the model API is being retried, that the turn finished
and what it cost. ``TurnTranslator`` is the only code that reads SDK
messages, and the only reader of ``ResultMessage``. It is pure: no I/O, no
clock, no shared state; what it remembers (which answers were already
streamed, which content blocks are text) belongs to the one turn it reads,
so it is tested by feeding it recorded message sequences
(``tests/recorded/``).

Threading rule: the translator runs on the session thread (where the SDK
client lives) and every event it makes is frozen, with read-only copies of
the SDK's dicts, so an event may cross to the kernel's thread on the turn's
queue and be read there without a lock. The one thing in an event that both
threads touch, ``PermissionAsked.answer``, is a ``concurrent.futures.Future``,
which is made for that.

The SDK is imported when a translator is made, never at the import of this
module: the kernel imports the event types at start, and the SDK's import
takes seconds that must not delay the kernel's first reply.
"""

from __future__ import annotations

import concurrent.futures
import copy
import fnmatch
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Union
from urllib.parse import urlsplit

from .failures import TurnError, result_error, retry_verdict


@dataclass(frozen=True)
class Notice:
    """Something the person should know before the answer, e.g. a session that could not resume."""

    text: str


@dataclass(frozen=True)
class SessionStarted:
    """The CLI named the session this turn belongs to (a new one, or the one it resumed)."""

    session_id: str


@dataclass(frozen=True)
class Text:
    """A piece of the answer, in the order the model wrote it."""

    piece: str


@dataclass(frozen=True)
class TextEnded:
    """The current block of answer text is complete; more text starts a new block."""


@dataclass(frozen=True)
class ToolStarted:
    tool_use_id: str
    name: str
    tool_input: Mapping[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    tool_use_id: str
    output: str  # what the tool answered, as text (images and other blocks by name)
    is_error: bool
    # Why it ran although nobody was asked (see ``unasked_reason``); None when someone was asked,
    # or when the CLI refused it without asking (a tool the agent's settings forbid).
    ran_without_asking: str | None = None


@dataclass(frozen=True)
class Retrying:
    """The model API failed and the CLI tries again after a delay."""

    attempt: int | None
    status: int | None  # the HTTP status the API answered, when it answered
    delay_seconds: float


@dataclass(frozen=True)
class PermissionAsked:
    """Claude wants a tool the agent's settings do not pre-approve; someone must answer."""

    tool: str
    tool_input: Mapping[str, Any]
    headless_permission: str  # the agent's answer when nobody can be asked: "allow" or "deny"
    answer: concurrent.futures.Future = field(compare=False)  # ("allow"|"session"|"deny", reason)
    tool_use_id: str | None = None  # the call it is about (the CLI names it; recordings may not)


@dataclass(frozen=True)
class TurnUsage:
    """What one turn took, as the CLI counted it."""

    session_id: str | None
    turns: int  # model round trips (each tool call adds one)
    input_tokens: int
    output_tokens: int
    cost_usd: float  # this turn's cost alone
    duration_seconds: float  # the CLI's own measure, without the time to start it


@dataclass(frozen=True)
class TurnFinished:
    usage: TurnUsage


@dataclass(frozen=True)
class TurnFailed:
    """The turn cannot give its answer; ``error`` says why in the person's words.

    ``usage`` is there when the CLI did finish the turn (and billed it), e.g.
    at the agent's turn limit. ``still_running`` means the CLI is still at it
    (retrying the model API past the kernel's limit), so the turn must be
    stopped.
    """

    error: TurnError
    usage: TurnUsage | None = None
    still_running: bool = False


Event = Union[Notice, SessionStarted, Text, TextEnded, ToolStarted, ToolFinished, Retrying, PermissionAsked,
              TurnFinished, TurnFailed]


def turn_over(event: object) -> bool:
    """Whether nothing more comes for this turn after ``event``."""
    return isinstance(event, TurnFinished) or (isinstance(event, TurnFailed) and not event.still_running)


@dataclass(frozen=True)
class TurnRules:
    """What a turn is held to: the agent's limits, and how many API retries the kernel lets the CLI make."""

    retry_limit: int = 2
    max_turns: int | None = None
    max_budget_usd: float | None = None
    headless_permission: str = "deny"
    # What the agent's settings let run without asking, to say so on a tool's line.
    permission_mode: str = "default"
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()


def tool_output(content: Any) -> str:
    """A tool result's content (a string, or the API's content blocks) as text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif isinstance(block, dict):
            parts.append(f"[{block.get('type', 'content')}]")
    return "\n".join(parts)


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    # A copy, so that what the SDK does with its own dict later cannot change the event.
    return MappingProxyType(copy.deepcopy(dict(mapping or {})))


# Why a tool ran without anyone being asked (``ToolFinished.ran_without_asking``).
SESSION = "session"  # the person allowed the tool for this session
PRE_APPROVED = "pre_approved"  # the agent's settings list it in allowed_tools
ALL_ALLOWED = "all_allowed"  # the agent's permission mode lets every tool run
EDITS_ALLOWED = "edits_allowed"  # the agent's permission mode lets it change files
READ_ONLY_TOOL = "read_only_tool"  # Claude Code never asks before these (reading, searching)
READ_ONLY_COMMAND = "read_only_command"  # Claude Code lets read-only commands (ls, cat…) through
NEVER_ASKS = "never_asks"  # any other tool Claude Code runs without asking

# Tools Claude Code runs without asking in every permission mode (they read or plan, never change).
READ_ONLY_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead", "TodoWrite", "TodoRead", "Task",
                             "Agent", "ToolSearch", "ExitPlanMode", "BashOutput", "KillBash", "KillShell"})
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
RULE_ARGUMENT = {"Bash": "command", "Read": "file_path", "Edit": "file_path", "Write": "file_path",
                 "MultiEdit": "file_path", "NotebookEdit": "notebook_path", "WebFetch": "url", "WebSearch": "query"}


def rule_matches(rule: str, tool: str, tool_input: Mapping[str, Any]) -> bool:
    """Whether a permission rule in Claude Code's syntax ("Bash", "Bash(ls:*)",
    "WebFetch(domain:example.com)", "Read(docs/*)") covers this call.

    Close to Claude Code's own matching, which stays the judge of what runs:
    this only names the likely reason on the tool's line.
    """
    name, paren, specifier = rule.strip().partition("(")
    if name != tool:
        return False
    if not paren or specifier in (")", "*)"):
        return True
    specifier = specifier[:-1] if specifier.endswith(")") else specifier
    value = str(tool_input.get(RULE_ARGUMENT.get(tool, ""), "") or "")
    if specifier.startswith("domain:"):
        host, domain = (urlsplit(value).hostname or ""), specifier[len("domain:"):]
        return host == domain or (domain.startswith("*.") and host.endswith(domain[1:]))
    if specifier.endswith(":*"):
        prefix = specifier[:-2]
        return value == prefix or value.startswith(prefix + " ")
    return fnmatch.fnmatchcase(value, specifier) or fnmatch.fnmatchcase(value.rsplit("/", 1)[-1], specifier)


def unasked_reason(tool: str, tool_input: Mapping[str, Any], rules: TurnRules) -> str:
    """Why Claude Code ran this call without asking, as one of the reasons above.

    The CLI calls ``can_use_tool`` only when it would ask; a call that never
    came through it was let through by the agent's settings (its rules, its
    permission mode) or by Claude Code itself (tools that only read, and Bash
    commands it knows to be read-only).
    """
    if rules.permission_mode == "bypassPermissions":
        return ALL_ALLOWED
    if any(rule_matches(rule, tool, tool_input) for rule in rules.allowed_tools):
        return PRE_APPROVED
    if rules.permission_mode == "acceptEdits" and tool in EDIT_TOOLS:
        return EDITS_ALLOWED
    if tool in READ_ONLY_TOOLS:
        return READ_ONLY_TOOL
    if tool == "Bash":
        return READ_ONLY_COMMAND
    return NEVER_ASKS


class TurnTranslator:
    """Reads one turn's SDK messages, in the order they came, into events."""

    def __init__(self, rules: TurnRules = TurnRules(), cli_cost_before: float = 0.0) -> None:
        """``cli_cost_before``: the cost the CLI had reported before this turn (it reports
        cost cumulated over its own life, and a turn's event carries the turn's part)."""
        import claude_agent_sdk

        self._sdk = claude_agent_sdk
        self.rules = rules
        self._cli_cost_before = cli_cost_before
        self._streamed: set[str] = set()  # answers whose text came as stream events already
        self._text_blocks: set[int] = set()  # indexes of the streamed answer's text blocks
        self._tools: dict[str, tuple[str, Mapping[str, Any]]] = {}  # tool_use id -> (tool, input)
        self._asked: set[str] = set()  # tool calls someone was asked about
        self._session_allowed: set[str] = set()  # tool calls the person had allowed for the session

    def read(self, message: Any) -> tuple[Event, ...]:
        sdk = self._sdk
        if getattr(message, "parent_tool_use_id", None):
            return ()  # a subagent's inner work: its tool line already stands for it
        if isinstance(message, sdk.StreamEvent):
            return self._stream_event(message.event)
        if isinstance(message, sdk.AssistantMessage):
            return self._assistant(message)
        if isinstance(message, sdk.UserMessage):
            if not isinstance(message.content, list):
                return ()
            return tuple(self._tool_finished(block) for block in message.content
                         if isinstance(block, sdk.ToolResultBlock))
        if isinstance(message, sdk.ResultMessage):
            return (self._result(message),)
        if isinstance(message, sdk.SystemMessage):
            return self._system(message)
        return ()

    def permission(self, tool: str, tool_input: Mapping[str, Any] | None,
                   answer: concurrent.futures.Future, tool_use_id: str | None = None) -> PermissionAsked:
        """The event for the SDK's ``can_use_tool`` callback: Claude asks to run ``tool``."""
        if tool_use_id:
            self._asked.add(tool_use_id)
        return PermissionAsked(tool, _frozen(tool_input), self.rules.headless_permission, answer, tool_use_id)

    def allowed_for_session(self, tool_use_id: str | None) -> None:
        """``can_use_tool`` let this call run because the person allowed its tool for the session."""
        if tool_use_id:
            self._session_allowed.add(tool_use_id)

    def _tool_finished(self, block: Any) -> ToolFinished:
        call_id, is_error = block.tool_use_id, bool(block.is_error)
        reason = None
        if call_id in self._session_allowed:
            reason = SESSION
        elif call_id not in self._asked and call_id in self._tools:
            tool, tool_input = self._tools[call_id]
            if not (is_error and any(rule_matches(rule, tool, tool_input) for rule in self.rules.disallowed_tools)):
                reason = unasked_reason(tool, tool_input, self.rules)
        return ToolFinished(call_id, tool_output(block.content), is_error, reason)

    # -- per kind of message -------------------------------------------------
    def _stream_event(self, event: dict[str, Any]) -> tuple[Event, ...]:
        kind = event.get("type")
        if kind == "message_start":
            self._streamed.add(event.get("message", {}).get("id"))
            self._text_blocks.clear()
        elif kind == "content_block_start":
            if event.get("content_block", {}).get("type") == "text":
                self._text_blocks.add(event.get("index"))
        elif kind == "content_block_delta":
            delta = event.get("delta", {})
            if delta.get("type") == "text_delta" and delta.get("text"):
                return (Text(delta["text"]),)
        elif kind == "content_block_stop" and event.get("index") in self._text_blocks:
            self._text_blocks.discard(event.get("index"))
            return (TextEnded(),)
        return ()

    def _assistant(self, message: Any) -> tuple[Event, ...]:
        sdk = self._sdk
        events: list[Event] = []
        for block in message.content:
            if isinstance(block, sdk.TextBlock):
                if message.message_id in self._streamed:
                    continue  # already shown piece by piece
                if block.text:
                    events.append(Text(block.text))
                events.append(TextEnded())
            elif isinstance(block, sdk.ToolUseBlock):
                started = ToolStarted(block.id, block.name, _frozen(block.input))
                self._tools[block.id] = (started.name, started.tool_input)
                events.append(started)
            # ThinkingBlock: the cell shows the answer and the tools, not the model's reasoning.
        return tuple(events)

    def _system(self, message: Any) -> tuple[Event, ...]:
        data = message.data or {}
        if message.subtype == "init" and data.get("session_id"):
            return (SessionStarted(data["session_id"]),)
        if message.subtype == "api_retry":
            verdict = retry_verdict(data, self.rules.retry_limit)
            if verdict is not None:
                return (TurnFailed(verdict, still_running=True),)
            attempt = data.get("attempt")
            return (Retrying(int(attempt) if attempt is not None else None, data.get("error_status"),
                             (data.get("retry_delay_ms") or 0) / 1000),)
        return ()

    def _result(self, result: Any) -> TurnFinished | TurnFailed:
        usage = result.usage or {}
        cumulative = result.total_cost_usd or 0.0
        spent = TurnUsage(
            session_id=result.session_id or None,
            turns=result.num_turns or 0,
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cost_usd=max(cumulative - self._cli_cost_before, 0.0),
            duration_seconds=(result.duration_ms or 0) / 1000,
        )
        if not result.is_error:
            return TurnFinished(spent)
        error = result_error(
            result.subtype, api_status=result.api_error_status,
            detail="; ".join(result.errors or []) or result.result or result.subtype,
            turns=spent.turns, max_turns=self.rules.max_turns, max_budget_usd=self.rules.max_budget_usd,
        )
        return TurnFailed(error, spent)
