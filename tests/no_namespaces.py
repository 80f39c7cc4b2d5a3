"""Runs a command the way an unprivileged pod under seccomp RuntimeDefault would: with no namespaces.

containerd's and Docker's default seccomp profiles refuse ``unshare`` and
``setns``, ``clone`` with any namespace flag (EPERM), and ``clone3`` outright
(ENOSYS, so that callers fall back to ``clone``). This applies the same
refusals with a seccomp filter, then execs the command: ``python
no_namespaces.py /usr/bin/bwrap ...`` is the real bubblewrap failing as it
fails in such a pod. What is simulated is the profile, not the pod: the
rest of the machine (Landlock included) is this one's.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

# audit arch, clone, unshare, setns, clone3
_SYSCALLS = {"x86_64": (0xC000003E, 56, 272, 308, 435), "aarch64": (0xC00000B7, 220, 97, 268, 435)}
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000


def _filter() -> bytes:
    arch, clone, unshare, setns, clone3 = _SYSCALLS[platform.machine()]

    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    return b"".join([
        op(ld, 4), op(jeq, arch, 0, 8),     # another architecture: let it be (index 1 -> 10)
        op(ld, 0),
        op(jeq, unshare, 5, 0),             # -> EPERM (index 9)
        op(jeq, setns, 4, 0),
        op(jeq, clone3, 5, 0),              # -> ENOSYS (index 11)
        op(jeq, clone, 0, 3),               # not clone -> allow
        op(ld, 16),                         # clone's flags
        op(jset, _NAMESPACE_FLAGS, 0, 1),   # a namespace flag -> EPERM, else allow
        op(ret, _ERRNO | errno.EPERM),      # 9
        op(ret, _ALLOW),                    # 10
        op(ret, _ERRNO | errno.ENOSYS),     # 11
    ])


def refuse_namespaces() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    code = _filter()
    instructions = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(code) // 8, ctypes.addressof(instructions))
    if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0):  # NO_NEW_PRIVS, SECCOMP
        raise OSError(ctypes.get_errno(), "the seccomp filter could not be applied")


if __name__ == "__main__":
    refuse_namespaces()
    os.execv(sys.argv[1], sys.argv[1:])
