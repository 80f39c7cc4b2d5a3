"""Every failure ends the cell with an error a person can act on, and the next cell works."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from tests.fake_model import fail, say, stall


def claude_cli_processes(kernel) -> list[psutil.Process]:
    """The Claude Code CLI processes under the kernel (not the bwrap processes around them)."""
    kernel_process = psutil.Process(kernel.km.provisioner.pid)
    return [p for p in kernel_process.children(recursive=True) if Path((p.cmdline() or [""])[0]).name == "claude"]


def start_cell(kernel, code: str) -> str:
    return kernel.kc.execute(code)


def collect(kernel, msg_id: str, timeout: float = 60.0) -> tuple[dict, list[dict]]:
    """Read iopub and shell until the reply of ``msg_id`` (for cells started with start_cell)."""
    outputs = []
    reply = kernel.kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.kc.get_shell_msg(timeout=timeout)
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return reply, outputs
        outputs.append(msg)


def first_output(kernel, msg_id: str, timeout: float = 60.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kernel.kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        seen.append(msg)
        if msg["msg_type"] in ("display_data", "stream"):
            return seen
    raise AssertionError("no output")


def test_missing_credentials_name_the_variable(monkeypatch, start_kernel):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    kernel = start_kernel()
    for _ in range(2):  # and the kernel keeps answering clearly
        run = kernel.run("Hello")
        assert run.status == "error"
        assert run.error["ename"] == "NoCredentials"
        assert "ANTHROPIC_API_KEY" in run.error["evalue"]


def test_rejected_credentials_stop_at_once_and_the_next_cell_works(kernel, model):
    model.script(fail(401, always=True))
    run = kernel.run("Hello", timeout=60)
    assert run.status == "error"
    assert run.error["ename"] == "CredentialsRejected"
    assert "ANTHROPIC_API_KEY" in run.error["evalue"]
    assert run.seconds < 15  # not the CLI's ten retries with growing delays
    model.reset()
    model.script(say("Back."))
    again = kernel.run("Hello again")
    assert again.status == "ok" and "Back." in again.texts()


@pytest.mark.parametrize(
    ("status", "ename", "advice"),
    [(429, "RateLimited", "Wait a minute"), (529, "Overloaded", "again in a little while"),
     (500, "ModelUnavailable", "again in a little while")],
)
def test_rate_limited_or_overloaded_say_to_retry(monkeypatch, start_kernel, model, status, ename, advice):
    monkeypatch.setenv("CLAUDE_KERNEL_API_RETRIES", "0")
    kernel = start_kernel()
    model.script(fail(status, always=True))
    run = kernel.run("Hello", timeout=60)
    assert run.status == "error"
    assert run.error["ename"] == ename
    assert advice in run.error["evalue"] and f"HTTP {status}" in run.error["evalue"]
    model.reset()
    assert kernel.run("Hello again").status == "ok"


def test_a_retry_that_succeeds_shows_a_passing_notice_and_the_answer(kernel, model):
    model.script(fail(529), say("Made it."))
    run = kernel.run("Hello", timeout=60)
    assert run.status == "ok", run.error
    assert "Made it." in run.texts()
    notices = [m for m in run.messages if m["msg_type"] == "display_data"
               and "retrying" in m["content"]["data"].get("text/plain", "")]
    assert notices, "the retry was announced while it happened"


def test_stalled_stream_is_stopped_by_the_watchdog(monkeypatch, start_kernel, model):
    monkeypatch.setenv("CLAUDE_KERNEL_STALL_TIMEOUT", "3")
    kernel = start_kernel()
    kernel.run("warm up")
    model.script(stall("I am thinking"))
    run = kernel.run("Take your time", timeout=60)
    assert run.status == "error"
    assert run.error["ename"] == "Stalled"
    assert "Run the cell again" in run.error["evalue"]
    assert 3 <= run.seconds < 10
    model.release_stalls()
    model.script(say("Fine now."))
    again = kernel.run("Again")
    assert again.status == "ok", again.error
    assert "Fine now." in again.texts()


def test_cli_dying_mid_turn_is_reported_and_the_next_cell_resumes_the_session(kernel, model):
    kernel.run("Remember the word avocado.")
    model.script(stall("Working on"))
    msg_id = start_cell(kernel, "A long task")
    first_output(kernel, msg_id)
    for process in claude_cli_processes(kernel):
        process.kill()
    reply, outputs = collect(kernel, msg_id)
    assert reply["content"]["status"] == "error"
    error = next(m["content"] for m in outputs if m["msg_type"] == "error")
    assert error["ename"] == "ClaudeCodeStopped"
    assert "Run the cell again" in error["evalue"]
    model.release_stalls()
    model.script(say("Still here."))
    again = kernel.run("Which word?")
    assert again.status == "ok", again.error
    assert "Still here." in again.texts()
    assert "avocado" in model.seen()  # the new CLI resumed the same conversation


def test_stop_button_ends_the_turn_within_two_seconds_and_the_session_goes_on(kernel, model):
    kernel.run("Remember the word tangerine.")
    model.script(stall("Let me think about"))
    msg_id = start_cell(kernel, "Think hard")
    first_output(kernel, msg_id)
    pressed = time.monotonic()
    kernel.km.interrupt_kernel()
    reply, outputs = collect(kernel, msg_id)
    assert time.monotonic() - pressed < 2.0
    assert reply["content"]["status"] == "abort"
    assert any("Stopped" in m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    model.release_stalls()
    model.script(say("Tangerine."))
    again = kernel.run("Which word?")
    assert again.status == "ok", again.error
    assert "tangerine" in model.seen()
    assert len(claude_cli_processes(kernel)) == 1


def test_invalid_agent_settings_name_the_file_and_field(kernel, agent_dir, settings_file):
    assert kernel.run("Hello").status == "ok"
    settings_file.write_text(json.dumps({"max_turns": "many"}))
    run = kernel.run("Hello")
    assert run.status == "error"
    assert run.error["ename"] == "AgentSettingsInvalid"
    assert "agent.json" in run.error["evalue"] and "max_turns" in run.error["evalue"]
    settings_file.write_text(json.dumps({"max_turns": 5}))
    assert kernel.run("Hello").status == "ok"
