"""One notebook's Claude Code session, kept alive for the life of the kernel.

The claude-agent-sdk client (and the CLI process behind it) lives on a
thread of its own with its own event loop, for three reasons: importing the
SDK takes seconds and must not delay the kernel's first reply; the client
must be entered and left from one task, which the kernel's message handlers
are not; and a blocking input prompt in the kernel must not freeze the
stream the CLI is writing.

The kernel talks to it with plain method calls; everything the CLI says
during a turn comes back, in order, on that turn's asyncio queue on the
kernel's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sys
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from .agent import (
    INSTRUCTIONS_FILE,
    OLD_SETTINGS_FILE,
    AgentConfigError,
    AgentSettings,
    instructions_text,
    load_agent,
)
from .sandbox import Sandbox, SandboxUnavailable
from .session_memory import SessionMemory
from .usage_report import SessionReport, UsageReporter

CREDENTIAL_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_BEDROCK",
)


class NoCredentials(RuntimeError):
    """No model credentials in the environment."""


class AgentPaused(RuntimeError):
    """The agent is paused on the dashboard and takes no new turns."""


class CLIStopped(RuntimeError):
    """The Claude Code process ended in the middle of a turn."""


@dataclass
class PermissionRequest:
    """Claude wants a tool the agent's settings do not pre-approve."""

    tool: str
    tool_input: dict[str, Any]
    answer: concurrent.futures.Future  # resolved with ("allow"|"session"|"deny", reason)


@dataclass
class TurnEnded:
    """The turn is over (its ResultMessage came just before this)."""

    cost_usd: float = 0.0


@dataclass
class Notice:
    """Something the person should know before the answer, e.g. a session that could not resume."""

    text: str


@dataclass
class TurnFailed:
    error: BaseException


@dataclass
class Totals:
    session_id: str | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Turn:
    """A prompt in flight; ``events`` fills on the kernel's loop."""

    prompt: str
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: bool = False  # set by the kernel when the person stopped it

    def put(self, event: Any) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)


def missing_credentials() -> str | None:
    if any(os.environ.get(name) for name in CREDENTIAL_VARIABLES):
        return None
    return (
        "No model credentials are configured. Set ANTHROPIC_API_KEY in the environment the "
        "notebook server runs in (or CLAUDE_CODE_USE_VERTEX=1 with CLOUD_ML_REGION and "
        "ANTHROPIC_VERTEX_PROJECT_ID for Vertex AI), then restart the kernel."
    )


class Conversation:
    """Owns the SDK client; all its methods are safe to call from the kernel thread."""

    def __init__(self, folder, settings_file, notebook: str | None, memory: SessionMemory, log: logging.Logger,
                 sandbox: Sandbox) -> None:
        self.folder = folder
        self.settings_file = settings_file
        self.notebook = notebook
        self.memory = memory
        self.log = log
        self.sandbox = sandbox
        remembered = memory.recall(folder, notebook) or {}
        self.totals = Totals(**{k: v for k, v in remembered.items() if k in Totals.__dataclass_fields__})
        self.reporter = UsageReporter.from_environment(log)
        self.model_override: str | None = None
        self.settings: AgentSettings | None = None
        self._notice: str | None = None
        self._sandbox_said: str | None = None  # bwrap's own complaint, if it could not start the CLI
        self._sdk: Any = None
        self._client: Any = None
        self._cost_seen = 0.0  # the CLI reports cost cumulated over its own lifetime
        self._session_allowed: set[str] = set()
        self._current: Turn | None = None
        self._turn_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._commands: asyncio.Queue | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    # -- kernel side ---------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Import the SDK and start the CLI in the background."""
        self._thread = threading.Thread(target=self._run, name="claude-session", daemon=True)
        self._thread.start()

    def ask(self, prompt: str, loop: asyncio.AbstractEventLoop) -> Turn:
        turn = Turn(prompt, loop)
        self._send(("turn", turn))
        return turn

    def interrupt(self) -> None:
        """Ask the CLI to stop the current turn (it answers with a result)."""
        self._call_soon(self._interrupt)

    def abandon(self) -> None:
        """Stop the current turn by ending the CLI; the next turn resumes the session."""
        self._call_soon(self._cancel_turn)

    def new_session(self) -> None:
        self._send(("new",))

    def set_model(self, model: str | None) -> None:
        self.model_override = model
        self._send(("model", model))

    def shutdown(self, timeout: float = 5.0, grace: float = 1.0) -> None:
        """End the session: a turn in progress is interrupted (ended by force after ``grace``
        seconds), so Claude Code exits at once and its transcript is complete for a resume."""
        if self._thread and self._thread.is_alive():
            self._call_soon(lambda: asyncio.get_running_loop().create_task(self._end_turn(grace)))
            self._send(None)
            self._thread.join(timeout)
        self.sandbox.cleanup()
        if self.reporter:
            self.reporter.close()

    def _send(self, command: Any) -> None:
        if not self.started:
            self.start()
        self._ready.wait()
        assert self._loop and self._commands
        self._loop.call_soon_threadsafe(self._commands.put_nowait, command)

    def _call_soon(self, fn) -> None:
        if self._loop:
            self._loop.call_soon_threadsafe(fn)

    # -- session thread ------------------------------------------------------
    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._commands = asyncio.Queue()
        self._ready.set()
        # jsonschema (under the SDK) compiles a Lark grammar for RFC 3987 IRIs at
        # import whenever rfc3987_syntax is installed, as JupyterLab's
        # dependencies make it: about 3 s of every kernel start, for a format
        # check this kernel never makes. Without the module jsonschema skips it.
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
        import claude_agent_sdk

        self._sdk = claude_agent_sdk
        try:
            await self._connect()  # warm up: the first cell should find the CLI ready
        except Exception as err:  # reported to the person by the first cell
            self.log.info("Claude session not started yet: %s", err)
        while True:
            command = await self._commands.get()
            if command is None:
                break
            kind = command[0]
            if kind == "turn":
                await self._run_turn(command[1])
            elif kind == "new":
                await self._disconnect()
                self._report("closed")
                self.totals = Totals()
                self._session_allowed.clear()
                self.memory.remember(self.folder, self.notebook, None)
            elif kind == "model" and self._client is not None:
                try:
                    await self._client.set_model(command[1])
                except Exception:
                    self.log.warning("Could not switch model now; it applies from the next restart", exc_info=True)
                    await self._disconnect()
        await self._disconnect()
        self._report("inactive")
        # In the sandbox, bwrap's init holds the CLI's pipes a moment after the CLI has
        # exited: let the loop read them to their end before it closes.
        await asyncio.sleep(0.05)

    def _options(self, settings: AgentSettings, resume: str | None):
        sdk = self._sdk
        system_prompt: Any = {"type": "preset", "preset": "claude_code"}
        if settings.instructions:
            system_prompt["append"] = settings.instructions
        return sdk.ClaudeAgentOptions(
            cwd=str(settings.folder),
            system_prompt=system_prompt,
            model=self.model_override or settings.model,
            permission_mode=settings.permission_mode,
            allowed_tools=list(settings.allowed_tools),
            disallowed_tools=list(settings.disallowed_tools),
            max_turns=settings.max_turns,
            max_budget_usd=settings.max_budget_usd,
            include_partial_messages=True,
            can_use_tool=self._can_use_tool,
            # No settings files: the agent can write .claude/settings*.json and its own
            # CLAUDE_CONFIG_DIR, and those could allow tools, switch modes or add hooks.
            setting_sources=[],
            resume=resume,
            cli_path=self.sandbox.cli_path(),
            stderr=self._cli_said,
        )

    async def _connect(self) -> None:
        """Start the CLI with the agent's current settings, restarting it when they changed."""
        problem = missing_credentials()
        if problem:
            raise NoCredentials(problem)
        settings = load_agent(self.folder, self.settings_file)
        if settings.status == "paused":
            raise AgentPaused(
                f"The agent \u201c{settings.name}\u201d is paused, so it takes no new turns. Set it to active on "
                "the agents dashboard, then run the cell again."
            )
        if self._client is not None:
            if settings == self.settings:
                return
            # The agent was edited (e.g. on the dashboard): continue the same
            # conversation under the new settings.
            self.log.info("Agent settings in %s changed; restarting Claude Code with them", self.folder)
            if self.settings and settings.instructions != self.settings.instructions and self.totals.session_id:
                # Claude Code keeps a resumed conversation's original system prompt.
                self._notice = ("The agent's instructions changed. They apply to new conversations: "
                                "type %new to start one. Other settings apply from now on.")
            await self._disconnect()
        if self.settings_file is not None:
            # The owner's instructions, read-only, whatever the agent did to its CLAUDE.md.
            self.sandbox.cover(INSTRUCTIONS_FILE, instructions_text(settings.instructions))
        elif self.settings is None and os.path.lexists(os.path.join(self.folder, OLD_SETTINGS_FILE)):
            self._notice = (f"{OLD_SETTINGS_FILE} in this folder is not read: the agent itself could change it. "
                            "This kernel uses the default settings; to give an agent instructions, tools or "
                            "limits, create it on the agents dashboard and open the notebook with its kernel.")
        self.settings = settings
        resume = self.totals.session_id
        self._sandbox_said = None
        client = self._sdk.ClaudeSDKClient(self._options(self.settings, resume))
        try:
            await client.connect()
        except Exception:
            if not resume:
                raise
            # The remembered transcript is gone (deleted, or another machine): start afresh.
            self.log.warning("Could not resume Claude session %s; starting a new one", resume)
            self.totals = Totals()
            self._notice = "The earlier conversation of this notebook could not be found; this is a new one."
            client = self._sdk.ClaudeSDKClient(self._options(self.settings, None))
            await client.connect()
        self._client = client
        self._cost_seen = 0.0
        self.log.info("Claude Code session ready in %s%s", self.folder, f" (resuming {resume})" if resume else "")

    def _cli_said(self, line: str) -> None:
        self.log.debug("claude: %s", line)
        if line.startswith(("bwrap:", "sandbox:")):
            self._sandbox_said = line

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except Exception:
                self.log.debug("Error while stopping Claude Code", exc_info=True)

    async def _run_turn(self, turn: Turn) -> None:
        try:
            await self._connect()
        except (NoCredentials, AgentConfigError, SandboxUnavailable, AgentPaused) as err:
            turn.put(TurnFailed(err))
            return
        except Exception as err:
            self.log.error("Claude Code did not start", exc_info=True)
            said = f" ({self._sandbox_said})" if self._sandbox_said else ""
            turn.put(TurnFailed(CLIStopped(f"Claude Code did not start: {err}{said}")))
            return
        if turn.cancelled:  # stopped while Claude Code was still starting
            turn.put(TurnFailed(CLIStopped("stopped before it began")))
            return
        if self._notice:
            turn.put(Notice(self._notice))
            self._notice = None
        self._current = turn
        self._turn_task = asyncio.create_task(self._converse(turn))
        try:
            cost = await self._turn_task
            turn.put(TurnEnded(cost))
        except asyncio.CancelledError:
            await self._disconnect()
            turn.put(TurnFailed(CLIStopped("The turn was stopped by ending Claude Code.")))
        except Exception as err:
            self.log.error("Claude Code stopped during a turn: %s", err)
            await self._disconnect()
            turn.put(TurnFailed(CLIStopped(str(err) or type(err).__name__)))
        finally:
            self._current = None
            self._turn_task = None

    async def _converse(self, turn: Turn) -> float:
        """Send the prompt and pass on everything until the result; returns the turn's cost."""
        await self._client.query(turn.prompt)
        cost = None
        async for message in self._client.receive_response():
            if isinstance(message, self._sdk.ResultMessage):
                cost = self._count(message)
            elif isinstance(message, self._sdk.SystemMessage) and message.subtype == "init":
                self._record_session(message.data.get("session_id"))
            turn.put(message)
        if cost is None:
            raise CLIStopped("Claude Code ended before finishing the answer.")
        return cost

    def _record_session(self, session_id: str | None) -> None:
        if session_id and session_id != self.totals.session_id:
            self.totals = Totals(session_id=session_id)  # a new session counts from zero
            self.memory.remember(self.folder, self.notebook, asdict(self.totals))

    def _report(self, status: str) -> None:
        """Tell the agents service how this session stands (for the dashboard's statistics)."""
        t, settings = self.totals, self.settings
        if self.reporter and settings and settings.id and t.session_id:
            self.reporter.report(SessionReport(
                agent_id=settings.id, session_id=t.session_id, notebook=self.notebook or "", turns=t.turns,
                input_tokens=t.input_tokens, output_tokens=t.output_tokens, cost_usd=round(t.cost_usd, 6), status=status,
            ))

    def _count(self, result: Any) -> float:
        self._record_session(result.session_id)
        usage = result.usage or {}
        self.totals.turns += result.num_turns or 0
        self.totals.input_tokens += int(usage.get("input_tokens") or 0)
        self.totals.output_tokens += int(usage.get("output_tokens") or 0)
        cumulative = result.total_cost_usd or 0.0
        cost = max(cumulative - self._cost_seen, 0.0)
        self._cost_seen = max(cumulative, self._cost_seen)
        self.totals.cost_usd += cost
        self.memory.remember(self.folder, self.notebook, asdict(self.totals))
        self._report("active")
        return cost

    def _interrupt(self) -> None:
        if self._client is not None and self._turn_task is not None:
            async def send() -> None:
                try:
                    await self._client.interrupt()
                except Exception:
                    self.log.warning("Claude Code did not take the interrupt", exc_info=True)

            asyncio.get_running_loop().create_task(send())

    async def _end_turn(self, grace: float) -> None:
        task = self._turn_task
        if task is None:
            return
        self._interrupt()
        await asyncio.wait([task], timeout=grace)
        if not task.done():
            self._cancel_turn()

    def _cancel_turn(self) -> None:
        if self._turn_task is not None:
            self._turn_task.cancel()

    async def _can_use_tool(self, tool: str, tool_input: dict[str, Any], context: Any) -> Any:
        sdk = self._sdk
        if tool in self._session_allowed:
            return sdk.PermissionResultAllow()
        turn = self._current
        if turn is None:
            return sdk.PermissionResultDeny(message="No cell is running to ask the person.")
        answer: concurrent.futures.Future = concurrent.futures.Future()
        turn.put(PermissionRequest(tool, tool_input, answer))
        decision, reason = await asyncio.wrap_future(answer)
        if decision == "session":
            self._session_allowed.add(tool)
        if decision in ("allow", "session"):
            return sdk.PermissionResultAllow()
        return sdk.PermissionResultDeny(message=reason)
