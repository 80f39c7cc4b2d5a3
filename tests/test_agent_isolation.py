"""An agent sees only its own folder: its tools cannot read or change a sibling agent's files.

Real Claude Code CLI in a real bubblewrap sandbox, scripted by the fake model;
the command line builder is checked on its own with exact lists.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_kernel.sandbox import (
    STATE_FOLDER,
    Sandbox,
    SandboxUnavailable,
    bwrap_command,
    passed_environment,
    system_layout,
)
from tests.fake_model import say, use_tool

SECRET = "beta's secret: plum-7f3c"
NOTE = "alpha's own note: kiwi-42"
SERVER_TOKEN = "hub-token-5d1e9a"
log = logging.getLogger("test")


@pytest.fixture
def agent_dir(tmp_path: Path) -> Path:
    """Overrides conftest's: the kernel works for agent "alpha", which has a sibling "beta"."""
    alpha = tmp_path / "agents" / "alpha"
    alpha.mkdir(parents=True)
    (alpha / "notes.txt").write_text(NOTE)
    return alpha


@pytest.fixture
def secret(agent_dir: Path) -> Path:
    beta = agent_dir.parent / "beta"
    beta.mkdir()
    path = beta / "secret.txt"
    path.write_text(SECRET)
    return path


def tool_results(model) -> list[str]:
    """Every tool result the CLI sent back to the model, in order (the last request holds them all)."""
    results = []
    for message in model.requests[-1]["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result":
                inner = block.get("content")
                results.append(inner if isinstance(inner, str) else json.dumps(inner))
    return results


def attempts(secret: Path) -> list[tuple[str, dict]]:
    return [
        ("Bash", {"command": "cat ../beta/secret.txt"}),
        ("Bash", {"command": f"cat {secret}"}),
        ("Bash", {"command": "ls -a .."}),
        ("Read", {"file_path": str(secret)}),
        ("Bash", {"command": "echo x > ../beta/secret.txt"}),
        ("Bash", {"command": f"echo x > {secret}"}),
        ("Write", {"file_path": str(secret), "content": "overwritten"}),
        ("Bash", {"command": "rm -rf ../beta"}),
    ]


def run_attempts(kernel, model, secret: Path, *extra: tuple[str, dict]):
    steps = [*attempts(secret), *extra]
    model.script(*(use_tool(name, tool_input) for name, tool_input in steps), say("Done."))
    run = kernel.run("Look around")
    assert run.status == "ok", run.error
    results = tool_results(model)
    assert len(results) == len(steps), results
    return run, results


@pytest.mark.parametrize("settings", [
    {"allowed_tools": ["Bash", "Read"]},
    {"allowed_tools": ["Bash", "Read", "Write"], "headless_permission": "allow"},
    {"allowed_tools": ["Bash", "Read"], "permission_mode": "acceptEdits", "headless_permission": "allow"},
], ids=["pre-approved", "everything-allowed", "accept-edits"])
def test_a_sibling_agents_file_can_be_neither_read_nor_changed(start_kernel, model, agent_dir, secret, settings, settings_file):
    settings_file.write_text(json.dumps(settings))
    kernel = start_kernel()
    run, results = run_attempts(kernel, model, secret, ("Bash", {"command": "cat notes.txt"}))
    for result in results:
        assert SECRET not in result
    assert SECRET not in json.dumps(model.requests)  # nothing the model was ever shown
    assert SECRET not in json.dumps(run.messages, default=str)  # nor the cell's output
    assert secret.read_text() == SECRET
    listing = results[2]
    assert "alpha" in listing and "beta" not in listing
    assert NOTE in results[-1]  # the agent's own folder works as before


def test_without_the_sandbox_a_sibling_agents_file_is_readable(monkeypatch, start_kernel, model, agent_dir, secret, settings_file):
    """Why the sandbox matters: the same attempts succeed when it is off."""
    monkeypatch.setenv("CLAUDE_KERNEL_SANDBOX", "off")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
    settings_file.write_text(json.dumps({"allowed_tools": ["Bash", "Read"], "headless_permission": "allow"}))
    kernel = start_kernel()
    _, results = run_attempts(kernel, model, secret, ("Bash", {"command": "env"}))
    assert SECRET in results[0] and SECRET in results[1] and SECRET in results[3]
    assert "beta" in results[2]
    assert SERVER_TOKEN in results[-1]


def test_server_tokens_do_not_reach_the_agent(monkeypatch, start_kernel, model, agent_dir, settings_file):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)
    monkeypatch.setenv("JPY_API_TOKEN", SERVER_TOKEN)
    settings_file.write_text(json.dumps({"allowed_tools": ["Bash"]}))
    kernel = start_kernel()
    model.script(use_tool("Bash", {"command": "env"}), say("Done."))
    run = kernel.run("Show the environment")
    assert run.status == "ok", run.error
    [shown] = tool_results(model)
    assert SERVER_TOKEN not in shown and "JUPYTERHUB" not in shown
    assert f"ANTHROPIC_BASE_URL={model.base_url}" in shown  # the CLI's own settings do get through
    assert f"HOME={agent_dir}" in shown and f"CLAUDE_CONFIG_DIR={agent_dir / STATE_FOLDER}" in shown
    assert list((agent_dir / STATE_FOLDER / "projects").glob("*/*.jsonl"))  # transcripts stay with the agent


def fake_bwrap(monkeypatch, folder: Path, script: str) -> None:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "bwrap"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


@pytest.fixture
def broken_bwrap(monkeypatch, tmp_path: Path) -> None:
    """A bwrap that fails as it does where user namespaces are not allowed."""
    fake_bwrap(monkeypatch, tmp_path, "echo 'bwrap: No permissions to create new namespace' >&2; exit 1")


def test_a_required_sandbox_that_cannot_work_fails_every_cell_and_says_why(monkeypatch, broken_bwrap, start_kernel):
    monkeypatch.setenv("CLAUDE_KERNEL_SANDBOX", "bwrap")
    kernel = start_kernel()
    for _ in range(2):
        run = kernel.run("Hello")
        assert run.status == "error"
        assert run.error["ename"] == "SandboxUnavailable"
        assert "No permissions to create new namespace" in run.error["evalue"]
        assert "CLAUDE_KERNEL_SANDBOX" in run.error["evalue"]


def test_a_sandbox_that_fails_to_start_claude_code_says_why(monkeypatch, tmp_path, start_kernel):
    # passes the probe (which runs `true`), then fails as a mount refused at start would
    fake_bwrap(monkeypatch, tmp_path, 'for last; do :; done; [ "$last" = true ] && exit 0\n'
                                      'echo "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2; exit 1')
    kernel = start_kernel()
    run = kernel.run("Hello")
    assert run.status == "error"
    assert run.error["ename"] == "ClaudeCodeStopped"
    assert "bwrap: Can't mount proc on /newroot/proc" in run.error["evalue"]


def test_by_default_a_machine_without_working_bwrap_confines_agents_with_landlock(broken_bwrap, start_kernel, model,
                                                                                  agent_dir, secret, settings_file):
    settings_file.write_text(json.dumps({"allowed_tools": ["Bash"]}))
    kernel = start_kernel()
    model.script(use_tool("Bash", {"command": "cat ../beta/secret.txt; cat notes.txt"}), say("Done."))
    assert kernel.run("Look").status == "ok"
    [shown] = tool_results(model)
    assert SECRET not in shown and "Permission denied" in shown and NOTE in shown


# -- the sandbox's parts, without the CLI ----------------------------------------
def test_bwrap_command_shows_the_system_read_only_and_only_the_agent_folder_writable():
    argv = bwrap_command("/usr/bin/bwrap", "/home/ada/agents/alpha", ["/venv/claude", "--verbose"],
                         readonly=["/usr", "/etc", "/venv"], links={"/bin": "usr/bin", "/lib64": "usr/lib64"})
    assert argv == [
        "/usr/bin/bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--ro-bind", "/venv", "/venv",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib64", "/lib64",
        "--bind", "/home/ada/agents/alpha", "/home/ada/agents/alpha",
        "--remount-ro", "/",
        "--chdir", "/home/ada/agents/alpha",
        "--setenv", "HOME", "/home/ada/agents/alpha",
        "--setenv", "CLAUDE_CONFIG_DIR", "/home/ada/agents/alpha/.claude-state",
        "--", "/venv/claude", "--verbose",
    ]
    assert "--unshare-net" not in argv and "--unshare-all" not in argv  # the model API is on the network


@pytest.mark.parametrize(("name", "passed"), [
    ("ANTHROPIC_API_KEY", True), ("ANTHROPIC_BASE_URL", True), ("CLAUDE_CODE_USE_VERTEX", True),
    ("CLAUDE_AGENT_SDK_VERSION", True), ("CLOUD_ML_REGION", True), ("PATH", True), ("LANG", True),
    ("LC_ALL", True), ("TERM", True), ("HTTPS_PROXY", True),
    ("JUPYTERHUB_API_TOKEN", False), ("JPY_API_TOKEN", False), ("GOOGLE_APPLICATION_CREDENTIALS", False),
    ("SMTP_PASSWORD", False), ("HOME", False), ("CLAUDE_CONFIG_DIR", False), ("CLAUDE_KERNEL_STATE_DIR", False),
    ("TMPDIR", False), ("LD_PRELOAD", False), ("PYTHONPATH", False),
])
def test_only_what_the_cli_needs_passes_into_the_sandbox(name, passed):
    assert (name in passed_environment({name: "x"})) is passed


def test_system_layout_links_merged_usr_and_never_reveals_the_agents_parent(tmp_path, monkeypatch):
    folder = tmp_path / "home" / "agents" / "alpha"
    readonly, links = system_layout(str(folder), sys.executable)
    for path in ("/bin", "/lib", "/lib64"):  # merged /usr on this machine
        assert links.get(path) == os.readlink(path)
    assert "/usr" in readonly and "/etc" in readonly
    assert os.path.realpath(sys.prefix) in readonly  # the venv that holds the CLI
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "home"))  # a prefix above the agent folders
    readonly, _ = system_layout(str(folder), sys.executable)
    assert not any(str(folder).startswith(path.rstrip("/") + "/") for path in readonly)


def sandboxed(folder: Path, script: str) -> subprocess.CompletedProcess:
    readonly, links = system_layout(str(folder), sys.executable)
    argv = bwrap_command("bwrap", str(folder), ["/bin/sh", "-c", script], readonly=readonly, links=links)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_inside_bwrap_only_the_agent_folder_and_the_system_exist(agent_dir, secret):
    assert sandboxed(agent_dir, "ls -a ..").stdout.split() == [".", "..", "alpha"]
    assert SECRET not in sandboxed(agent_dir, f"cat {secret}; cat ../beta/secret.txt").stdout
    assert sandboxed(agent_dir, "touch /usr/x /etc/x /x").stderr.count("Read-only file system") == 3
    assert sandboxed(agent_dir, "echo x > notes.txt; pwd").stdout == f"{agent_dir}\n"
    assert (agent_dir / "notes.txt").read_text() == "x\n"
    # no capabilities even when the server runs as root, and a process namespace of its own
    assert sandboxed(agent_dir, "grep CapEff /proc/self/status; echo $$").stdout.split() == ["CapEff:", "0000000000000000", "2"]


def test_the_launcher_keeps_only_the_clis_environment():
    launcher = Path(__file__).parent.parent / "claude_kernel" / "sandbox.py"
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "ANTHROPIC_API_KEY": "sk-x", "JUPYTERHUB_API_TOKEN": SERVER_TOKEN}
    done = subprocess.run([sys.executable, "-I", "-S", str(launcher), "/usr/bin/env"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == ["ANTHROPIC_API_KEY=sk-x", "LANG=C.UTF-8", "PATH=/usr/bin:/bin"]


@pytest.mark.parametrize(("setting", "expected"), [("off", None), ("OFF", None), ("", "launcher"), ("bwrap", "launcher")])
def test_sandbox_setting_chooses_how_claude_code_starts(tmp_path, setting, expected):
    sandbox = Sandbox(tmp_path, setting, log)
    path = sandbox.cli_path()
    if expected is None:
        assert path is None
        return
    launcher = Path(path)
    assert os.access(launcher, os.X_OK) and not launcher.is_relative_to(tmp_path)
    assert oct(launcher.parent.stat().st_mode & 0o777) == "0o700"  # no one else can swap it
    text = launcher.read_text()
    assert text.startswith("#!/bin/sh\nexec ") and "bwrap" in text and " -- " in text and text.endswith('"$@"\n')
    sandbox.cleanup()
    assert not launcher.parent.exists()


def test_an_unknown_sandbox_setting_is_named(tmp_path):
    with pytest.raises(SandboxUnavailable, match="CLAUDE_KERNEL_SANDBOX must be one of auto, bwrap, landlock, off.*'yes'"):
        Sandbox(tmp_path, "yes", log).cli_path()


def test_a_required_sandbox_without_bwrap_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="CLAUDE_KERNEL_SANDBOX=bwrap.*not installed"):
        Sandbox(tmp_path, "bwrap", log).cli_path()
    assert Sandbox(tmp_path, "", log).mode() == "landlock"  # the default falls back to Landlock
