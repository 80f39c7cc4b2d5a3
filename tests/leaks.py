"""The suite's own leak check: nothing the tests started may outlive them.

Every process a test starts is marked: it carries ``OMA_TEST_RUN`` (this
run's id) in its environment, or it runs a program of this checkout (the
project's virtual environment, node_modules, or the tests' temporary folders
in its command line), and it was started after the run began. Processes that
pass an id of another run (another checkout's tests, a second run of this
one) are not ours. When the run ends, the ones still alive, and any port the
test process itself still listens on, fail the run, named; then those
carrying the run's id are stopped so they cannot pile up (the others may be a
platform someone started from this checkout meanwhile).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import psutil

RUN_ENV = "OMA_TEST_RUN"
SETTLE_SECONDS = 5.0  # what was told to stop just now may still be on its way out


class LeakCheck:
    def __init__(self, project: Path, temp_root: Path) -> None:
        self.run_id = uuid.uuid4().hex
        self.started = time.time()
        self.me = os.getpid()
        self.markers = [str(project) + "/", str(temp_root) + "/"]

    def mark_environment(self) -> None:
        """Every process started from now on inherits this run's id."""
        os.environ[RUN_ENV] = self.run_id

    def _is_ours(self, process: psutil.Process) -> bool:
        try:
            if process.pid == self.me or process.create_time() < self.started - 1:
                return False
            try:
                run = process.environ().get(RUN_ENV)
            except (psutil.AccessDenied, psutil.ZombieProcess):
                run = None
            if run is not None:
                return run == self.run_id
            command = " ".join(process.cmdline())
            return any(marker in command for marker in self.markers)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False

    def survivors(self) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter():
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    continue
            except psutil.NoSuchProcess:
                continue
            if self._is_ours(process):
                found.append(process)
        return found

    def listening_ports(self) -> list[int]:
        return sorted({c.laddr.port for c in psutil.Process(self.me).net_connections(kind="inet")
                       if c.status == psutil.CONN_LISTEN})

    def check(self) -> list[str]:
        """What is still alive (after letting stopping processes settle), as lines naming each; then stop them."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while (self.survivors() or self.listening_ports()) and time.monotonic() < deadline:
            time.sleep(0.2)
        problems = []
        left = self.survivors()
        for process in left:
            try:
                ports = [c.laddr.port for c in process.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
                line = f"process {process.pid} ({process.name()}): {' '.join(process.cmdline())[:160]}"
                problems.append(line + (f", listening on {ports}" if ports else ""))
            except psutil.NoSuchProcess:
                continue
        problems += [f"port {port} still listened on by the test process" for port in self.listening_ports()]
        for process in left:  # only what carries this run's mark: never a platform someone started meanwhile
            try:
                if process.environ().get(RUN_ENV) == self.run_id:
                    process.send_signal(signal.SIGKILL)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return problems
