"""The Claude kernel: each cell is a prompt, each execution one streamed turn
of the notebook's Claude Code session.

The kernel handles cells, magics and the stop button, and shows a turn's
events (``events``) as they come from the session (``conversation``); it
never sees an SDK message. It runs on the kernel's own thread and loop, and
meets the session thread only through the turn's event queue, the
conversation's methods and its frozen ``snapshot()``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from ipykernel._version import kernel_protocol_version
from ipykernel.kernelbase import Kernel
from traitlets import Bool, Float, Int, List, Unicode, default

from oma_contract.environment import DocumentedEnvironment, SettingInvalid, from_environment
from oma_contract.money import format_usd

from . import __version__
from .agent import agent_folder, agent_name, settings_file
from .conversation import Conversation, Turn
from .events import PermissionAsked, ToolFinished, ToolStarted, TurnFailed, TurnFinished, TurnUsage, turn_over
from .failures import TurnError
from .magics import UnknownMagic, folder_for_people, help_text, parse_cell
from .month_spend import month_standing, month_words
from .parameters import NotebookParameters
from .provenance import CellRecord
from .render import CellOutput, tool_summary
from .network import ALLOW_ENV, NETWORK_ENV, AgentNetwork
from .sandbox import SANDBOX_ENV, Sandbox
from .session_memory import SessionMemory
from .words import ENGLISH, N_, Words, person_language

INTERRUPT = object()  # put on a turn's queue when the person presses stop
# The permission question, asked through Jupyter's ordinary input request so that any front end can
# answer by typing. Our JupyterLab extension recognises this exact form and shows buttons instead
# (lab_extension/src/permission.ts, PERMISSION_PROMPT: keep the two in step; a test checks they are).
PERMISSION_PROMPT = "Allow {summary}?  y = once, a = always this session, n = no: "
SHUTDOWN_FLUSH_TIMEOUT = 0.2  # seconds an output flush may wait once the kernel is shutting down


class ClaudeKernel(DocumentedEnvironment, Kernel):
    implementation = "claude_kernel"
    implementation_version = __version__
    language = "markdown"
    language_version = "1.0"
    language_info = {
        "name": "markdown",
        "mimetype": "text/markdown",
        "file_extension": ".md",
        "codemirror_mode": "markdown",
        "pygments_lexer": "markdown",
    }
    banner = "Claude: every cell is a turn of this notebook's Claude Code session. Type %help for magics."
    help_links = [{"text": "Claude Code", "url": "https://docs.anthropic.com/en/docs/claude-code"}]

    stall_timeout = Float(
        config=True,
        help="Seconds without any progress from the model after which a turn is stopped. "
        "Does not apply while a tool is running.",
    ).tag(env="CLAUDE_KERNEL_STALL_TIMEOUT")
    tool_timeout = Float(
        config=True,
        help="Seconds a single tool call (e.g. a long Bash command) may run without any other "
        "progress before the turn is stopped.",
    ).tag(env="CLAUDE_KERNEL_TOOL_TIMEOUT")
    api_retry_limit = Int(
        config=True,
        help="How many failed attempts (rate limited, overloaded, server errors) the Claude Code CLI "
        "may retry within one turn before the cell gives up and asks the person to retry. "
        "Rejected credentials are never retried.",
    ).tag(env="CLAUDE_KERNEL_API_RETRIES")
    interrupt_grace = Float(
        1.5,
        config=True,
        help="Seconds the CLI gets to end a stopped turn before it is ended by force "
        "(the conversation then resumes on the next cell).",
    )
    park_after = Float(
        config=True,
        help="Seconds a notebook may sit idle before its Claude Code process (200-250 MB) is stopped to free "
        "memory (0 never stops it). The session is kept: the next cell starts "
        "Claude Code again, resuming the same conversation, and says so.",
    ).tag(env="CLAUDE_KERNEL_PARK_AFTER")
    show_month_spend = Bool(
        config=True,
        help="Whether a cell's footer shows the month's spend against the monthly limit (and the agent's against "
        "its own), asked of the model gateway after each turn. "
        "Shown only when the server reaches the model through the platform's gateway; a gateway that does not "
        "answer within 2 s leaves it out.",
    ).tag(env="CLAUDE_KERNEL_SHOW_MONTH_SPEND")
    state_dir = Unicode(
        config=True,
        help="Folder where the kernel remembers each notebook's Claude session id.",
    ).tag(env="CLAUDE_KERNEL_STATE_DIR")

    sandbox = Unicode(
        config=True,
        help="How an agent's tools are kept inside its folder: 'bwrap' runs "
        "Claude Code in a bubblewrap namespace where only the agent's folder and the system are visible; "
        "'landlock' confines it with Landlock (no namespaces needed, as in an unprivileged pod) so that it may "
        "open only the agent's folder, its own temporary folder and the system; 'auto' (the default) is bwrap "
        "when it works here, else Landlock. A cell fails with an error saying why when the chosen isolation "
        "is impossible. 'off' runs agents unconfined, so every agent can read and change every other agent's "
        "files: only an admin's explicit choice does that.",
    ).tag(env=SANDBOX_ENV)

    network = Unicode(
        config=True,
        help="What an agent's tools (and Claude Code) may reach on the network: "
        "'proxy' locks every process of the agent to a proxy of this kernel that lets through the internet and "
        "the model endpoint but nothing of the platform (loopback, private, link-local and other non-public "
        "addresses), and cells fail with an error where this Linux kernel cannot (Landlock ABI 4, Linux 6.7, "
        "is needed); 'off' lets agents reach everything this server can.",
    ).tag(env=NETWORK_ENV)
    network_allow = List(
        Unicode(),
        config=True,
        help="Destinations an agent may reach although they are not on the public internet (separated "
        "by commas): addresses, networks or host names, each with an "
        "optional port, e.g. '10.0.0.5:3128', '10.8.0.0/16', 'mirror.internal:443'. The model endpoint "
        "(ANTHROPIC_BASE_URL) is allowed without being listed.",
    ).tag(env=ALLOW_ENV)

    def _from_environment(self, trait: str, default: Any) -> Any:
        """The trait's value from its environment variable (oma_contract.environment), else ``default``. A
        kernel never fails to start over a setting: a value it cannot take is logged, naming the variable,
        and the default used (the sandbox and network settings are checked later, failing cells with why)."""
        try:
            return from_environment(self, trait, default)
        except SettingInvalid as problem:
            (self.log or logging.getLogger("claude_kernel")).warning("%s; using %r", problem, default)
            return default

    @default("stall_timeout")
    def _default_stall_timeout(self) -> float:
        return self._from_environment("stall_timeout", 120.0)

    @default("tool_timeout")
    def _default_tool_timeout(self) -> float:
        return self._from_environment("tool_timeout", 900.0)

    @default("api_retry_limit")
    def _default_api_retry_limit(self) -> int:
        return self._from_environment("api_retry_limit", 2)

    @default("park_after")
    def _default_park_after(self) -> float:
        return self._from_environment("park_after", 600.0)

    @default("sandbox")
    def _default_sandbox(self) -> str:
        return self._from_environment("sandbox", "auto")

    @default("network")
    def _default_network(self) -> str:
        return self._from_environment("network", "proxy")

    @default("network_allow")
    def _default_network_allow(self) -> list[str]:
        return self._from_environment("network_allow", [])

    @default("show_month_spend")
    def _default_show_month_spend(self) -> bool:
        return self._from_environment("show_month_spend", True)

    @default("state_dir")
    def _default_state_dir(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return os.path.expanduser(self._from_environment("state_dir", os.path.join(jupyter_data_dir(), "claude_kernel")))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.words = ENGLISH  # each cell's in the person's language (do_execute)
        notebook = os.environ.get("JPY_SESSION_NAME") or None
        folder = agent_folder()
        network = AgentNetwork(self.network, self.network_allow, self.log, label=str(folder))
        self.conversation = Conversation(folder, settings_file(), notebook, SessionMemory(Path(self.state_dir)),
                                         self.log, Sandbox(folder, self.sandbox, self.log, network),
                                         park_after=self.park_after)
        self._turn: Turn | None = None
        self.parameters = NotebookParameters()
        self._session_cells = 0  # cells that asked the model in this session: a cell's provenance "turn"

    def start(self) -> None:
        """Extends Kernel.start: the session starts in the background once the front end
        has its kernel_info reply (or after a second without one)."""
        super().start()
        self.io_loop.call_later(1.0, self._start_session)

    def _start_session(self) -> None:
        if not self.conversation.started:
            self.conversation.start()

    @property
    def kernel_info(self) -> dict[str, Any]:
        """Overrides Kernel.kernel_info: a prompt cannot be stepped through, so the debugger
        is not advertised (and debugpy, which the base class imports to decide, stays unloaded)."""
        return {
            "protocol_version": kernel_protocol_version,
            "implementation": self.implementation,
            "implementation_version": self.implementation_version,
            "language_info": self.language_info,
            "banner": self.banner,
            "help_links": self.help_links,
            "supported_features": ["kernel subshells"] if self._supports_kernel_subshells else [],
        }

    async def kernel_info_request(self, stream, ident, parent) -> None:  # type: ignore[override]
        """Extends Kernel.kernel_info_request: answering first, then starting Claude Code,
        keeps the seconds-long SDK import from delaying the reply that makes the kernel ready."""
        await super().kernel_info_request(stream, ident, parent)
        self._start_session()

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        await asyncio.get_running_loop().run_in_executor(None, self.conversation.shutdown)
        # ipykernel flushes stdout and stderr after the shutdown reply, from the control thread,
        # while the main thread may already have stopped the IOPub thread: the flush then waits its
        # whole timeout (10 s) and the kernel outlives its server's stop. Nothing is printed from here on.
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "flush_timeout"):
                stream.flush_timeout = SHUTDOWN_FLUSH_TIMEOUT
        return {"status": "ok", "restart": restart}

    async def interrupt_request(self, stream, ident, parent) -> None:  # type: ignore[override]
        """Overrides Kernel.interrupt_request, which signals the whole process group.

        SIGINT would also reach the Claude Code CLI, our child, and end the
        session; instead the running turn is told to stop, which asks the CLI
        to end the turn and keeps the session alive.
        """
        turn = self._turn
        if turn is not None:
            turn.put(INTERRUPT)
        if self.session:
            self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    # -- execution -----------------------------------------------------------
    async def do_execute(  # type: ignore[override]
        self, code: str, silent: bool, store_history: bool = True,
        user_expressions: dict | None = None, allow_stdin: bool = False, **_: Any,
    ) -> dict[str, Any]:
        self._allow_stdin = allow_stdin
        self.words = Words(person_language())  # read at each cell: a person who switched sees the next in it
        out = CellOutput(self._publisher(silent), self.conversation.folder, self.words)
        try:
            cell = parse_cell(code)
        except UnknownMagic as err:
            return self._fail(TurnError("UnknownMagic", str(err)), silent)
        if self.parameters.declares(cell):
            return self._declare_parameters(cell.prompt, silent)
        for name, argument in cell.magics:
            self._run_magic(name, argument)
        if not cell.prompt:
            return self._ok()
        try:
            prompt = self.parameters.fill(cell.prompt)
        except ValueError as err:
            return self._fail(TurnError("UnknownParameter", str(err)), silent)
        return await self._run_turn(prompt, out, silent)

    def _declare_parameters(self, body: str, silent: bool) -> dict[str, Any]:
        try:
            shown = self.parameters.declare(body)
        except ValueError as err:
            return self._fail(TurnError("BadParameters", str(err)), silent)
        if not silent:
            self._say(shown)
        return self._ok()

    def _publisher(self, silent: bool):
        def send(msg_type: str, content: dict[str, Any]) -> None:
            if not silent:
                self.send_response(self.iopub_socket, msg_type, content)
        return send

    def _say(self, text: str) -> None:
        self.send_response(self.iopub_socket, "stream", {"name": "stdout", "text": text.rstrip("\n") + "\n"})

    def _ok(self) -> dict[str, Any]:
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

    def _fail(self, error: TurnError, silent: bool = False) -> dict[str, Any]:
        told = error.worded(self.words)
        content = {
            "ename": error.kind,
            "evalue": told,
            "traceback": [f"\x1b[0;31m{error.kind}\x1b[0m: {told}"],
        }
        if not silent:
            self.send_response(self.iopub_socket, "error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    def _run_magic(self, name: str, argument: str) -> None:
        conversation, say = self.conversation, self.words
        if name == "help":
            self._say(help_text(say))
        elif name == "new":
            conversation.new_session()
            self._session_cells = 0
            self._say(say(N_("Started a fresh session: the next cell begins a new conversation.")))
        elif name == "model":
            if argument:
                conversation.set_model(argument)
                self._say(say(N_("Model for this session: {model}"), model=argument))
            else:
                current = conversation.model_choice or conversation.snapshot().agent_model
                self._say(say(N_("Model: {model}"), model=current or say(N_("Claude Code default"))))
        elif name == "session":
            t = conversation.snapshot().totals
            self._say(say(
                N_("Session: {session}\nAgent folder: {folder}\nTurns: {turns}\n"
                   "Tokens: {input:,} in / {output:,} out\nCost: {cost}"),
                session=t.session_id or say(N_("(none yet)")), folder=folder_for_people(conversation.folder),
                turns=t.turns, input=t.input_tokens, output=t.output_tokens, cost=format_usd(t.cost_usd)))

    async def _run_turn(self, prompt: str, out: CellOutput, silent: bool) -> dict[str, Any]:
        started = time.monotonic()
        turn = self.conversation.ask(prompt, asyncio.get_running_loop(), self.api_retry_limit)
        self._turn = turn
        tools_running: set[str] = set()
        record = CellRecord(self.conversation.folder)
        usage: TurnUsage | None = None
        error: TurnError | None = None
        try:
            while True:
                timeout = self.tool_timeout if tools_running else self.stall_timeout
                try:
                    event = await asyncio.wait_for(turn.events.get(), timeout)
                except asyncio.TimeoutError:
                    error = TurnError(
                        "Stalled",
                        N_("No progress for {seconds:.0f} s, so the turn was stopped. Run the cell again; "
                           "if it keeps happening, the model API may be having trouble."),
                        {"seconds": timeout},
                    )
                    await self._stop_turn(turn)
                    break
                if event is INTERRUPT:
                    await self._stop_turn(turn)
                    out.note(self.words(N_("⏹ Stopped. The session is still here: the next cell continues the "
                                           "conversation.")))
                    return {"status": "abort", "execution_count": self.execution_count}
                if isinstance(event, TurnFinished):
                    usage = event.usage
                    break
                if isinstance(event, TurnFailed):
                    usage, error = event.usage, event.error
                    if event.still_running:
                        await self._stop_turn(turn)
                    break
                if isinstance(event, PermissionAsked):
                    self._ask_permission(event, out)
                    record.asked(event)
                    continue
                if isinstance(event, ToolStarted):
                    tools_running.add(event.tool_use_id)
                    record.called(event.name, event.tool_input)
                elif isinstance(event, ToolFinished):
                    tools_running.discard(event.tool_use_id)
                out.show(event)
        finally:
            self._turn = None
        out.flush()
        if usage is not None:
            self._session_cells += 1
            seconds = time.monotonic() - started
            month = None
            if self.show_month_spend:
                month = month_words(await month_standing(self.conversation.snapshot().agent_id or None), self.words)
            out.receipt(usage, seconds, record.metadata(
                agent=self._agent_name(), model=self._model(), turn=self._session_cells, usage=usage,
                seconds=seconds, status="error" if error is not None else "ok"), month)
        if error is not None:
            return self._fail(error, silent)
        return self._ok()

    def _model(self) -> str | None:
        return self.conversation.model_choice or self.conversation.snapshot().agent_model

    def _agent_name(self) -> str:
        """The agent's name, for the cells' provenance (its settings file's, else its folder's)."""
        return agent_name(self.conversation.folder, settings_file())

    async def _stop_turn(self, turn: Turn) -> None:
        """End the turn within the grace time: politely first, then by ending the CLI."""
        turn.stopped.set()
        self.conversation.interrupt()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.interrupt_grace
        forced = False
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                if forced:
                    return
                self.log.warning("Claude Code did not end the turn in %.1f s; ending it", self.interrupt_grace)
                self.conversation.abandon()
                forced, deadline = True, loop.time() + 0.4
                continue
            try:
                event = await asyncio.wait_for(turn.events.get(), remaining)
            except asyncio.TimeoutError:
                continue
            if turn_over(event):
                return
            if isinstance(event, PermissionAsked):
                event.answer.set_result(("deny", "The person stopped this turn."))

    def _ask_permission(self, request: PermissionAsked, out: CellOutput) -> None:
        summary = tool_summary(request.tool, request.tool_input, self.conversation.folder)
        if not self._allow_stdin:
            if request.headless_permission == "allow":
                out.note(self.words(N_("Allowed without asking (no one to ask in this run): {tool}"), tool=summary))
                request.answer.set_result(("allow", ""))
            else:
                out.note(self.words(N_("Denied: {tool} (no one to ask in this run; pre-approve it with "
                                       "allowed_tools in the agent's settings)"), tool=summary))
                request.answer.set_result(("deny", "The tool is not pre-approved and nobody could be asked."))
            return
        out.flush()
        try:
            reply = self.raw_input(PERMISSION_PROMPT.format(summary=summary))
        except (EOFError, KeyboardInterrupt):
            reply = "n"
        choice = reply.strip().lower()
        if choice in ("a", "always"):
            out.decision(self.words(N_("Allowed for this session: {tool}"), tool=request.tool))
            request.answer.set_result(("session", ""))
        elif choice in ("y", "yes", "once"):
            out.decision(self.words(N_("Allowed once: {tool}"), tool=summary))
            request.answer.set_result(("allow", ""))
        else:
            out.decision(self.words(N_("Denied: {tool}"), tool=summary))
            request.answer.set_result(("deny", "The person denied this tool call."))
