"""What an agent may reach on the network, kernel side: the setting, the probe, the proxy's lifetime.

With ``CLAUDE_KERNEL_NETWORK=proxy`` (the default) every process of the
agent (Claude Code and each tool it runs) can open TCP connections to one
port only, its kernel's ``AgentProxy``, which lets through the internet and
the model endpoint and nothing of the platform (see ``network_policy``);
the launcher applies the lock (``network_lock``) before it starts Claude
Code, with or without bubblewrap. Where this Linux kernel cannot lock a
process's network, cells fail with SandboxUnavailable unless an admin chose
``off``: an agent that can reach the hub on 127.0.0.1 can sign in there as
anyone the dev login lets in.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

from .sandbox import LOCK_FAILED, PROXY_NAMES, SandboxUnavailable

NETWORK_ENV = "CLAUDE_KERNEL_NETWORK"
ALLOW_ENV = "CLAUDE_KERNEL_NETWORK_ALLOW"
MODES = ("proxy", "off")
# Where Claude Code finds the model: allowed through the proxy whatever their address.
MODEL_ENDPOINT_VARIABLES = ("ANTHROPIC_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL", "ANTHROPIC_BEDROCK_BASE_URL")
# The platform's own ports as this server knows them: the proxy never takes one of these numbers,
# as the lock allows the proxy's port number on every address.
PLATFORM_URL_VARIABLES = ("JUPYTERHUB_API_URL", "JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_ACTIVITY_URL",
                          "OMA_AGENTS_SERVICE_URL")


def platform_ports(environ) -> frozenset[int]:
    ports = set()
    for name in PLATFORM_URL_VARIABLES:
        try:
            parts = urlsplit(environ.get(name, ""))
            if parts.hostname:
                ports.add(parts.port or (443 if parts.scheme == "https" else 80))
        except ValueError:
            pass
    return frozenset(ports)


_probed: dict[str, str | None] = {}


def probe() -> str | None:
    """Why the network lock cannot be applied here, or None when it can (tried once per process,
    for real: the launcher locks a ``true`` with it)."""
    if "lock" not in _probed:
        import shutil
        import subprocess

        launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.py")
        try:
            done = subprocess.run([sys.executable, "-I", "-S", launcher, "--network-port=1", "--environment=all",
                                   shutil.which("true") or "/bin/true"], stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=15)
            said = done.stderr.strip().removeprefix(LOCK_FAILED)
            _probed["lock"] = None if done.returncode == 0 else (said or f"exit status {done.returncode}")
        except (OSError, subprocess.SubprocessError) as err:
            _probed["lock"] = f"the network lock could not be tried: {err}"
    return _probed["lock"]


class AgentNetwork:
    """The network containment of one kernel's agent: ``contained()`` says whether it applies,
    ``start()`` starts the proxy and returns its port, ``stop()`` ends it."""

    def __init__(self, setting: str, allow: list[str], log, *, label: str) -> None:
        self.setting = (setting or "").strip().lower()
        self.allow = list(allow)
        self.log = log
        self.label = label
        self._contained: bool | None = None
        self._proxy = None

    def contained(self) -> bool:
        """Whether the agent's network is locked to the proxy; raises SandboxUnavailable when
        the setting cannot be honoured."""
        if self._contained is None:
            self._contained = self._choose()
        return self._contained

    def _choose(self) -> bool:
        if self.setting not in ("", *MODES):
            raise SandboxUnavailable(
                f"{NETWORK_ENV} must be 'proxy' or 'off' (found {self.setting!r}). Fix it in the environment "
                "the notebook server runs in, then restart the kernel.")
        if self.setting == "off":
            self.log.warning("%s=off: agents reach everything this server can on the network, the platform's "
                             "hub and servers included", NETWORK_ENV)
            return False
        self.rules()  # a bad allow-list entry fails now, with its name
        problem = probe()
        if problem is not None:
            raise SandboxUnavailable(
                f"Agents' network access is set to go only through the agent's proxy ({NETWORK_ENV}=proxy), but "
                f"{problem}. Run the platform on Linux 6.7 or later with Landlock enabled, or set {NETWORK_ENV}=off "
                "to let agents reach everything this server can (the hub and other people's servers included), "
                "then restart the kernel.")
        return True

    def rules(self):
        from .network_policy import BadAllowEntry, model_endpoint_rule, parse_allow_entry

        rules = []
        for entry in self.allow:
            try:
                rules.append(parse_allow_entry(entry))
            except BadAllowEntry:
                raise SandboxUnavailable(
                    f"{ALLOW_ENV} has {entry!r}, which is not an address, a network or a host name with an optional "
                    "port (for example 10.0.0.5:3128, 10.8.0.0/16, mirror.internal:443). Fix it in the environment "
                    "the notebook server runs in, then restart the kernel.") from None
        for name in MODEL_ENDPOINT_VARIABLES:
            if os.environ.get(name):
                try:
                    rules.append(model_endpoint_rule(os.environ[name]))
                except BadAllowEntry:
                    self.log.warning("%s is not an http(s) URL (%r); the agent's proxy does not allow it",
                                     name, os.environ[name])
        return rules

    def start(self) -> int:
        from .network_proxy import AgentProxy

        if self._proxy is None:
            self._proxy = AgentProxy(self.rules(), self.log, label=self.label,
                                     avoid_ports=platform_ports(os.environ))
            port = self._proxy.start()
            upstream = next((f"{name}={os.environ[name]}" for name in PROXY_NAMES if os.environ.get(name)), None)
            if upstream:
                self.log.warning("This server's environment names an outgoing proxy (%s). The agent's proxy does not "
                                 "chain to it: agents reach only what this machine reaches directly.", upstream)
            self.log.info("Agent network: only through the proxy on 127.0.0.1:%d (the internet, the model "
                          "endpoint%s)", port, f", and {', '.join(self.allow)}" if self.allow else "")
        return self._proxy.port

    def stop(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()
