"""Keeps an agent's tools inside its own folder.

Claude Code's permission rules do not hold against Bash (``cat
../other-agent/file`` succeeds even with its own sandbox and a Read deny
rule), so the boundary is the operating system's, in one of two ways:

* ``bwrap``: the CLI runs in a bubblewrap namespace where only the agent's
  folder (read-write, also the working directory and HOME) and the system
  (read-only) exist. Sibling agent folders, the rest of the person's home and
  the server's temporary files are not mounted, so nothing there can be read
  or changed. It needs user namespaces.
* ``landlock``: for where there are none (an unprivileged pod under seccomp
  RuntimeDefault). The launcher confines itself with Landlock before it
  execs the CLI (``filesystem_lock``): the same folders may be opened, the
  same way, and nothing else; the agent's /tmp is a folder of its own
  (TMPDIR). The owner's CLAUDE.md cannot be mounted read-only there, so the
  kernel writes it again before every start of the CLI.

The SDK starts ``cli_path`` with the CLI's arguments; here that is a launcher
written at kernel start into a private folder that no agent can see::

    #!/bin/sh
    exec python -I -S .../claude_kernel/sandbox.py /usr/bin/bwrap ... -- .../claude "$@"

This module is that launcher too (run as a script, it needs only the
standard library): it keeps only the environment the CLI needs, which leaves
out the server's tokens such as JUPYTERHUB_API_TOKEN, and execs bwrap. The
variables are filtered here rather than with bwrap's ``--clearenv``/``--setenv``
so that the API key never appears in a command line, which any process can
read. With ``--network-port=N`` in front it first locks its network to that
port, the agent's proxy (``network_lock``; see ``network``), and points the
CLI's proxy variables at it; with ``--read=PATH``, ``--write=PATH`` and
``--home=FOLDER`` it confines its files with Landlock and makes FOLDER the
CLI's HOME; with ``--environment=all`` (unconfined) it keeps the whole
environment.
"""

from __future__ import annotations

import os
import sys

SANDBOX_ENV = "CLAUDE_KERNEL_SANDBOX"
MODES = ("auto", "bwrap", "landlock", "off")
# Claude Code's own state (transcripts, so resume works after a restart) stays
# with the agent, never in a place shared with the other agents.
STATE_FOLDER = ".claude-state"
# Under Landlock the agent's temporary files go to a folder of its own in the kernel's private
# folder (bwrap gives it a fresh /tmp): the pod's /tmp is shared with the server and every agent.
TMP_FOLDER = "tmp"
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
PASSED_NAMES = (
    "PATH", "LANG", "TERM", "TZ", "PWD", "CLOUD_ML_REGION", "MAX_THINKING_TOKENS",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)
PASSED_PREFIXES = ("ANTHROPIC_", "CLAUDE_CODE_", "CLAUDE_AGENT_SDK_", "DISABLE_", "LC_", "VERTEX_REGION_")
# The namespaces and mounts of every sandbox; the probe runs bwrap with them.
ISOLATION = ("--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
             # when the server runs as root, bwrap would otherwise leave the agent every capability
             # (open_by_handle_at alone reaches any file on a mounted filesystem)
             "--cap-drop", "ALL",
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")


def passed_environment(environ: dict[str, str]) -> dict[str, str]:
    """The variables the CLI needs: model access, Claude Code's settings, locale, PATH."""
    return {name: value for name, value in environ.items()
            if name in PASSED_NAMES or name.startswith(PASSED_PREFIXES)}


def bwrap_command(bwrap: str, folder: str, command: list[str], *,
                  readonly: list[str], links: dict[str, str], covered: dict[str, str] | None = None) -> list[str]:
    """The bwrap command line that runs ``command`` confined to ``folder``.

    ``readonly`` paths are mounted read-only at the same place, ``links``
    recreated as symlinks (``/bin`` -> ``usr/bin``); nothing else of the
    host's files is visible. ``covered`` maps names in the folder to files
    outside it that are mounted read-only over them (the owner's CLAUDE.md).
    Environment variables other than HOME and CLAUDE_CONFIG_DIR are the
    launcher's business (see ``launch``).
    """
    argv = [bwrap, *ISOLATION]
    for path in readonly:
        argv += ["--ro-bind", path, path]
    for path, target in links.items():
        argv += ["--symlink", target, path]
    argv += ["--bind", folder, folder]
    for name, source in (covered or {}).items():
        # bwrap follows a link at the mount point, so the kernel makes it a plain file just before
        # (Sandbox.cover); once mounted, the agent can neither write nor rename nor delete it.
        argv += ["--ro-bind", source, f"{folder}/{name}"]
    argv += [
        # what bwrap made to hold the mounts (the folder's parents) stays read-only: a write
        # outside the folder fails rather than landing in memory and vanishing
        "--remount-ro", "/",
        "--chdir", folder,
        "--setenv", "HOME", folder,
        "--setenv", "CLAUDE_CONFIG_DIR", f"{folder}/{STATE_FOLDER}",
        "--", *command,
    ]
    return argv


def landlock_options(folder: str, cli: str, tmp: str) -> list[str]:
    """The launcher's options that confine the CLI with Landlock to what bwrap would show it:
    the system read-only (``system_layout``), ``folder`` and ``tmp`` read-write, ``folder`` as HOME.
    ``tmp`` comes last: the launcher makes it TMPDIR."""
    readonly, _ = system_layout(folder, cli)  # the links resolve into /usr, which is readable
    return [*(f"--read={path}" for path in readonly), f"--write={folder}", f"--write={tmp}", f"--home={folder}"]


PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOCK_FAILED = "sandbox: the agent's network could not be locked: "
CONFINE_FAILED = "sandbox: the agent's files could not be confined: "


def proxied_environment(environ: dict[str, str], port: int) -> dict[str, str]:
    """``environ`` with every proxy variable naming the agent's proxy, and no NO_PROXY: nothing else
    is reachable, so a bypass would only fail."""
    proxy = f"http://127.0.0.1:{port}"
    kept = {name: value for name, value in environ.items() if name not in ("NO_PROXY", "no_proxy")}
    # NODE_USE_ENV_PROXY: Node's own fetch honours the variables only when asked to
    return {**kept, **dict.fromkeys(PROXY_NAMES, proxy), "NODE_USE_ENV_PROXY": "1"}


def _within(path: str, bases: list[str]) -> bool:
    return any(path == base or path.startswith(base.rstrip("/") + "/") for base in bases)


def _load(name: str):
    """One of this package's modules, by its path: the package is not importable here (-I -S)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        f"claude_kernel_{name}", os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def confined_environment(environ: dict[str, str], home: str, tmp: str, opened: list[str]) -> dict[str, str]:
    """``environ`` for a CLI confined by Landlock to ``home``: what bwrap would set, a TMPDIR of its own,
    and a PATH without the folders it may not open (a shell would find a command there, e.g. a pyenv
    shim in the server's home, and fail to run it rather than look further)."""
    path = ":".join(entry for entry in environ.get("PATH", "").split(":")
                    if _within(os.path.realpath(entry), [os.path.realpath(base) for base in opened]))
    return {**environ, "HOME": home, "CLAUDE_CONFIG_DIR": f"{home}/{STATE_FOLDER}", "TMPDIR": tmp,
            "PATH": path or "/usr/bin:/bin"}


def launch(args: list[str]) -> None:
    """The launcher: exec ``argv`` (bwrap ..., or the CLI) with only the environment the CLI needs, after
    confining its files (``--read=``, ``--write=``, ``--home=``) and locking the network to the proxy's
    port (``--network-port=N``) when asked."""
    options: dict[str, str] = {}
    read: list[str] = []
    write: list[str] = []
    while args and args[0].startswith(("--network-port=", "--environment=", "--read=", "--write=", "--home=")):
        name, _, value = args.pop(0)[2:].partition("=")
        if name == "read":
            read.append(value)
        elif name == "write":
            write.append(value)
        else:
            options[name] = value
    environ = dict(os.environ) if options.get("environment") == "all" else passed_environment(dict(os.environ))
    if "home" in options or "network-port" in options:
        # Every module the locks need, loaded before the first lock: once the files are confined,
        # this package's folder may no longer be readable.
        _load("landlock")  # the system calls of both locks
        filesystem_lock, network_lock = _load("filesystem_lock"), _load("network_lock")
    if "home" in options:
        # the last --write is the agent's temporary folder (see Sandbox._write_launcher)
        environ = confined_environment(environ, options["home"], write[-1], [*read, *write])
        try:
            filesystem_lock.lock_filesystem(read, write)
        except filesystem_lock.FilesystemLockUnavailable as err:
            sys.stderr.write(f"{CONFINE_FAILED}{err}\n")
            sys.exit(126)
    if "network-port" in options:
        port = int(options["network-port"])
        environ = proxied_environment(environ, port)
        try:
            network_lock.lock_network(port)
        except network_lock.NetworkLockUnavailable as err:
            sys.stderr.write(f"{LOCK_FAILED}{err}\n")
            sys.exit(126)
    os.execve(args[0], args, environ)


# -- kernel side (imports kept inside: the launcher above must start fast) -----
class SandboxUnavailable(RuntimeError):
    """Agents are set to run sandboxed but cannot be; the message names the problem and the setting."""


def system_layout(folder: str, cli: str) -> tuple[list[str], dict[str, str]]:
    """What of the host a sandbox for ``folder`` shows, read-only: the system, Python's
    prefixes (the agent may run the kernel's Python), the CLI and the DNS configuration."""
    readonly: list[str] = []
    links: dict[str, str] = {}
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isdir(path):
            readonly.append(path)
    extra = (sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(cli)),
             os.path.dirname(os.path.realpath("/etc/resolv.conf")))
    for path in map(os.path.realpath, extra):
        # A prefix holding the agent folder (a venv at the home's top) would show the sibling agents.
        if os.path.isdir(path) and not _within(path, readonly) and not _within(folder, [path]):
            readonly.append(path)
    return readonly, links


def find_cli() -> str:
    """The Claude Code CLI the SDK would start: the one bundled with it, else ``claude`` on PATH."""
    import importlib.util
    import shutil
    from pathlib import Path

    sdk = importlib.util.find_spec("claude_agent_sdk")  # where it is, without the seconds-long import
    bundled = Path(sdk.origin).parent / "_bundled" / "claude" if sdk and sdk.origin else Path("/nonexistent")
    found = str(bundled) if bundled.is_file() else shutil.which("claude")
    if not found:
        raise FileNotFoundError("Claude Code was not found (neither bundled with claude-agent-sdk nor on PATH)")
    return found


_probed: dict[str, str | None] = {}


def probe(bwrap: str) -> str | None:
    """Why ``bwrap`` cannot make a sandbox here, or None when it can (tried once per process)."""
    if bwrap not in _probed:
        import subprocess

        try:
            done = subprocess.run([bwrap, "--ro-bind", "/", "/", *ISOLATION, "true"], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=15)
            said = done.stderr.strip() or f"exit status {done.returncode}"
            _probed[bwrap] = None if done.returncode == 0 else f"{bwrap} does not work here: {said}"
        except (OSError, subprocess.SubprocessError) as err:
            _probed[bwrap] = f"{bwrap} could not be run: {err}"
    return _probed[bwrap]


class Sandbox:
    """How this kernel starts Claude Code for its agent folder: inside bwrap, under Landlock, or as it is.

    ``setting`` is CLAUDE_KERNEL_SANDBOX: ``bwrap``, ``landlock``, ``off``, or
    ``auto`` (or empty): bwrap when it works on this machine, else Landlock
    when this Linux kernel has it, else every cell fails saying why. Agents
    run unconfined only when an admin set ``off``. ``network`` (a
    ``network.AgentNetwork``), when it is contained, has the launcher lock
    every mode to the agent's proxy.
    """

    def __init__(self, folder, setting: str, log, network=None) -> None:
        self.folder = str(folder)
        self.setting = (setting or "").strip().lower() or "auto"
        self.log = log
        self.network = network
        self._mode: str | None = None
        self._bwrap: str | None = None
        self._launcher: str | None = None
        self._private: str | None = None
        self._covered: dict[str, str] = {}

    def mode(self) -> str:
        """``bwrap``, ``landlock`` or ``off``; raises SandboxUnavailable when the setting cannot be honoured."""
        if self._mode is None:
            self._mode = self._choose()
        return self._mode

    def _choose(self) -> str:
        import shutil

        from . import filesystem_lock

        if self.setting not in MODES:
            raise SandboxUnavailable(
                f"{SANDBOX_ENV} must be one of {', '.join(MODES)} (found {self.setting!r}). Fix it in the "
                "environment the notebook server runs in, then restart the kernel.")
        if self.setting == "off":
            self.log.warning("%s=off: agents are not isolated; each agent's tools can read and change "
                             "every other agent's files", SANDBOX_ENV)
            return "off"
        bwrap_problem = None
        if self.setting in ("auto", "bwrap"):
            self._bwrap = shutil.which("bwrap")
            bwrap_problem = probe(self._bwrap) if self._bwrap else "bubblewrap (bwrap) is not installed (not found on PATH)"
            if bwrap_problem is None:
                return "bwrap"
            if self.setting == "bwrap":
                raise SandboxUnavailable(
                    f"Agents are set to run sandboxed ({SANDBOX_ENV}=bwrap), but {bwrap_problem}. Install "
                    "bubblewrap (Debian's 'bubblewrap' package) where user namespaces are allowed, or set "
                    f"{SANDBOX_ENV}=landlock (or auto) to confine agents with Landlock, then restart the kernel.")
        landlock_problem = filesystem_lock.probe()
        if landlock_problem is None:
            if bwrap_problem:
                self.log.info("bubblewrap cannot run here (%s): agents are confined with Landlock", bwrap_problem)
            return "landlock"
        if self.setting == "landlock":
            raise SandboxUnavailable(
                f"Agents are set to be confined with Landlock ({SANDBOX_ENV}=landlock), but {landlock_problem}. "
                f"Run the server on Linux 6.2 or later with Landlock enabled, or ask the admin to set "
                f"{SANDBOX_ENV}=off to run agents without isolation, then restart the kernel.")
        raise SandboxUnavailable(
            f"No agent isolation works here, so the agent was not started: {bwrap_problem}, and Landlock "
            f"cannot be used either ({landlock_problem}). Run the server where user namespaces are allowed "
            f"(for bubblewrap) or on Linux 6.2 or later with Landlock enabled; or, to run agents without "
            f"isolation (every agent can then read and change the others' files), an admin sets "
            f"{SANDBOX_ENV}=off. Then restart the kernel.")

    def cli_path(self) -> str | None:
        """What the SDK should start as Claude Code: the sandbox launcher, or None for its own CLI."""
        contained = self.network is not None and self.network.contained()
        if self.mode() == "off" and not contained:
            return None
        if self._launcher is None:
            self._launcher = self._write_launcher()
        return self._launcher

    def _private_dir(self) -> str:
        """A folder of this kernel's own, outside every agent folder (and the sandbox's /tmp is its own),
        so no agent can edit what is in it."""
        if self._private is None:
            import atexit
            import shutil
            import tempfile

            self._private = tempfile.mkdtemp(prefix="claude-kernel-")
            atexit.register(shutil.rmtree, self._private, True)
        return self._private

    def cover(self, name: str, text: str) -> None:
        """Show ``text`` as the file ``name`` of the agent's folder, read-only, from the next start of
        Claude Code on (the owner's CLAUDE.md, whatever the agent did to the file of that name)."""
        if self.mode() == "off":
            return
        import stat

        from oma_contract import folder_files

        if name not in self._covered:
            self._covered[name] = os.path.join(self._private_dir(), name)
            if self._launcher:  # its command line lists the covered files: write it again
                os.unlink(self._launcher)
                self._launcher = None
        with folder_files.opened(self._private_dir()) as private:
            folder_files.write(private, name, text)
        # bwrap would follow a link planted there (and create what it points to): the mount point must
        # be a plain file. In a running sandbox it is one that cannot be swapped, so this holds until bwrap mounts.
        # Landlock cannot make one file of a writable folder read-only: the owner's text is written again
        # before every start, so what the agent wrote there never outlives its CLI.
        try:
            with folder_files.opened(self.folder) as folder:
                if self.mode() == "landlock" or folder_files.kind(folder, name) != stat.S_IFREG:
                    folder_files.write(folder, name, text)
        except OSError as err:
            raise SandboxUnavailable(
                f"The agent's {name} cannot be shown to it read-only ({err}). Remove or rename "
                f"{os.path.join(self.folder, name)} in the agent's folder, then run the cell again.") from err

    def _write_launcher(self) -> str:
        import shlex

        cli = find_cli()
        if self.mode() == "bwrap":
            readonly, links = system_layout(self.folder, cli)
            argv = bwrap_command(self._bwrap or "bwrap", self.folder, [cli], readonly=readonly, links=links,
                                 covered=self._covered)
        elif self.mode() == "landlock":
            argv = [*landlock_options(self.folder, cli, self._agent_tmp()), cli]
        else:
            argv = ["--environment=all", cli]
        if self.network is not None and self.network.contained():
            argv.insert(0, f"--network-port={self.network.start()}")
        private = self._private_dir()
        launcher = os.path.join(private, "claude-sandboxed")
        line = " ".join(shlex.quote(arg) for arg in [sys.executable, "-I", "-S", os.path.abspath(__file__), *argv])
        with open(os.open(launcher, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700), "w") as script:
            script.write(f'#!/bin/sh\nexec {line} "$@"\n')
        if self.mode() != "off":
            self.log.info("Claude Code runs confined (%s): only %s and the system are open to the agent",
                          self.mode(), self.folder)
        return launcher

    def _agent_tmp(self) -> str:
        path = os.path.join(self._private_dir(), TMP_FOLDER)
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def cleanup(self) -> None:
        if self.network is not None:
            self.network.stop()
        if self._private:
            import shutil

            shutil.rmtree(self._private, ignore_errors=True)
            self._private = self._launcher = None
            self._covered.clear()


if __name__ == "__main__":
    launch(sys.argv[1:])
