"""One notebook's Claude Code session, kept alive for the life of the kernel.

The claude-agent-sdk client (and the CLI process behind it) lives on a
thread of its own with its own event loop, for three reasons: importing the
SDK takes seconds and must not delay the kernel's first reply; the client
must be entered and left from one task, which the kernel's message handlers
are not; and a blocking input prompt in the kernel must not freeze the
stream the CLI is writing.

The kernel talks to it with plain method calls; what happens during a turn
comes back, in order, as events (``events``) on that turn's asyncio queue
on the kernel's loop.

Parking: a CLI holds 200-250 MB, so after ``park_after`` seconds without a
command the session thread stops it (the session id stays in the totals) and
the next turn starts a CLI that resumes that session, saying so once.

Threading rule: nothing mutable is shared by the two threads. The session
thread owns the SDK client, the agent's settings, the session's totals and
the tools allowed for the session, and reads and writes them only there.
What crosses goes through a queue or is immutable: commands go to the
session thread on its asyncio queue (``_send``, ``_call_soon``); events come
back frozen on the turn's queue; the kernel reads the totals and the agent's
model as a frozen ``SessionSnapshot`` the session thread publishes under a
lock; a permission is answered through a ``concurrent.futures.Future`` and a
stop is signalled by a ``threading.Event``. Attributes set in ``__init__``
and never changed (folder, notebook, memory, sandbox, log, park_after) are
read by both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sys
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .agent import (
    INSTRUCTIONS_FILE,
    OLD_SETTINGS_FILE,
    AgentConfigError,
    AgentSettings,
    instructions_text,
    load_agent,
)
from .events import Notice, SessionStarted, TurnFailed, TurnFinished, TurnRules, TurnTranslator, TurnUsage
from .failures import AgentPaused, CLIStopped, NoCredentials, failure
from .sandbox import Sandbox, SandboxUnavailable
from .session_memory import SessionMemory
from .usage_report import SessionReport, UsageReporter

AGENT_HEADER = "X-OMA-Agent"
CREDENTIAL_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_BEDROCK",
)


@dataclass(frozen=True)
class Totals:
    """What the session has used so far (remembered across kernel restarts)."""

    session_id: str | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def plus(self, usage: TurnUsage) -> "Totals":
        return replace(self, turns=self.turns + usage.turns, input_tokens=self.input_tokens + usage.input_tokens,
                       output_tokens=self.output_tokens + usage.output_tokens, cost_usd=self.cost_usd + usage.cost_usd)


@dataclass(frozen=True)
class SessionSnapshot:
    """How the session stands, for the kernel thread to show (``%session``, ``%model``)."""

    totals: Totals
    agent_model: str | None  # the model the agent's settings name, once they have been read
    agent_id: str = ""  # the agent's id on the dashboard, once its settings have been read ("" for none)


@dataclass(frozen=True)
class Turn:
    """A prompt in flight; ``events`` fills on the kernel's loop."""

    prompt: str
    loop: asyncio.AbstractEventLoop
    retry_limit: int
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    stopped: threading.Event = field(default_factory=threading.Event)  # set by the kernel when the person stopped it

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
    """Owns the SDK client; its public methods are for the kernel thread, the others run on the session thread."""

    def __init__(self, folder, settings_file, notebook: str | None, memory: SessionMemory, log: logging.Logger,
                 sandbox: Sandbox, park_after: float = 0.0) -> None:
        """``park_after``: seconds without use after which the CLI is stopped until the next turn (0: never)."""
        self.folder = folder
        self.park_after = park_after
        self.settings_file = settings_file
        self.notebook = notebook
        self.memory = memory
        self.log = log
        self.sandbox = sandbox
        self.reporter = UsageReporter.from_environment(log)
        remembered = memory.recall(folder, notebook) or {}
        # -- kernel thread only
        self.model_choice: str | None = None  # what %model asked for (the session thread gets it as a command)
        self._thread: threading.Thread | None = None
        # -- handed over
        self._ready = threading.Event()  # set once _loop and _commands exist
        self._loop: asyncio.AbstractEventLoop | None = None
        self._commands: asyncio.Queue | None = None
        self._snapshot_lock = threading.Lock()
        # -- session thread only (set here before it starts)
        self._totals = Totals(**{k: v for k, v in remembered.items() if k in Totals.__dataclass_fields__})
        self._settings: AgentSettings | None = None
        self._snapshot = SessionSnapshot(self._totals, None)
        self._model_override: str | None = None
        self._notice: str | None = None
        self._sandbox_said: str | None = None  # bwrap's own complaint, if it could not start the CLI
        self._sdk: Any = None
        self._client: Any = None
        self._cli_cost = 0.0  # the CLI reports cost cumulated over its own lifetime
        self._session_allowed: set[str] = set()
        self._current: tuple[Turn, TurnTranslator] | None = None
        self._turn_task: asyncio.Task | None = None
        self._parked = False  # the CLI was stopped for being idle; the next turn resumes its session

    # -- kernel side ---------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Import the SDK and start the CLI in the background."""
        self._thread = threading.Thread(target=self._run, name="claude-session", daemon=True)
        self._thread.start()

    def snapshot(self) -> SessionSnapshot:
        with self._snapshot_lock:
            return self._snapshot

    def ask(self, prompt: str, loop: asyncio.AbstractEventLoop, retry_limit: int) -> Turn:
        """Start a turn; ``retry_limit``: how many failed model API attempts the CLI may retry."""
        turn = Turn(prompt, loop, retry_limit)
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
        self.model_choice = model
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
        if self._ready.is_set():
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
        waiting: asyncio.Task | None = None
        while True:
            # A pending get is kept across an idle timeout rather than cancelled, so no command is lost.
            waiting = waiting or asyncio.ensure_future(self._commands.get())
            idle_limit = self.park_after if self.park_after > 0 and self._client is not None else None
            done, _ = await asyncio.wait({waiting}, timeout=idle_limit)
            if not done:
                await self._park()
                continue
            command, waiting = waiting.result(), None
            if command is None:
                break
            kind = command[0]
            if kind == "turn":
                await self._run_turn(command[1])
            elif kind == "new":
                await self._disconnect()
                self._report("closed")
                self._set_totals(Totals())
                self._session_allowed.clear()
                self.memory.remember(self.folder, self.notebook, None)
            elif kind == "model":
                self._model_override = command[1]
                if self._client is not None:
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

    async def _park(self) -> None:
        """Stop the idle CLI to give its memory back; the session id stays for the next turn's resume."""
        self.log.info("Claude Code idle for %.0f s: stopping it until the next cell (session %s is kept)",
                      self.park_after, self._totals.session_id)
        await self._disconnect()
        self._parked = True

    def _publish(self) -> None:
        snapshot = SessionSnapshot(self._totals, self._settings.model if self._settings else None,
                                   self._settings.id if self._settings else "")
        with self._snapshot_lock:
            self._snapshot = snapshot

    def _set_totals(self, totals: Totals) -> None:
        self._totals = totals
        self._publish()

    def _options(self, settings: AgentSettings, resume: str | None):
        sdk = self._sdk
        system_prompt: Any = {"type": "preset", "preset": "claude_code"}
        if settings.instructions:
            system_prompt["append"] = settings.instructions
        return sdk.ClaudeAgentOptions(
            cwd=str(settings.folder),
            system_prompt=system_prompt,
            model=self._model_override or settings.model,
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
            # The model gateway counts the turn against this agent (if its owner is the token's person).
            env={"ANTHROPIC_CUSTOM_HEADERS": f"{AGENT_HEADER}: {settings.id}"} if settings.id else {},
        )

    async def _connect(self) -> None:
        """Start the CLI with the agent's current settings, restarting it when they changed."""
        problem = missing_credentials()
        if problem:
            raise NoCredentials(problem)
        settings = load_agent(self.folder, self.settings_file)
        if settings.status == "paused":
            raise AgentPaused(settings.name)
        if self._client is not None:
            if settings == self._settings:
                return
            # The agent was edited (e.g. on the dashboard): continue the same
            # conversation under the new settings.
            self.log.info("Agent settings in %s changed; restarting Claude Code with them", self.folder)
            if self._settings and settings.instructions != self._settings.instructions and self._totals.session_id:
                # Claude Code keeps a resumed conversation's original system prompt.
                self._notice = ("The agent's instructions changed. They apply to new conversations: "
                                "type %new to start one. Other settings apply from now on.")
            await self._disconnect()
        if self.settings_file is not None:
            # The owner's instructions, read-only, whatever the agent did to its CLAUDE.md.
            self.sandbox.cover(INSTRUCTIONS_FILE, instructions_text(settings.instructions))
        elif self._settings is None and os.path.lexists(os.path.join(self.folder, OLD_SETTINGS_FILE)):
            self._notice = (f"{OLD_SETTINGS_FILE} in this folder is not read: the agent itself could change it. "
                            "This kernel uses the default settings; to give an agent instructions, tools or "
                            "limits, create it on the agents dashboard and open the notebook with its kernel.")
        self._settings = settings
        self._publish()
        resume = self._totals.session_id
        self._sandbox_said = None
        client = self._sdk.ClaudeSDKClient(self._options(settings, resume))
        try:
            await client.connect()
        except Exception:
            if not resume:
                raise
            # The remembered transcript is gone (deleted, or another machine): start afresh.
            self.log.warning("Could not resume Claude session %s; starting a new one", resume)
            self._set_totals(Totals())
            self._notice = "The earlier conversation of this notebook could not be found; this is a new one."
            client = self._sdk.ClaudeSDKClient(self._options(settings, None))
            await client.connect()
        self._client = client
        self._cli_cost = 0.0
        if self._parked and resume and self._totals.session_id == resume:
            self._notice = self._notice or (
                "Resumed: this agent's Claude Code was stopped while the notebook sat idle, to free memory. "
                "Nothing is lost: the conversation continues where it was.")
        self._parked = False
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
            turn.put(TurnFailed(failure(err)))
            return
        except Exception as err:
            self.log.error("Claude Code did not start", exc_info=True)
            said = f" ({self._sandbox_said})" if self._sandbox_said else ""
            turn.put(TurnFailed(failure(CLIStopped(f"Claude Code did not start: {err}{said}"))))
            return
        if turn.stopped.is_set():  # stopped while Claude Code was still starting
            turn.put(TurnFailed(failure(CLIStopped("stopped before it began"))))
            return
        if self._notice:
            turn.put(Notice(self._notice))
            self._notice = None
        settings = self._settings
        rules = TurnRules(retry_limit=turn.retry_limit, max_turns=settings.max_turns,
                          max_budget_usd=settings.max_budget_usd, headless_permission=settings.headless_permission,
                          permission_mode=settings.permission_mode or "default",
                          allowed_tools=tuple(settings.allowed_tools), disallowed_tools=tuple(settings.disallowed_tools))
        translator = TurnTranslator(rules, cli_cost_before=self._cli_cost)
        self._current = (turn, translator)
        self._turn_task = asyncio.create_task(self._converse(turn, translator))
        try:
            await self._turn_task
        except asyncio.CancelledError:
            await self._disconnect()
            turn.put(TurnFailed(failure(CLIStopped("The turn was stopped by ending Claude Code."))))
        except Exception as err:
            self.log.error("Claude Code stopped during a turn: %s", err)
            await self._disconnect()
            turn.put(TurnFailed(failure(CLIStopped(str(err) or type(err).__name__))))
        finally:
            self._current = None
            self._turn_task = None

    async def _converse(self, turn: Turn, translator: TurnTranslator) -> None:
        """Send the prompt and pass the turn's events on until its result."""
        await self._client.query(turn.prompt)
        finished = False
        async for message in self._client.receive_response():
            for event in translator.read(message):
                if isinstance(event, SessionStarted):
                    self._record_session(event.session_id)
                    continue  # the session's own business: the kernel shows totals from the snapshot
                if isinstance(event, (TurnFinished, TurnFailed)) and event.usage is not None:
                    # Counted before the kernel hears of it, so that a %session right after sees this turn.
                    self._count(event.usage)
                    finished = True
                turn.put(event)
        if not finished:
            raise CLIStopped("Claude Code ended before finishing the answer.")

    def _record_session(self, session_id: str | None) -> None:
        if session_id and session_id != self._totals.session_id:
            self._set_totals(Totals(session_id=session_id))  # a new session counts from zero
            self.memory.remember(self.folder, self.notebook, asdict(self._totals))

    def _report(self, status: str) -> None:
        """Tell the agents service how this session stands (for the dashboard's statistics)."""
        t, settings = self._totals, self._settings
        if self.reporter and settings and settings.id and t.session_id:
            self.reporter.report(SessionReport(
                agent_id=settings.id, session_id=t.session_id, notebook=self.notebook or "", turns=t.turns,
                input_tokens=t.input_tokens, output_tokens=t.output_tokens, cost_usd=round(t.cost_usd, 6), status=status,
            ))

    def _count(self, usage: TurnUsage) -> None:
        self._record_session(usage.session_id)
        self._cli_cost += usage.cost_usd
        self._set_totals(self._totals.plus(usage))
        self.memory.remember(self.folder, self.notebook, asdict(self._totals))
        self._report("active")

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
        tool_use_id = getattr(context, "tool_use_id", None)
        if tool in self._session_allowed:
            if self._current is not None:
                self._current[1].allowed_for_session(tool_use_id)
            return sdk.PermissionResultAllow()
        if self._current is None:
            return sdk.PermissionResultDeny(message="No cell is running to ask the person.")
        turn, translator = self._current
        answer: concurrent.futures.Future = concurrent.futures.Future()
        turn.put(translator.permission(tool, tool_input, answer, tool_use_id))
        decision, reason = await asyncio.wrap_future(answer)
        if decision == "session":
            self._session_allowed.add(tool)
        if decision in ("allow", "session"):
            return sdk.PermissionResultAllow()
        return sdk.PermissionResultDeny(message=reason)
