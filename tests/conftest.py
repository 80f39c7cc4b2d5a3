"""Shared fixtures: the fake model API, an agent folder, and real Claude kernels."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from jupyter_client.manager import KernelManager, start_new_kernel

from tests.fake_model import FakeModel
from tests.leaks import LeakCheck

CELL_TIMEOUT = 90
PROJECT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session: pytest.Session) -> None:
    # Before any fixture starts a process: they all inherit the run's mark.
    check = LeakCheck(PROJECT, session.config._tmp_path_factory.getbasetemp())
    check.mark_environment()
    session.config.stash[LEAK_CHECK] = check


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every fixture has stopped by now: whatever of ours still runs is a leak, and fails the run."""
    check = session.config.stash.get(LEAK_CHECK, None)
    if check is None:
        return
    problems = check.check()
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "The tests left these running (each fixture must stop what it started):\n  " + "\n  ".join(problems)
        if reporter is not None:
            reporter.write_line(text, red=True)
        else:
            print(text)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


LEAK_CHECK = pytest.StashKey[LeakCheck]()


@pytest.fixture(scope="session")
def fake_model() -> FakeModel:
    model = FakeModel().start()
    yield model
    model.stop()


@pytest.fixture
def model(fake_model: FakeModel) -> FakeModel:
    fake_model.reset()
    yield fake_model
    fake_model.reset()


@pytest.fixture
def agent_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "agents" / "researcher"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """The agent's settings, kept outside its folder as the agents dashboard keeps them; every default at first."""
    path = tmp_path / "agent-settings" / "agent.json"
    path.parent.mkdir()
    path.write_text("{}")
    return path


@pytest.fixture
def claude_env(monkeypatch: pytest.MonkeyPatch, model: FakeModel, agent_dir: Path, settings_file: Path,
               tmp_path: Path) -> dict[str, str]:
    """The environment a kernel started now inherits: fake model, isolated CLI state, the agent's settings."""
    env = {
        **model.client_environment(),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config"),
        "CLAUDE_AGENT_DIR": str(agent_dir),
        "CLAUDE_AGENT_SETTINGS": str(settings_file),
        "CLAUDE_KERNEL_STATE_DIR": str(tmp_path / "kernel-state"),
    }
    for name in ("JPY_SESSION_NAME", "CLAUDE_KERNEL_STALL_TIMEOUT", "CLAUDE_KERNEL_API_RETRIES", "CLAUDE_KERNEL_SANDBOX",
                 "CLAUDE_KERNEL_NETWORK", "CLAUDE_KERNEL_NETWORK_ALLOW",
                 "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_OAUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@dataclass
class CellRun:
    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return self.reply["content"]["status"]

    @property
    def error(self) -> dict[str, Any] | None:
        return next((m["content"] for m in self.messages if m["msg_type"] == "error"), None)

    def texts(self, mime: str = "text/plain") -> list[str]:
        """Every display's latest text (updates replace what they update), plus streams."""
        shown: dict[str, str] = {}
        order: list[str] = []
        for i, m in enumerate(self.messages):
            content = m["content"]
            if m["msg_type"] in ("display_data", "update_display_data"):
                key = content.get("transient", {}).get("display_id") or f"anon-{i}"
                if key not in shown:
                    order.append(key)
                shown[key] = content["data"].get(mime, "")
            elif m["msg_type"] == "stream":
                order.append(f"stream-{i}")
                shown[f"stream-{i}"] = content["text"]
        return [shown[k] for k in order]

    @property
    def text(self) -> str:
        return "\n".join(self.texts())


class KernelDriver:
    """A started Claude kernel and a way to run cells in it."""

    def __init__(self) -> None:
        self.km: KernelManager
        self.km, self.kc = start_new_kernel(kernel_name="claude", startup_timeout=60)

    def run(self, code: str, *, answer: Callable[[str], str] | None = None, timeout: float = CELL_TIMEOUT) -> CellRun:
        messages: list[dict[str, Any]] = []
        prompts: list[str] = []

        def stdin_hook(msg: dict[str, Any]) -> None:
            prompt = msg["content"]["prompt"]
            prompts.append(prompt)
            self.kc.input(answer(prompt) if answer else "")

        started = time.monotonic()
        reply = self.kc.execute_interactive(
            code, output_hook=messages.append, timeout=timeout,
            allow_stdin=answer is not None, stdin_hook=stdin_hook if answer else None,
        )
        run = CellRun(reply, messages, time.monotonic() - started)
        run.prompts = prompts  # type: ignore[attr-defined]
        return run

    def restart(self) -> None:
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=60)

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


@pytest.fixture
def start_kernel(claude_env: dict[str, str]):
    started: list[KernelDriver] = []

    def start() -> KernelDriver:
        driver = KernelDriver()
        started.append(driver)
        return driver

    yield start
    for driver in started:
        driver.shutdown()


@pytest.fixture
def kernel(start_kernel) -> KernelDriver:
    return start_kernel()
