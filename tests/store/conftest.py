"""Fixtures for the store suite: the real Firestore emulator, and a fresh store of each backend per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from agents_extension.store import Store, open_store

EMULATOR_START_TIMEOUT = 90
NOT_INSTALLED = "the Firestore emulator (Google Cloud CLI's `gcloud emulators firestore`) is not installed"
REQUIRE_FIRESTORE = "OMA_REQUIRE_FIRESTORE"


def firestore_emulator_missing() -> str | None:
    """What keeps the Firestore emulator from running here (a sentence), or None when it can run."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return f"{NOT_INSTALLED}: no gcloud on PATH"
    # gcloud runs the emulator component's jar with Java; the component lives in the SDK's platform folder.
    sdk = Path(gcloud).resolve().parent.parent
    if not (sdk / "platform" / "cloud-firestore-emulator").is_dir():
        return (f"{NOT_INSTALLED}: gcloud at {sdk} has no cloud-firestore-emulator component "
                "(`gcloud components install cloud-firestore-emulator`, or Debian's google-cloud-cli-firestore-emulator)")
    if shutil.which("java") is None:
        return f"{NOT_INSTALLED}: it needs a Java runtime (java) on PATH"
    return None


def require_firestore_emulator() -> None:
    """Skip the test when the emulator cannot run here, or fail it when OMA_REQUIRE_FIRESTORE=1 (as scripts/test sets)."""
    missing = firestore_emulator_missing()
    if missing is None:
        return
    if os.environ.get(REQUIRE_FIRESTORE) == "1":
        pytest.fail(f"{missing}; {REQUIRE_FIRESTORE}=1 requires it")
    pytest.skip(NOT_INSTALLED)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running_firestore_emulator(log_path: Path) -> Iterator[str]:
    """The real Cloud Firestore emulator on a free port, until the block ends; yields its host:port."""
    missing = firestore_emulator_missing()
    if missing:
        raise RuntimeError(missing)
    host = f"127.0.0.1:{_free_port()}"
    log = log_path.open("wb")
    # Its own process group: gcloud starts the Java emulator as a child, and both must go at the end.
    process = subprocess.Popen(
        ["gcloud", "emulators", "firestore", "start", f"--host-port={host}", "--quiet"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + EMULATOR_START_TIMEOUT
        while not _answers(f"http://{host}/"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Firestore emulator did not answer on {host} within {EMULATOR_START_TIMEOUT}s:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            time.sleep(0.2)
        yield host
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real Cloud Firestore emulator on a free port; its host:port is also in FIRESTORE_EMULATOR_HOST."""
    require_firestore_emulator()
    with running_firestore_emulator(tmp_path_factory.mktemp("firestore-emulator") / "emulator.log") as host:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("FIRESTORE_EMULATOR_HOST", host)
            yield host


def _stop(process: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(params=["sqlite", "firestore"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL naming an empty store of one backend, not shared with any other test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    request.getfixturevalue("firestore_emulator")
    # One emulator for the session; a fresh collection prefix keeps each test's records apart.
    return f"firestore://oma-test?prefix=t{uuid.uuid4().hex[:12]}_"


@pytest.fixture
async def store(store_url: str) -> Store:
    opened = open_store(store_url)
    yield opened
    await opened.close()
