"""Landlock's system calls, as the filesystem lock and the network lock make them.

Landlock (Linux 5.13 and later) lets an unprivileged process, with no
namespaces, restrict itself and everything it starts: it creates a ruleset
that names the kinds of access it handles (files, TCP ports, scopes), adds
rules allowing some of them, and restricts itself to it. The restriction is
inherited across fork and exec and can never be lifted; each new ruleset
only narrows what earlier ones allowed, so the two locks stack.

``filesystem_lock`` and ``network_lock`` build their rules on this module.
All three use only the standard library: the sandbox launcher runs with
``python -I -S`` and loads them by path (the package is not importable there).
"""

from __future__ import annotations

import ctypes
import errno
import os

# landlock_create_ruleset, landlock_add_rule, landlock_restrict_self: the same numbers on every architecture.
CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_PR_SET_NO_NEW_PRIVS = 38


class LandlockUnavailable(RuntimeError):
    """This Linux kernel (or its seccomp profile) cannot apply a Landlock ruleset; the message says why."""


def libc():
    handle = ctypes.CDLL(None, use_errno=True)
    handle.syscall.restype = ctypes.c_long
    return handle


class RulesetAttr(ctypes.Structure):
    """The kernel's struct landlock_ruleset_attr (ABI 6: files, TCP, scopes)."""
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


def abi() -> int:
    """Landlock's ABI version on this kernel; raises LandlockUnavailable when there is none."""
    version = libc().syscall(CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if version < 0:
        err = ctypes.get_errno()
        if err == errno.EOPNOTSUPP:
            raise LandlockUnavailable("Landlock is built into this Linux kernel but not enabled "
                                      "(add 'landlock' to the kernel's lsm= boot parameter)")
        if err == errno.ENOSYS:
            raise LandlockUnavailable("this Linux kernel has no Landlock")
        raise LandlockUnavailable(f"Landlock cannot be used here: {os.strerror(err)} (a seccomp profile "
                                  "that refuses the landlock system calls does this)")
    return version


def check(result: int, what: str) -> int:
    """``result`` of a libc call, or LandlockUnavailable naming ``what`` failed and why."""
    if result < 0:
        raise LandlockUnavailable(f"{what} failed: {os.strerror(ctypes.get_errno())}")
    return result


def create_ruleset(handle, handled_fs: int = 0, handled_net: int = 0, scoped: int = 0) -> int:
    """A new ruleset's file descriptor: everything it handles is denied until a rule allows it."""
    attr = RulesetAttr(handled_fs, handled_net, scoped)
    return check(handle.syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                                ctypes.c_uint32(0)), "landlock_create_ruleset")


def add_rule(handle, ruleset: int, rule_type: int, rule: ctypes.Structure, what: str) -> None:
    check(handle.syscall(ADD_RULE, ruleset, rule_type, ctypes.byref(rule), ctypes.c_uint32(0)), what)


def restrict_self(handle, ruleset: int) -> None:
    """Confine this process and its future children to ``ruleset``, for good. no_new_privs first:
    Landlock requires it of an unprivileged process (a setuid program could otherwise escape)."""
    check(handle.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    check(handle.syscall(RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "landlock_restrict_self")
