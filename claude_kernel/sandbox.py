"""Keeps an agent's tools inside its own folder.

Claude Code's permission rules do not hold against Bash (``cat
../other-agent/file`` succeeds even with its own sandbox and a Read deny
rule), so the boundary is the operating system's: the CLI runs in a
bubblewrap namespace where only the agent's folder (read-write, also the
working directory and HOME) and the system (read-only) exist. Sibling agent
folders, the rest of the person's home and the server's temporary files are
not mounted, so nothing there can be read or changed.

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
CLI's proxy variables at it; with ``--environment=all`` (no bwrap) it keeps
the whole environment.
"""

from __future__ import annotations

import os
import sys

SANDBOX_ENV = "CLAUDE_KERNEL_SANDBOX"
MODES = ("bwrap", "off")
# Claude Code's own state (transcripts, so resume works after a restart) stays
# with the agent, never in a place shared with the other agents.
STATE_FOLDER = ".claude-state"
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


PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOCK_FAILED = "sandbox: the agent's network could not be locked: "


def proxied_environment(environ: dict[str, str], port: int) -> dict[str, str]:
    """``environ`` with every proxy variable naming the agent's proxy, and no NO_PROXY: nothing else
    is reachable, so a bypass would only fail."""
    proxy = f"http://127.0.0.1:{port}"
    kept = {name: value for name, value in environ.items() if name not in ("NO_PROXY", "no_proxy")}
    # NODE_USE_ENV_PROXY: Node's own fetch honours the variables only when asked to
    return {**kept, **dict.fromkeys(PROXY_NAMES, proxy), "NODE_USE_ENV_PROXY": "1"}


def launch(args: list[str]) -> None:
    """The launcher: exec ``argv`` (bwrap ...) with only the environment the CLI needs, after
    locking the network to the proxy's port when asked (``--network-port=N``)."""
    options = {}
    while args and args[0].startswith(("--network-port=", "--environment=")):
        name, _, value = args.pop(0)[2:].partition("=")
        options[name] = value
    environ = dict(os.environ) if options.get("environment") == "all" else passed_environment(dict(os.environ))
    if "network-port" in options:
        port = int(options["network-port"])
        environ = proxied_environment(environ, port)
        import importlib.util  # the package is not importable here (-I -S): load the module by its path

        spec = importlib.util.spec_from_file_location(
            "claude_kernel_network_lock", os.path.join(os.path.dirname(os.path.abspath(__file__)), "network_lock.py"))
        network_lock = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(network_lock)
        try:
            network_lock.lock_network(port)
        except network_lock.NetworkLockUnavailable as err:
            sys.stderr.write(f"{LOCK_FAILED}{err}\n")
            sys.exit(126)
    os.execve(args[0], args, environ)


# -- kernel side (imports kept inside: the launcher above must start fast) -----
class SandboxUnavailable(RuntimeError):
    """Agents are set to run sandboxed but cannot be; the message names the problem and the setting."""


def _within(path: str, bases: list[str]) -> bool:
    return any(path == base or path.startswith(base.rstrip("/") + "/") for base in bases)


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
    """How this kernel starts Claude Code for its agent folder: inside bwrap, or as it is.

    ``setting`` is CLAUDE_KERNEL_SANDBOX: ``bwrap``, ``off``, or empty for
    bwrap when it works on this machine (and off, with a warning, when not).
    ``network`` (a ``network.AgentNetwork``), when it is contained, has the
    launcher lock every mode to the agent's proxy.
    """

    def __init__(self, folder, setting: str, log, network=None) -> None:
        self.folder = str(folder)
        self.setting = (setting or "").strip().lower()
        self.log = log
        self.network = network
        self._mode: str | None = None
        self._bwrap: str | None = None
        self._launcher: str | None = None
        self._private: str | None = None
        self._covered: dict[str, str] = {}

    def mode(self) -> str:
        """``bwrap`` or ``off``; raises SandboxUnavailable when the setting cannot be honoured."""
        if self._mode is None:
            self._mode = self._choose()
        return self._mode

    def _choose(self) -> str:
        import shutil

        if self.setting not in ("", *MODES):
            raise SandboxUnavailable(
                f"{SANDBOX_ENV} must be 'bwrap' or 'off' (found {self.setting!r}). Fix it in the environment "
                "the notebook server runs in, then restart the kernel.")
        if self.setting == "off":
            self.log.warning("%s=off: agents are not isolated; each agent's tools can read and change "
                             "every other agent's files", SANDBOX_ENV)
            return "off"
        self._bwrap = shutil.which("bwrap")
        problem = probe(self._bwrap) if self._bwrap else "bubblewrap (bwrap) is not installed (not found on PATH)"
        if problem is None:
            return "bwrap"
        if self.setting == "bwrap":
            raise SandboxUnavailable(
                f"Agents are set to run sandboxed ({SANDBOX_ENV}=bwrap), but {problem}. Install bubblewrap "
                f"(Debian's 'bubblewrap' package) where user namespaces are allowed, or set {SANDBOX_ENV}=off "
                "to run agents without isolation, then restart the kernel.")
        self.log.warning("Agents are NOT isolated from each other: %s. Install bubblewrap, or set %s=off "
                         "to make running without isolation explicit.", problem, SANDBOX_ENV)
        return "off"

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
        try:
            with folder_files.opened(self.folder) as folder:
                if folder_files.kind(folder, name) != stat.S_IFREG:
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
        else:
            argv = ["--environment=all", cli]
        if self.network is not None and self.network.contained():
            argv.insert(0, f"--network-port={self.network.start()}")
        private = self._private_dir()
        launcher = os.path.join(private, "claude-sandboxed")
        line = " ".join(shlex.quote(arg) for arg in [sys.executable, "-I", "-S", os.path.abspath(__file__), *argv])
        with open(os.open(launcher, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700), "w") as script:
            script.write(f'#!/bin/sh\nexec {line} "$@"\n')
        if self.mode() == "bwrap":
            self.log.info("Claude Code runs sandboxed: only %s and the system are visible to the agent", self.folder)
        return launcher

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
