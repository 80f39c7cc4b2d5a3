"""Local user servers (one process per person), each contained like a pod, that the hub sees the moment they answer."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from contextlib import contextmanager

from jupyterhub.spawner import SimpleLocalProcessSpawner, Spawner
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Float, Integer, List, TraitError, Unicode, default, validate

from oma_contract.environment import DocumentedEnvironment, from_environment

from . import containment


async def prompt_wait_for_death(spawner: Spawner, timeout: float = 10) -> bool:
    """Spawner.wait_for_death with a check every ``death_interval`` s. The hub's own checks back off
    (with jitter) to seconds apart, so a process that ended in half a second could keep the hub, and a
    platform stopping, waiting for seconds more. True once the process has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await spawner.poll() is not None:
            return True
        await asyncio.sleep(spawner.death_interval)
    return False


def check_services_promptly() -> None:
    """The hub's managed services (the agents service, the model gateway) are stopped, when the hub stops,
    one after the other and before any person's server: each check that one has ended, made late, delays
    all the rest. Their spawner is JupyterHub's own and no setting chooses another, so its check is
    replaced here (tests/hub/test_stopping.py times the whole stop)."""
    from jupyterhub.services.service import _ServiceSpawner

    _ServiceSpawner.wait_for_death = prompt_wait_for_death


class LocalSpawner(DocumentedEnvironment, SimpleLocalProcessSpawner):
    """Each person's server as a local process, in a home folder of their own, contained
    (see containment.py) so that it sees nothing of the platform or of other people."""

    ready_check_interval = Float(
        0.05,
        config=True,
        help="Seconds between checks that a starting server answers. The hub's own check backs "
        "off to 5 s between tries, so a server that is up can wait seconds to be noticed.",
    )

    contain = Unicode(
        config=True,
        help="Local mode: how each person's server is kept from the platform and from other people. "
        "'bwrap' runs it in a bubblewrap namespace of its own: its own processes, /proc, /tmp and /dev; its "
        "home read-write; the system, the Python environment and the packages it imports from the checkout "
        "(contain_packages) read-only; nothing else (not the rest of the checkout, the hub's data folder or "
        "other homes); the machine's network, so it reaches the hub and the agents service on 127.0.0.1; the "
        "environment the spawner gives it. As root, each server runs under a user id of its own "
        "(contain_uid_base + the person's hub id), which owns the home. When bwrap cannot do that here, "
        "servers are refused with a message saying why. Stopping a server (or the hub) ends it with its "
        "kernels, terminals and Claude Code. 'off' runs servers as plain processes of the hub's user, where "
        "any person's code reads every secret and every home: only for a machine where everyone who signs "
        "in is trusted, and logged as a warning at every start.",
    ).tag(env=containment.CONTAIN_ENV)

    contain_uid_base = Integer(
        1_000_000,
        config=True,
        help="When the hub runs as root, each contained server runs under the Unix user id "
        "contain_uid_base + the person's hub user id (its home belongs to it). Pick a range no "
        "account of this machine uses.",
    )

    contain_packages = List(
        Unicode(),
        list(containment.SERVER_PACKAGES),
        config=True,
        help="The Python packages a contained server imports from outside its Python environment's "
        "prefix (an editable install's checkout): only their folders are shown, read-only.",
    )

    private_paths = List(
        Unicode(),
        config=True,
        help="Folders no person's server may see (the hub's data folder, the folder of all homes): "
        "a server is refused rather than started with a mount that shows one.",
    )

    @default("contain")
    def _contain_default(self):
        return from_environment(self, "contain", "bwrap").lower()

    @validate("contain")
    def _contain_valid(self, proposal):
        value = proposal["value"].strip().lower()
        if value not in containment.MODES:
            raise TraitError(f"{containment.CONTAIN_ENV} (LocalSpawner.contain) must be 'bwrap' or 'off', not {value!r}.")
        return value

    @property
    def server_uid(self) -> int:
        """The Unix user id the server runs under: its own as root, else the hub's."""
        return self.contain_uid_base + self.user.id if os.geteuid() == 0 else os.geteuid()

    async def start(self):
        """Extends SimpleLocalProcessSpawner.start: contains the server (unless contain is 'off')
        and returns only once it answers (checking every ready_check_interval), so the hub's own
        check finds it at the first try."""
        if self.contain == "off":
            self.log.warning("%s=off: %s's server runs as a plain process of the hub's user; it can read the "
                             "hub's and the agents service's secrets and every person's files",
                             containment.CONTAIN_ENV, self.user.name)
            ip, port = await super().start()
        else:
            try:
                with self._contained() as launch:
                    ip, port = await super().start()
            except containment.ContainmentUnavailable as err:
                self.log.error("Refusing to start %s's server uncontained: %s", self.user.name, err)
                raise
            self.log.info("%s's server runs contained (bubblewrap, user id %d): it sees only %s, the system "
                          "and the Python environment", self.user.name, launch, self.home_dir)
        await self._wait_until_answering(ip, port)
        return ip, port

    @contextmanager
    def _contained(self):
        """While SimpleLocalProcessSpawner.start runs, its command is the bwrap one."""
        root = os.geteuid() == 0
        bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
        uid = self.server_uid
        if not bwrap:
            problem = "bubblewrap (bwrap) is not installed (not found on PATH)"
        elif root and not setpriv:
            problem = "util-linux's setpriv, which starts each server under its own user id, is not on PATH"
        else:
            problem = containment.probe(bwrap, setpriv or "setpriv", uid if root else None)
        if problem:
            raise containment.ContainmentUnavailable(
                f"Servers are set to run contained ({containment.CONTAIN_ENV}=bwrap), but {problem}. Install "
                f"Debian's 'bubblewrap' where user namespaces are allowed, or set {containment.CONTAIN_ENV}=off "
                "to run servers without containment (only when everyone who signs in is trusted), then restart the hub.")
        home = self.home_dir
        readonly, links = containment.server_layout(home, list(self.contain_packages), list(self.private_paths))
        if root:
            containment.own_home(home, uid)
        else:
            os.makedirs(home, 0o700, exist_ok=True)
        argv = containment.server_command(bwrap, [], home=home, readonly=readonly, links=links,
                                          uid=uid if root else None, setpriv=setpriv or "setpriv")
        saved = self.cmd
        self.cmd = [*argv, *self.cmd]
        try:
            yield uid
        finally:
            self.cmd = saved

    def make_preexec_fn(self, name):
        """Overrides SimpleLocalProcessSpawner.make_preexec_fn when contained: the home exists
        already (it belongs to the server's user id) and bwrap enters it, so there is nothing to do."""
        if self.contain == "off":
            return super().make_preexec_fn(name)
        return None

    async def _signal(self, sig):
        """Extends LocalProcessSpawner._signal: SIGINT and SIGTERM go to the server inside the
        namespace (bwrap passes on no signal, and dying takes the server down unclean), so it shuts
        its kernels down; its namespace then ends with it. Other signals (0, SIGKILL) go to bwrap."""
        if self.contain != "off" and sig in (signal.SIGINT, signal.SIGTERM) and self.pid:
            server = containment.server_process(self.pid)
            if server:
                try:
                    os.kill(server, sig)
                except ProcessLookupError:
                    pass
                return await super()._signal(0)
        return await super()._signal(sig)

    async def _wait_until_answering(self, ip: str, port: int) -> None:
        url = f"http://{ip}:{port}{self.server.base_url}api"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if await self.poll() is not None:
                break  # the process died: the hub's own check reports it
            try:
                await client.fetch(url, request_timeout=2, follow_redirects=False)
                break
            except HTTPClientError as err:
                if err.code != 599:  # any HTTP answer means it is up
                    break
            except OSError:
                pass
            await asyncio.sleep(self.ready_check_interval)
        return ip, port

    wait_for_death = prompt_wait_for_death
