"""Contains each person's local server like a pod.

A local user server runs code its owner (and their agents) chose, so on one
machine it must not see the platform: not the hub's or the agents service's
processes (their /proc/<pid>/environ holds the SMTP password and the store
URL), not the hub's data folder (database, cookie secret, SQLite store), not
the project checkout, not other people's homes. The server therefore runs in a
bubblewrap namespace of its own:

- its own user namespace, PID namespace and /proc (it sees only its own
  processes), IPC and UTS namespaces, its own /tmp and /dev;
- its home (``OMA_USERS_DIR/<name>``) read-write; the system, the Python
  environment and the packages it imports from the checkout read-only
  (``agents_extension``, ``claude_kernel``, ``oma_contract``, ``recipes``: the rest of the checkout, where
  ``.run/hub`` lives by default, is not there); nothing else;
- the host's network (it reaches the hub API and the agents service on
  127.0.0.1, as a pod reaches its hub); the environment the spawner gives it
  and nothing of the hub's.

When the hub runs as root, each server runs under a Unix user id of its own
(``LocalSpawner.contain_uid_base`` + the person's hub id) that owns the home:
a process of root's user id keeps root's power over /proc/sys and root-owned
files even without capabilities, and only a bwrap run by an unprivileged user
gives the server a /proc in which the agents' own (nested) bubblewrap
sandboxes can mount theirs. So it takes two stages: a privileged bwrap lays
out the files (root may walk to a Python environment under /root, the
server's user id may not), then, as the server's user id, an unprivileged
bwrap makes the namespaces on top of that layout.

bwrap's own process is the one the hub starts and signals: the spawner sends
SIGINT/SIGTERM to the server inside (bwrap passes on no signal), and when the
server ends, its PID namespace ends with it, taking kernels, terminals and
Claude Code CLIs along; ``--die-with-parent`` (on the first stage, which has a
PID namespace of its own for that) does the same when the hub dies.
"""

from __future__ import annotations

import os
import subprocess
import sys

# The one import of hub_config beyond oma_contract, on purpose: a server must show what the
# agents' sandboxes inside it will mount (the system, the Claude Code CLI), and the kernel's
# sandbox module is the one place that knows that; it imports only os and sys, so nothing of
# the kernel's runtime comes along. (Everything else hub_config composes, it names by string.)
from claude_kernel.sandbox import ISOLATION as AGENT_ISOLATION
from claude_kernel.sandbox import _within, find_cli, system_layout

CONTAIN_ENV = "OMA_CONTAIN_SERVERS"
MODES = ("bwrap", "off")
# The namespaces of a person's server: no --unshare-net (it must reach the hub and the service
# on 127.0.0.1), and a user namespace of its own.
ISOLATION = ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
# What a server imports from the project (installed editable, these live in the checkout).
SERVER_PACKAGES = ("agents_extension", "claude_kernel", "oma_contract", "recipes")


class ContainmentUnavailable(RuntimeError):
    """Servers are to be contained but cannot be; the message names the problem and the setting."""


def server_command(bwrap: str, command: list[str], *, home: str, readonly: list[str],
                   links: dict[str, str], uid: int | None = None, setpriv: str = "setpriv") -> list[str]:
    """The bwrap command line that runs ``command`` (the user server) contained.

    ``home`` is mounted read-write at the same place (also the working
    directory), ``readonly`` paths read-only at the same place, ``links``
    recreated as symlinks (``/bin`` -> ``usr/bin``); nothing else of the
    host's files is visible. The environment is bwrap's own, which the
    spawner sets (so no token appears in a command line).

    With ``uid`` (the hub runs as root) a privileged bwrap lays the files
    out and runs, as ``uid`` (through util-linux's ``setpriv``), the
    unprivileged bwrap that makes the namespaces; without it, one
    unprivileged bwrap does both.
    """
    layout: list[str] = []
    for path in readonly:
        layout += ["--ro-bind", path, path]
    for path, target in links.items():
        layout += ["--symlink", target, path]
    # what bwrap made to hold the mounts stays read-only: a write outside home and /tmp fails
    server = ["--bind", home, home, "--remount-ro", "/", "--chdir", home, "--", *command]
    if uid is None:
        return [bwrap, *ISOLATION, *layout, *server]
    # the folders holding the mounts (left to itself, the first stage makes them root's alone, 0700),
    # and /tmp, where the second stage mounts its own
    folders: list[str] = ["/tmp"]
    for path in [*readonly, *links, home]:
        parts = path.split("/")
        folders += [folder for folder in ("/".join(parts[:depth]) for depth in range(2, len(parts)))
                    if folder not in folders]
    return [
        # a PID namespace of its own, so that when this bwrap dies (with the hub) the kernel ends
        # everything below it: setpriv's change of user id clears the second stage's parent-death signal
        bwrap, "--die-with-parent", "--unshare-pid",
        *[arg for folder in folders for arg in ("--perms", "0755", "--dir", folder)],
        *layout,
        # what the second stage starts from; its own /proc, /dev and /tmp go over these
        "--bind", "/proc", "/proc", "--dev", "/dev",
        "--bind", home, home, "--remount-ro", "/",
        "--", setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
        # the second stage's own /tmp would hide what is mounted under /tmp (a checkout cloned there)
        "--", bwrap, "--bind", "/", "/", *ISOLATION, *[arg for path in readonly if _within(path, ["/tmp"])
                                                      for arg in ("--ro-bind", path, path)], *server,
    ]


def server_layout(home: str, packages: list[str], private: list[str]) -> tuple[list[str], dict[str, str]]:
    """What of the host a person's server sees read-only: the agents' system layout (the system,
    Python's prefixes, the Claude Code CLI, DNS) plus the folders of ``packages``.

    Raises ContainmentUnavailable when one of them would show a ``private`` path (the hub's
    data folder, the folder of every home), which no server may see.
    """
    import importlib.util

    try:
        cli = find_cli()
    except FileNotFoundError:
        cli = sys.executable  # no CLI to show: the kernels say so in their cells
    readonly, links = system_layout(home, cli)
    for name in packages:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            path = os.path.realpath(location)
            if not _within(path, readonly):
                readonly.append(path)
    for path in [sys.prefix, sys.base_prefix, *readonly]:
        shown = [p for p in private if _within(os.path.realpath(p), [os.path.realpath(path)])]
        if shown:
            raise ContainmentUnavailable(
                f"A person's server would see {shown[0]} through {path}, which it must mount to run. "
                "Move OMA_DATA_DIR and OMA_USERS_DIR out of the Python environment and the system folders.")
    return readonly, links


_probed: dict[tuple[str, int], str | None] = {}


def probe(bwrap: str, setpriv: str, uid: int | None) -> str | None:
    """Why ``bwrap`` cannot contain a server here (as ``uid``, with an agent's sandbox nested
    inside), or None when it can. Tried once per process."""
    key = (bwrap, -1 if uid is None else uid)
    if key not in _probed:
        import shutil
        import tempfile

        home = tempfile.mkdtemp(prefix="oma-contain-probe-")
        try:
            if uid is not None:
                os.chown(home, uid, uid)
            readonly, links = system_layout(home, sys.executable)
            argv = server_command(bwrap, [bwrap, "--ro-bind", "/", "/", *AGENT_ISOLATION, "true"],
                                  home=home, readonly=readonly, links=links, uid=uid, setpriv=setpriv)
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
            said = done.stderr.strip() or f"exit status {done.returncode}"
            _probed[key] = None if done.returncode == 0 else f"{bwrap} cannot make the namespaces: {said}"
        except (OSError, subprocess.SubprocessError) as err:
            _probed[key] = f"{bwrap} could not be run: {err}"
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return _probed[key]


def server_process(bwrap_pid: int) -> int | None:
    """The host pid of the server that bwrap ``bwrap_pid`` runs (the first process below it
    that is neither a bwrap nor setpriv), or None when it has none (yet, or any more)."""
    pid: int | None = bwrap_pid
    for _ in range(6):  # bwrap, its init, [setpriv's second bwrap, its init,] the server
        pid = next(iter(_children(pid)), None)
        if pid is None:
            return None
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() not in ("bwrap", "setpriv"):
                    return pid
        except OSError:
            return None
    return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(found)


def own_home(home: str, uid: int) -> None:
    """Make ``home`` (0700) belong to ``uid``, and whatever it holds when it belonged to another."""
    os.makedirs(home, 0o700, exist_ok=True)
    if os.stat(home).st_uid != uid:
        for folder, dirs, files in os.walk(home):
            for name in [*dirs, *files]:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
        os.chown(home, uid, uid)
    os.chmod(home, 0o700)
