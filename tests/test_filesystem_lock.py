"""Shared memory under Landlock: what an agent confined in a pod may do in /dev/shm, and what not.

Landlock cannot give each agent a /dev/shm of its own, as bubblewrap does (it
changes no mounts), yet Python's multiprocessing and Chromium need one. The
filesystem lock (``claude_kernel.filesystem_lock``) grants the pod's shared
/dev/shm deliberately: regular files by name, never a listing, a directory, a
link target elsewhere or an executable. These tests run the real sandbox
launcher, as the kernel does, around a Python program of an agent's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from claude_kernel import filesystem_lock, landlock, network_lock
from claude_kernel.sandbox import landlock_options

pytestmark = pytest.mark.skipif(filesystem_lock.probe() is not None or not os.path.isdir("/dev/shm"),
                                reason=f"no Landlock or no /dev/shm here: {filesystem_lock.probe()}")
LAUNCHER = Path(__file__).parent.parent / "claude_kernel" / "sandbox.py"


def confined(tmp_path: Path, program: str) -> subprocess.CompletedProcess:
    """``program`` run by the sandbox launcher with an agent's Landlock confinement."""
    folder, agent_tmp = tmp_path / "agents" / "alpha", tmp_path / "private" / "tmp"
    folder.mkdir(parents=True)
    agent_tmp.mkdir(parents=True)
    options = landlock_options(str(folder), sys.executable, str(agent_tmp))
    return subprocess.run([sys.executable, "-I", "-S", str(LAUNCHER), *options, sys.executable, "-c",
                           textwrap.dedent(program)], cwd=folder, env={"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)


def test_multiprocessing_and_shared_memory_work_for_a_confined_agent(tmp_path):
    done = confined(tmp_path, """
        import multiprocessing
        from multiprocessing import shared_memory

        lock = multiprocessing.Lock()  # a POSIX semaphore: a named file in /dev/shm
        with lock, multiprocessing.Pool(2) as pool:
            print("pool", pool.map(abs, [-1, -2, -3]))
        segment = shared_memory.SharedMemory(create=True, size=64)
        segment.buf[:5] = b"hello"
        again = shared_memory.SharedMemory(name=segment.name)
        print("segment", bytes(again.buf[:5]).decode())
        again.close()
        segment.close()
        segment.unlink()
    """)
    assert done.returncode == 0, done.stderr
    assert "pool [1, 2, 3]" in done.stdout and "segment hello" in done.stdout


def test_a_confined_agent_cannot_list_dev_shm_make_folders_there_or_run_from_it(tmp_path):
    name = f"oma-test-{uuid.uuid4().hex}"
    done = confined(tmp_path, f"""
        import os

        def attempt(what, action):
            try:
                action()
                print(what, "allowed")
            except PermissionError:
                print(what, "refused")

        attempt("list", lambda: os.listdir("/dev/shm"))
        attempt("mkdir", lambda: os.mkdir("/dev/shm/{name}.d"))
        with open("/dev/shm/{name}", "w") as script:
            script.write("#!/bin/sh\\necho ran\\n")
        os.chmod("/dev/shm/{name}", 0o755)
        attempt("exec", lambda: os.execv("/dev/shm/{name}", ["/dev/shm/{name}"]))
        os.unlink("/dev/shm/{name}")
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["list refused", "mkdir refused", "exec refused"], done.stdout
    assert not os.path.exists(f"/dev/shm/{name}")


def test_both_locks_build_on_the_shared_landlock_module_alone():
    """One module makes Landlock's system calls; neither lock reaches into the other, and each
    lock's error is a LandlockUnavailable."""
    assert issubclass(filesystem_lock.FilesystemLockUnavailable, landlock.LandlockUnavailable)
    assert issubclass(network_lock.NetworkLockUnavailable, landlock.LandlockUnavailable)
    assert filesystem_lock.landlock is landlock and network_lock.landlock is landlock
    assert "network_lock" not in vars(filesystem_lock) and "filesystem_lock" not in vars(network_lock)
    assert network_lock.landlock_abi() == landlock.abi() >= filesystem_lock.FILESYSTEM_MIN_ABI
