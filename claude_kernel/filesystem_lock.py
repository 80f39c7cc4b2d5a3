"""Confines a process (and everything it starts) to a few folders, without namespaces.

Where bubblewrap cannot run, as in an unprivileged pod under seccomp
RuntimeDefault (no user namespaces), Landlock still can: an unprivileged
process restricts itself, the restriction is inherited across fork and exec
and cannot be lifted. The sandbox launcher (``sandbox``) applies it just
before it execs Claude Code: the system and the CLI's install may be read and
executed, the agent's folder and its temporary folder read and written, a few
devices used, and nothing else opened at all, so sibling agents' folders, the
rest of the home and the Jupyter data folder holding the agents' settings
stay out of reach.

Landlock also keeps a confined process from ptrace-ing, and so from reading
``/proc/<pid>/environ`` or ``/proc/<pid>/mem`` of, any process outside its
domain: the kernel and the user server, which hold the hub's token. From
ABI 6 (Linux 6.12) it also keeps it from signalling them: without that, an
agent's ``kill -9 -1`` would end the server, its kernels and every other
agent of the pod (bubblewrap's own PID namespace does the same). Its own
processes it still signals, as Claude Code does to stop a tool.

Shared memory (``/dev/shm``): Python's multiprocessing (its locks and
semaphores are named files there) and Chromium need it, and Landlock cannot
give each agent a /dev/shm of its own (bubblewrap mounts one; Landlock changes
no mounts). So every confined agent may create, open, write and remove
regular files in the pod's /dev/shm, but not list it, execute from it or make
anything else there: a sibling's segment is reachable only by its name, which
multiprocessing and Chromium make random.

What Landlock (ABI 7) does not cover, and bubblewrap does: a path's metadata
(``stat``, ``chmod``, ``chown``, ``utime``) outside the allowed folders, and
the visibility of other processes in ``/proc`` (their command lines, never
their environment). Claude Code's command lines carry no secret (see
``sandbox``). docs/deploy-gke.md lists these limits and what bounds them
(one person per pod).

The system calls are ``landlock``'s; this module adds the filesystem rules.
Like it, it uses only the standard library: the launcher runs with
``python -I -S`` and loads both by path.
"""

from __future__ import annotations

import ctypes
import os
import sys

try:
    from . import landlock
except ImportError:  # loaded by path by the sandbox launcher, which loaded landlock first
    landlock = sys.modules["claude_kernel_landlock"]

# TRUNCATE (ABI 3, Linux 6.2): without it a confined process could still truncate any file its
# user owns, the agents' settings among them.
FILESYSTEM_MIN_ABI = 3
SCOPE_SIGNAL, SIGNAL_MIN_ABI = 2, 6  # no signals to processes outside the domain (Linux 6.12)

_RULE_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3 and 5
# the rights that apply to a file itself; a rule on a file may grant only these
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

READ = EXECUTE | READ_FILE | READ_DIR
# Devices the CLI and the agent's shell use; a terminal for tools that open one.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts")
# POSIX shared memory, shared by the pod (see above): named files only, never listed or executed.
SHARED_MEMORY = "/dev/shm"
SHARED_MEMORY_RIGHTS = READ_FILE | WRITE_FILE | TRUNCATE | MAKE_REG | REMOVE_FILE
# The kernel's own view of processes (Node reads /proc/self, /proc/meminfo), and the cgroup
# limits Node sizes its heap from; read only.
KERNEL_VIEWS = ("/proc", "/sys/fs/cgroup")


_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LAST_CAPABILITY = "/proc/sys/kernel/cap_last_cap"


class FilesystemLockUnavailable(landlock.LandlockUnavailable):
    """This Linux kernel (or its seccomp profile) cannot confine a process's files; the message says why."""


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct landlock_path_beneath_attr is packed
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def handled_rights(abi: int) -> int:
    """Every filesystem right this ABI knows, which the ruleset then denies unless a rule grants it."""
    rights = (1 << 13) - 1  # ABI 1: EXECUTE to MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def probe() -> str | None:
    """Why this process could not confine its files with Landlock, or None when it can."""
    try:
        abi = landlock.abi()
    except landlock.LandlockUnavailable as err:
        return f"{err} (Linux 6.2 or later is needed)" if "no Landlock" in str(err) else str(err)
    if abi < FILESYSTEM_MIN_ABI:
        return (f"this Linux kernel's Landlock is ABI version {abi}; confining files needs version "
                f"{FILESYSTEM_MIN_ABI} (Linux 6.2 or later)")
    return None


def lock_filesystem(read: list[str], write: list[str], devices: tuple[str, ...] = DEVICES) -> None:
    """Allow this process and its descendants to open only ``read`` (read, list, execute),
    ``write`` (everything), ``devices``, the kernel's views and files in /dev/shm by name;
    missing paths are skipped.

    Raises FilesystemLockUnavailable (nothing applied, or the process must not go on)."""
    problem = probe()
    if problem:
        raise FilesystemLockUnavailable(problem)
    abi = landlock.abi()
    handled = handled_rights(abi)
    libc = landlock.libc()
    try:
        ruleset = landlock.create_ruleset(libc, handled_fs=handled, scoped=SCOPE_SIGNAL if abi >= SIGNAL_MIN_ABI else 0)
        try:
            grants = [(path, READ) for path in (*read, *KERNEL_VIEWS)]
            grants += [(path, handled) for path in write]
            grants += [(path, READ | WRITE_FILE | TRUNCATE | IOCTL_DEV) for path in devices]
            grants.append((SHARED_MEMORY, SHARED_MEMORY_RIGHTS))
            for path, rights in grants:
                _allow(libc, ruleset, path, rights & handled)
            drop_capabilities(libc)
            landlock.restrict_self(libc, ruleset)
        finally:
            os.close(ruleset)
    except landlock.LandlockUnavailable as err:
        raise FilesystemLockUnavailable(str(err)) from err


def drop_capabilities(libc) -> None:
    """Empty the capability bounding and ambient sets, so that what this process execs has none,
    even as root (what bwrap's ``--cap-drop ALL`` does). A privileged process passes Landlock's
    ptrace check (measured: as root, /proc/<kernel>/environ stays readable), and CAP_DAC_* or
    CAP_SYS_ADMIN would reach files by other ways than their paths. In a pod (all capabilities
    dropped, non-root) there is nothing to drop."""
    with open(_LAST_CAPABILITY) as last:
        highest = int(last.read())
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for capability in range(highest + 1):
        # EPERM without CAP_SETPCAP: then the set is already as the pod left it, which cannot be widened
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)


def _allow(libc, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (FileNotFoundError, PermissionError):  # what this process cannot open, its children cannot either
        return
    try:
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            rights &= FILE_RIGHTS
        landlock.add_rule(libc, ruleset, _RULE_PATH_BENEATH, _PathBeneathAttr(rights, fd),
                          f"landlock_add_rule({path})")
    finally:
        os.close(fd)
