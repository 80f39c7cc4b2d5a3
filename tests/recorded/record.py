"""Re-record the SDK message sequences in this folder from the real Claude Code CLI.

Each scenario starts the CLI bundled with claude-agent-sdk through a real
``ClaudeSDKClient``, with the options the kernel uses where they shape the
messages (Claude Code's system prompt, partial messages, a permission
callback, no settings files), against the scripted fake model, and writes
what the client handed over during one turn to ``<scenario>.json``. Run it
after upgrading claude-agent-sdk, then run tests/test_kernel_events.py::

    .venv/bin/python -m tests.recorded.record            # every scenario
    .venv/bin/python -m tests.recorded.record interrupt  # one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Awaitable, Callable

from tests.fake_model import FakeModel, fail, say, stall, use_tool
from tests.recorded.sdk_messages import AGENT_FOLDER, HERE, to_json


class Recorder:
    """One scenario's turn: the fake model's script, the client's options, what came out."""

    def __init__(self, model: FakeModel, folder: Path, config_dir: Path) -> None:
        self.model = model
        self.folder = folder
        self.config_dir = config_dir  # the CLI's own state, kept apart from the person's
        self.sequence: list[dict[str, Any]] = []

    async def _can_use_tool(self, tool_name: str, tool_input: dict[str, Any], context: Any) -> Any:
        import claude_agent_sdk

        self.sequence.append({"can_use_tool": {"tool_name": tool_name, "input": tool_input}})
        return claude_agent_sdk.PermissionResultAllow()

    def client(self, **options: Any) -> Any:
        import claude_agent_sdk

        return claude_agent_sdk.ClaudeSDKClient(claude_agent_sdk.ClaudeAgentOptions(
            cwd=str(self.folder), system_prompt={"type": "preset", "preset": "claude_code"},
            include_partial_messages=True, can_use_tool=self._can_use_tool, setting_sources=[],
            env={**self.model.client_environment(), "CLAUDE_CONFIG_DIR": str(self.config_dir)}, **options,
        ))

    async def turn(self, prompt: str, *, interrupt_after_text: bool = False, **options: Any) -> None:
        import claude_agent_sdk

        client = self.client(**options)
        await client.connect()
        try:
            await client.query(prompt)
            interrupted = False
            async for message in client.receive_response():
                self.sequence.append({"message": to_json(message)})
                if (interrupt_after_text and not interrupted and isinstance(message, claude_agent_sdk.StreamEvent)
                        and message.event.get("delta", {}).get("type") == "text_delta"):
                    interrupted = True
                    await client.interrupt()
        finally:
            self.model.release_stalls()
            await client.disconnect()


async def plain_answer(r: Recorder) -> None:
    r.model.script(say("Here is **a plan**:\n\n1. read the data\n2. write the report\n", chunk=12))
    await r.turn("Make a plan")


async def tool_call(r: Recorder) -> None:
    r.model.script(use_tool("Write", {"file_path": str(r.folder / "report.md"), "content": "# Report\n"}),
                   say("Saved report.md."))
    await r.turn("Write the report", allowed_tools=["Write"])


async def failed_tool_call(r: Recorder) -> None:
    r.model.script(use_tool("Read", {"file_path": str(r.folder / "missing.txt")}), say("There is no such file."))
    await r.turn("Read missing.txt", allowed_tools=["Read"])


async def permission_prompt(r: Recorder) -> None:
    r.model.script(use_tool("Write", {"file_path": str(r.folder / "notes.txt"), "content": "ok"}), say("Done."))
    await r.turn("Save a note")


async def api_retry(r: Recorder) -> None:
    r.model.script(fail(529), say("Made it."))
    await r.turn("Hello")


async def rejected_credentials(r: Recorder) -> None:
    # The CLI goes on retrying a 401 for a while (the kernel stops it at the first retry notice):
    # two notices are enough, then the turn is ended as the kernel ends it.
    r.model.script(fail(401, always=True))
    client = r.client()
    await client.connect()
    try:
        await client.query("Hello")
        notices = 0
        async for message in client.receive_response():
            r.sequence.append({"message": to_json(message)})
            if type(message).__name__ == "SystemMessage" and message.subtype == "api_retry":
                notices += 1
                if notices == 2:
                    await client.interrupt()
    finally:
        await client.disconnect()


async def api_error(r: Recorder) -> None:
    r.model.script(fail(400, always=True))  # an invalid request is not retried
    await r.turn("Hello")


async def turn_limit(r: Recorder) -> None:
    r.model.script(use_tool("Write", {"file_path": str(r.folder / "a.txt"), "content": "1"}), say("Never said."))
    await r.turn("Write a.txt", allowed_tools=["Write"], max_turns=1)


async def budget_limit(r: Recorder) -> None:
    # The first answer alone costs more than the budget: the CLI stops before running the tool.
    r.model.script(use_tool("Write", {"file_path": str(r.folder / "b.txt"), "content": "1"}), say("Never said."))
    await r.turn("Write b.txt", allowed_tools=["Write"], max_budget_usd=0.0001)


async def interrupt(r: Recorder) -> None:
    r.model.script(stall("Let me think about"))
    await r.turn("Think hard", interrupt_after_text=True)


SCENARIOS: dict[str, Callable[[Recorder], Awaitable[None]]] = {
    scenario.__name__: scenario
    for scenario in (plain_answer, tool_call, failed_tool_call, permission_prompt, api_retry,
                     rejected_credentials, api_error, turn_limit, budget_limit, interrupt)
}


def _anonymised(text: str, folder: Path) -> str:
    # Temporary paths would change with every recording (Claude Code also names its project
    # folder after the working directory, with a dash for every other character than a letter or digit).
    for path, stands_for in ((folder, AGENT_FOLDER), (folder.parent, "/tmp/recording")):
        for spelling in {str(path.resolve()), str(path)}:
            text = text.replace(spelling, stands_for)
            text = text.replace(re.sub("[^A-Za-z0-9]", "-", spelling), re.sub("[^A-Za-z0-9]", "-", stands_for))
    return text


async def record(name: str, model: FakeModel, into: Path = HERE) -> Path:
    """Record scenario ``name`` into ``into``/<name>.json (this folder, unless a test compares)."""
    import claude_agent_sdk

    with tempfile.TemporaryDirectory(prefix="record-") as tmp:
        folder = Path(tmp) / "agent"
        folder.mkdir()
        model.reset()
        recorder = Recorder(model, folder, Path(tmp) / "claude-config")
        await SCENARIOS[name](recorder)
        document = {
            "scenario": name,
            "recorded_with": {"claude_agent_sdk": claude_agent_sdk.__version__},
            "sequence": recorder.sequence,
        }
        text = _anonymised(json.dumps(document, indent=1, ensure_ascii=False), folder)
    target = into / f"{name}.json"
    target.write_text(text + "\n", encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=f"one of {', '.join(SCENARIOS)}; default: all")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"no scenario {', '.join(sorted(unknown))}; the scenarios are {', '.join(SCENARIOS)}")
    model = FakeModel().start()
    try:
        for name in args.scenarios or SCENARIOS:
            print(f"recorded {asyncio.run(record(name, model))}", file=sys.stderr)
    finally:
        model.stop()


if __name__ == "__main__":
    main()
