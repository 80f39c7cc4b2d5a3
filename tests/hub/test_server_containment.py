"""A person's local server is contained like a pod: it sees only its own home, its own processes
and no platform secrets, and stopping it leaves nothing of it running.

The attacks run as ordinary code in the person's own server (a Python kernel driven through
jupyter_server's REST API and kernel websocket, as JupyterLab does), against a real hub, proxy,
agents service and contained user servers; the positive controls run a Claude agent's turn
against the fake model inside the same contained server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import os
import shutil
import signal
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import websocket

from traitlets import TraitError

from hub_config import containment, spawner
from hub_config.containment import ISOLATION, ContainmentUnavailable, server_command
from hub_config.spawner import LocalSpawner
from tests.fake_model import say, use_tool
from tests.hub.conftest import ADMIN, PROJECT, Hub
from tests.polling import wait_for

SMTP_PASSWORD = "smtp-password-9f2c41"
BO_INSTRUCTIONS = "bo's private instructions: quince-81"


# -- the command line ------------------------------------------------------------------
def test_an_unprivileged_hub_contains_a_server_with_one_bwrap():
    argv = server_command("/usr/bin/bwrap", ["python", "-m", "agents_extension.user_server"],
                          home="/srv/users/ada", readonly=["/usr", "/etc", "/opt/venv"], links={"/bin": "usr/bin"})
    assert argv == [
        "/usr/bin/bwrap",
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--ro-bind", "/opt/venv", "/opt/venv",
        "--symlink", "usr/bin", "/bin",
        "--bind", "/srv/users/ada", "/srv/users/ada", "--remount-ro", "/", "--chdir", "/srv/users/ada",
        "--", "python", "-m", "agents_extension.user_server",
    ]


def test_a_root_hub_lays_files_out_privileged_then_makes_the_namespaces_as_the_servers_user_id():
    argv = server_command("/usr/bin/bwrap", ["python", "-m", "agents_extension.user_server"],
                          home="/srv/users/ada", readonly=["/usr", "/root/py/3.11"], links={"/bin": "usr/bin"},
                          uid=1000007, setpriv="/usr/bin/setpriv")
    assert argv == [
        "/usr/bin/bwrap", "--die-with-parent", "--unshare-pid",
        "--perms", "0755", "--dir", "/tmp",
        "--perms", "0755", "--dir", "/root", "--perms", "0755", "--dir", "/root/py",
        "--perms", "0755", "--dir", "/srv", "--perms", "0755", "--dir", "/srv/users",
        "--ro-bind", "/usr", "/usr", "--ro-bind", "/root/py/3.11", "/root/py/3.11",
        "--symlink", "usr/bin", "/bin",
        "--bind", "/proc", "/proc", "--dev", "/dev",
        "--bind", "/srv/users/ada", "/srv/users/ada", "--remount-ro", "/",
        "--", "/usr/bin/setpriv", "--reuid", "1000007", "--regid", "1000007", "--clear-groups",
        "--", "/usr/bin/bwrap", "--bind", "/", "/", *ISOLATION,
        "--bind", "/srv/users/ada", "/srv/users/ada", "--remount-ro", "/", "--chdir", "/srv/users/ada",
        "--", "python", "-m", "agents_extension.user_server",
    ]


def test_what_is_mounted_under_tmp_stays_visible_under_the_servers_own_tmp():
    """A checkout cloned into /tmp (as CI may): its Python environment is under the host's /tmp."""
    argv = server_command("/usr/bin/bwrap", ["python"], home="/srv/users/ada", readonly=["/usr", "/tmp/co/.venv"],
                          links={}, uid=1000007, setpriv="/usr/bin/setpriv")
    second = argv[argv.index("/usr/bin/setpriv"):]
    after_own_tmp = second[second.index("/tmp", second.index("--tmpfs")) + 1:]
    assert after_own_tmp[:3] == ["--ro-bind", "/tmp/co/.venv", "/tmp/co/.venv"]
    assert "/usr" not in after_own_tmp


def test_the_layout_shows_only_the_packages_a_server_imports_from_the_checkout(tmp_path):
    readonly, _ = containment.server_layout(str(tmp_path / "ada"), ["agents_extension", "claude_kernel"], [])
    assert str(PROJECT / "agents_extension") in readonly and str(PROJECT / "claude_kernel") in readonly
    assert not [path for path in readonly if Path(path) in (PROJECT, PROJECT / "hub_config", PROJECT / ".run")]


def test_a_layout_that_would_show_the_hubs_data_is_refused(tmp_path):
    with pytest.raises(ContainmentUnavailable, match="Move OMA_DATA_DIR"):
        containment.server_layout(str(tmp_path / "ada"), ["agents_extension"], [str(PROJECT / "agents_extension" / "hub")])


# -- the setting ------------------------------------------------------------------------------
def local_spawner(tmp_path: Path, **traits) -> LocalSpawner:
    user = SimpleNamespace(name="ada@example.org", id=7, url="/user/ada@example.org/", escaped_name="ada@example.org")
    return LocalSpawner(user=user, home_dir_template=str(tmp_path / "{username}"), **traits)


@pytest.mark.parametrize("environment, expected", [(None, "bwrap"), ("", "bwrap"), ("bwrap", "bwrap"), (" OFF ", "off")])
def test_servers_are_contained_unless_containment_is_explicitly_off(monkeypatch, tmp_path, environment, expected):
    if environment is None:
        monkeypatch.delenv(containment.CONTAIN_ENV, raising=False)
    else:
        monkeypatch.setenv(containment.CONTAIN_ENV, environment)
    assert local_spawner(tmp_path).contain == expected


def test_a_containment_setting_that_is_not_a_mode_is_refused(tmp_path):
    with pytest.raises(TraitError, match="must be 'bwrap' or 'off'"):
        local_spawner(tmp_path, contain="maybe")


def test_a_server_is_refused_not_started_uncontained_when_bwrap_cannot_run(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(spawner.shutil, "which", lambda name: None)
    server = local_spawner(tmp_path)
    with caplog.at_level(logging.ERROR), pytest.raises(ContainmentUnavailable, match=f"{containment.CONTAIN_ENV}=off"):
        asyncio.run(server.start())
    assert "bubblewrap (bwrap) is not installed" in caplog.text and server.proc is None


# -- a person's code in their own server -------------------------------------------------
def execute(hub: Hub, token: str, name: str, kernel: str, code: str, timeout: float = 90) -> tuple[str, str]:
    """Run ``code`` in a new kernel ``kernel`` of ``name``'s server, as JupyterLab does; the
    cell's text output and its status."""
    started = hub.api(token, "POST", f"/user/{name}/api/kernels", json={"name": kernel})
    assert started.status_code == 201, started.text
    kernel_id = started.json()["id"]
    ws = websocket.create_connection(f"ws://127.0.0.1:{hub.port}/user/{name}/api/kernels/{kernel_id}/channels",
                                     header=[f"Authorization: token {token}"], timeout=timeout)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    output, status, idle = [], None, False
    try:
        while status is None or not idle:
            message = json.loads(ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind in ("display_data", "update_display_data", "execute_result"):
                output.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                output.append("\n".join(content["traceback"]))
            elif kind == "execute_reply":
                status = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
    finally:
        ws.close()
    return "".join(output), status


ATTACK = textwrap.dedent("""
    import json, os

    def attempt(path, how):
        try:
            if how == "list":
                return ["seen", sorted(os.listdir(path))]
            if how == "write":
                with open(path, "w") as f:
                    f.write("planted")
                return ["written", path]
            with open(path, "rb") as f:
                return ["seen", f.read(2000).decode("utf-8", "replace")]
        except OSError as err:
            return ["refused", type(err).__name__]

    found = {key: attempt(path, how) for key, (path, how) in TARGETS.items()}
    processes, environments = {}, ""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    processes[pid] = f.read().replace(b"\\0", b" ").decode()
                with open(f"/proc/{pid}/environ", "rb") as f:
                    environments += f.read().decode("utf-8", "replace")
            except OSError:
                pass
    found["processes"] = processes
    found["environments"] = environments
    found["uid"] = os.getuid()
    print("RESULT" + json.dumps(found))
""")


def run_attack(hub: Hub, token: str, name: str, targets: dict[str, tuple[str, str]]) -> dict:
    code = f"TARGETS = {json.dumps(targets)}\n{ATTACK}"
    output, status = execute(hub, token, name, "python3", code)
    assert status == "ok", output
    return json.loads(output.split("RESULT", 1)[1])


@pytest.fixture(scope="module")
def platform(tmp_path_factory, fake_model):
    """A hub whose agents service holds an SMTP password, and two approved people with running
    servers: ada (the attacker) and bo, who has an agent."""
    hub = Hub(tmp_path_factory.mktemp("hub"), {**fake_model.client_environment(), "OMA_SMTP_PASSWORD": SMTP_PASSWORD})
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    people = {name: hub.person_with_server(admin_token, name) for name in ("ada", "bo")}
    bo, bo_token = people["bo"]
    agent = hub.api(bo_token, "POST", f"/user/{bo}/api/agents", json={"name": "Bo's agent", "instructions": BO_INSTRUCTIONS})
    assert agent.status_code == 201, agent.text
    people["bo_agent"] = agent.json()
    yield hub, people
    for email, _ in (people["ada"], people["bo"]):
        hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server")
    hub.stop()


def service_pid(hub: Hub) -> int:
    return next(p.pid for p in psutil.Process(hub.process.pid).children()
                if "agents_extension.service" in " ".join(p.cmdline()))


def server_processes(hub: Hub, email: str) -> list[psutil.Process]:
    """Every process of a person's server, seen from the host: the bwrap the hub started and all below it."""
    home = str(Path(hub.env["OMA_USERS_DIR"]) / email)
    top = next(p for p in psutil.Process(hub.process.pid).children() if home in command_of(p))
    return [top, *top.children(recursive=True)]


def command_of(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:  # a short-lived one, gone already
        return ""


def runs_as_root(process: psutil.Process) -> bool:
    try:
        return process.uids().real == 0
    except psutil.NoSuchProcess:
        return False


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_persons_code_sees_no_platform_secret_no_other_process_and_no_other_persons_files(platform):
    hub, people = platform
    ada, ada_token = people["ada"]
    bo, _ = people["bo"]
    users, data = Path(hub.env["OMA_USERS_DIR"]), Path(hub.env["OMA_DATA_DIR"])
    bo_agent = users / bo / "agents" / people["bo_agent"]["slug"]
    assert BO_INSTRUCTIONS in (bo_agent / "CLAUDE.md").read_text()  # it is there, on the host
    for secret_file in ("jupyterhub_cookie_secret", "jupyterhub.sqlite", "oh-my-agent.sqlite"):
        assert (data / secret_file).exists()
    found = run_attack(hub, ada_token, ada, {
        "service environ": (f"/proc/{service_pid(hub)}/environ", "read"),
        "hub environ": (f"/proc/{hub.process.pid}/environ", "read"),
        "bo's home": (str(users / bo), "list"),
        "bo's agent instructions": (str(bo_agent / "CLAUDE.md"), "read"),
        "bo's agent settings": (str(bo_agent / "agent.json"), "read"),
        "every home": (str(users), "list"),
        "hub data folder": (str(data), "list"),
        "cookie secret": (str(data / "jupyterhub_cookie_secret"), "read"),
        "hub database": (str(data / "jupyterhub.sqlite"), "read"),
        "store": (str(data / "oh-my-agent.sqlite"), "read"),
        "hub log and work folder": (str(hub.workdir / "hub.log"), "read"),
        "checkout": (str(PROJECT), "list"),
        "project settings": (str(PROJECT / "pyproject.toml"), "read"),
        "hub configuration": (str(PROJECT / "hub_config" / "platform.py"), "read"),
        "git history": (str(PROJECT / ".git"), "list"),
        "host /tmp": ("/tmp", "list"),
        "system file": ("/usr/planted", "write"),
        "server code": (str(PROJECT / "agents_extension" / "planted"), "write"),
        "own home": (str(users / ada / "own-note.txt"), "write"),
    })
    for target in ("service environ", "hub environ", "bo's home", "bo's agent instructions", "bo's agent settings",
                   "hub data folder", "cookie secret", "hub database", "store", "hub log and work folder",
                   "project settings", "hub configuration", "git history", "system file", "server code"):
        assert found[target][0] == "refused", (target, found[target])
    assert found["every home"] == ["seen", [ada]]  # the folder of homes holds only one's own
    assert found["checkout"] == ["seen", sorted([".venv", "agents_extension", "claude_kernel", "oma_contract", "recipes"])]
    # /tmp is the server's own: only the way to its home (and its kernels' temporary folders)
    # (and, for a checkout under /tmp, the way to the read-only parts of it a server imports)
    ways = {users.parts[2]} | ({PROJECT.parts[2]} if PROJECT.parts[1] == "tmp" else set())
    assert {name for name in found["host /tmp"][1] if not name.startswith("claude-kernel-")} == ways
    # only the server's own processes exist for it, and no environment it can read holds a platform secret
    assert all("jupyterhub -f" not in c and "agents_extension.service" not in c and "configurable-http-proxy" not in c
               and bo not in c for c in found["processes"].values()), found["processes"]
    assert any("agents_extension.user_server" in c for c in found["processes"].values())
    assert len(found["processes"]) < 10, found["processes"]
    secrets = [SMTP_PASSWORD, "OMA_SMTP", "OMA_STORE_URL", "oh-my-agent.sqlite",
               (data / "jupyterhub_cookie_secret").read_text().strip()]
    assert [s for s in secrets if s in found["environments"]] == []
    # the positive control: one's own home, read-write, and not as root
    assert found["own home"][0] == "written" and (users / ada / "own-note.txt").read_text() == "planted"
    assert found["uid"] != 0
    assert not (PROJECT / "agents_extension" / "planted").exists()


def test_a_terminal_in_ones_server_is_just_as_contained(platform):
    hub, people = platform
    ada, ada_token = people["ada"]
    bo, _ = people["bo"]
    users, data = Path(hub.env["OMA_USERS_DIR"]), Path(hub.env["OMA_DATA_DIR"])
    terminal = hub.api(ada_token, "POST", f"/user/{ada}/api/terminals")
    assert terminal.status_code == 200, terminal.text
    ws = websocket.create_connection(f"ws://127.0.0.1:{hub.port}/user/{ada}/terminals/websocket/{terminal.json()['name']}",
                                     header=[f"Authorization: token {ada_token}"], timeout=30)
    try:
        ws.send(json.dumps(["stdin", f"cat /proc/{service_pid(hub)}/environ {users / bo}/agents/*/CLAUDE.md "
                                     f"{data}/jupyterhub_cookie_secret; echo UID-$(id -u) END-$((6*7))\r"]))
        screen = ""
        while "END-42" not in screen:
            message = json.loads(ws.recv())
            if message[0] == "stdout":
                screen += message[1]
    finally:
        ws.close()
    assert SMTP_PASSWORD not in screen and BO_INSTRUCTIONS not in screen
    assert screen.count("No such file or directory") == 3, screen
    assert int(re.search(r"UID-(\d+)", screen).group(1)) != 0  # the typed line shows "UID-$(id -u)"


def test_a_claude_agent_still_works_in_the_contained_server_and_stays_in_its_folder(platform, model):
    hub, people = platform
    ada, ada_token = people["ada"]
    bo, _ = people["bo"]
    users = Path(hub.env["OMA_USERS_DIR"])
    created = hub.api(ada_token, "POST", f"/user/{ada}/api/agents", json={"name": "Ada's scout", "allowed_tools": ["Bash"]})
    assert created.status_code == 201, created.text
    slug = created.json()["slug"]
    (users / ada / "diary.txt").write_text("ada's diary: fig-12")  # in her home, outside the agent's folder
    model.script(
        use_tool("Bash", {"command": f"echo made-by-agent > out.txt; cat {users / ada / 'diary.txt'}; "
                                     f"ls {users / bo}; ls /proc; env"}),
        say("Looked around."),
    )
    output, status = execute(hub, ada_token, ada, f"claude-{slug}", "Look around, please.")
    assert status == "ok", output
    assert "Looked around." in output
    assert (users / ada / "agents" / slug / "out.txt").read_text() == "made-by-agent\n"
    results = [block for message in model.requests[-1]["messages"] if isinstance(message["content"], list)
               for block in message["content"] if block.get("type") == "tool_result"]
    said = json.dumps(results)
    assert "fig-12" not in said and "JUPYTERHUB_API_TOKEN" not in said and "agents_extension.user_server" not in said


def test_stopping_a_server_leaves_none_of_its_processes_behind(platform, model):
    hub, people = platform
    ada, ada_token = people["ada"]
    created = hub.api(ada_token, "POST", f"/user/{ada}/api/agents", json={"name": "Ada's last agent"}).json()
    _, status = execute(hub, ada_token, ada, f"claude-{created['slug']}", "Hello.")
    assert status == "ok"
    assert hub.api(ada_token, "POST", f"/user/{ada}/api/terminals").status_code == 200
    processes = wait_for(lambda: (lambda ps: ps if any(command_of(p).split(" ")[0].endswith("bash") for p in ps) else None)(
        server_processes(hub, ada)))
    commands = [command_of(p) for p in processes]
    assert any("agents_extension.user_server" in c for c in commands)
    assert any("claude_kernel" in c for c in commands)
    assert any("_bundled/claude" in c for c in commands), commands
    # only the first stage (root's bwrap, which lays the files out, and its init) runs as root
    assert [p for p in processes if runs_as_root(p)] == processes[:2], commands
    hub.stop_server(ada_token, ada)
    wait_for(lambda: not any(alive(p) for p in processes), 30)


def test_a_hub_that_dies_takes_its_servers_with_it(start_hub):
    hub = start_hub()
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email, _ = hub.person_with_server(admin_token, "cy")
    processes = server_processes(hub, email)
    assert any("agents_extension.user_server" in command_of(p) for p in processes)
    others = [p for p in psutil.Process(hub.process.pid).children(recursive=True) if p not in processes]
    os.kill(hub.process.pid, signal.SIGKILL)  # no clean-up by the hub: --die-with-parent does it
    try:
        wait_for(lambda: not any(alive(p) for p in processes), 30)
    finally:
        for process in others:  # the proxy and the agents service, which outlive a killed hub
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


def test_with_the_default_layout_the_hubs_data_beside_the_code_stays_out_of_sight(start_hub):
    """scripts/run keeps the hub's data and the homes in the checkout's .run folder, next to the
    code the servers import."""
    run = PROJECT / ".run" / f"test-{uuid.uuid4().hex[:6]}"
    hub = start_hub(OMA_DATA_DIR=str(run / "hub"), OMA_USERS_DIR=str(run / "users"))
    try:
        email, token = hub.person_with_server(hub.token_for(hub.sign_in(ADMIN)), "di")
        found = run_attack(hub, token, email, {
            "checkout": (str(PROJECT), "list"),
            "run folder": (str(run), "list"),
            "hub data folder": (str(run / "hub"), "list"),
            "cookie secret": (str(run / "hub" / "jupyterhub_cookie_secret"), "read"),
            "own home": (str(run / "users" / email / "note.txt"), "write"),
        })
        assert found["checkout"] == ["seen", [".run", ".venv", "agents_extension", "claude_kernel", "oma_contract", "recipes"]]
        assert found["run folder"] == ["seen", ["users"]]
        assert found["hub data folder"][0] == found["cookie secret"][0] == "refused"
        assert found["own home"][0] == "written"
    finally:
        hub.stop()
        shutil.rmtree(run, ignore_errors=True)
