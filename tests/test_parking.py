"""An idle notebook's Claude Code is stopped to free memory, and the next cell resumes the same conversation.

The real kernel and CLI against the fake model, with a parking time of two
seconds (CLAUDE_KERNEL_PARK_AFTER) instead of ten minutes.
"""

from __future__ import annotations

import time

import psutil
import pytest

from tests.fake_model import say
from tests.polling import wait_for

PARK_AFTER = 2.0


def claude_processes(kernel) -> list[psutil.Process]:
    """The kernel's Claude Code CLI and everything it runs (the sandbox's processes included)."""
    return psutil.Process(kernel.km.provisioner.pid).children(recursive=True)


@pytest.fixture
def parking(monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_KERNEL_PARK_AFTER", str(PARK_AFTER))


@pytest.mark.parametrize("sandbox", ["bwrap", "landlock"])
def test_an_idle_kernel_stops_claude_code_and_the_next_cell_resumes_the_conversation(parking, monkeypatch, sandbox,
                                                                                     start_kernel, model):
    monkeypatch.setenv("CLAUDE_KERNEL_SANDBOX", sandbox)  # as on a machine, and as in a pod
    kernel = start_kernel()
    model.script(say("Noted: your cat is called Quince."))
    first = kernel.run("Remember this: my cat is called Quince.")
    assert first.status == "ok", first.error
    assert claude_processes(kernel)
    before = kernel.run("%session").text

    wait_for(lambda: not claude_processes(kernel), timeout=PARK_AFTER + 15)

    model.script(say("Your cat is Quince."))
    resumed = kernel.run("What is my cat called?")
    assert resumed.status == "ok", resumed.error
    assert "Resumed" in resumed.text and "Nothing is lost" in resumed.text
    assert "Your cat is Quince." in resumed.text
    seen = model.seen()
    assert "my cat is called Quince" in seen and "Noted: your cat is called Quince." in seen  # the earlier turn
    assert claude_processes(kernel)

    after = kernel.run("%session").text
    session_line = next(line for line in before.splitlines() if line.startswith("Session:"))
    assert session_line in after and "(none yet)" not in session_line  # the same session
    assert "Turns: 1" in before and "Turns: 2" in after  # totals carried over
    assert "Resumed" not in kernel.run("And again?").text  # said once


def test_a_kernel_in_use_keeps_its_claude_code(parking, start_kernel, model):
    kernel = start_kernel()
    for _ in range(3):
        run = kernel.run("Hello")
        assert run.status == "ok" and "Resumed" not in run.text
        pids = {p.pid for p in claude_processes(kernel)}
        assert pids
    assert {p.pid for p in claude_processes(kernel)} == pids


def test_parking_can_be_turned_off(monkeypatch, start_kernel, model):
    monkeypatch.setenv("CLAUDE_KERNEL_PARK_AFTER", "0")
    kernel = start_kernel()
    assert kernel.run("Hello").status == "ok"
    pids = {p.pid for p in claude_processes(kernel)}
    time.sleep(PARK_AFTER + 1)
    assert pids and {p.pid for p in claude_processes(kernel)} == pids
