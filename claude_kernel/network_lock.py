"""Locks a process (and everything it starts) to one local TCP port: the agent's proxy.

Two kernel mechanisms, both available to an unprivileged process with no
namespaces (an unprivileged pod under seccomp RuntimeDefault included), both
inherited across fork and exec and impossible to lift afterwards:

* Landlock (ABI 4, Linux 6.7, and later): the ruleset handles TCP bind and
  connect, allows connect to one port only, and allows no bind. Where the ABI
  has it (6, Linux 6.12), connecting to abstract Unix sockets made outside
  the sandbox is refused too: they belong to the host's network namespace,
  which the agent shares.
* A seccomp filter for what Landlock's TCP rules do not see (measured on
  Linux 6.18): MPTCP sockets (``socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)``
  connects anywhere, falling back to plain TCP), TCP Fast Open
  (``sendto(..., MSG_FASTOPEN, address)`` opens a connection without
  ``connect``), io_uring (its socket and connect operations bypass the
  ``socket`` check below), and other address families (SCTP, SMC, vsock...).
  Other architectures' system calls (32-bit compat, x32) are refused
  outright, as their numbers differ.

Landlock rules name ports, not addresses: the agent may connect to the
proxy's port number on any address. The proxy's port is an ephemeral one,
never one of the platform's (see ``network_proxy``), and in the cluster the
pod's NetworkPolicy is the second wall.

The Landlock system calls are ``landlock``'s. This module is loaded by the
sandbox launcher (``python -I -S``), so it uses only the standard library.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

try:
    from . import landlock
except ImportError:  # loaded by path by the sandbox launcher, which loaded landlock first
    landlock = sys.modules["claude_kernel_landlock"]

LANDLOCK_MIN_ABI = 4  # TCP rules

_RULE_NET_PORT = 2
_ACCESS_NET_BIND_TCP, _ACCESS_NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET = 1
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2

# Per architecture: the audit arch, then the numbers of socket, sendto, sendmsg, sendmmsg,
# io_uring_setup/enter/register.
_SYSCALLS = {
    "x86_64": (0xC000003E, 41, 44, 46, 307, 425, 426, 427),
    "aarch64": (0xC00000B7, 198, 206, 211, 269, 425, 426, 427),
}
_X32_BIT = 0x40000000
_AF_UNIX, _AF_INET, _AF_INET6, _AF_NETLINK = 1, 2, 10, 16
_SOCK_STREAM, _SOCK_DGRAM, _SOCK_TYPE_MASK = 1, 2, 0xF
# IP, ICMP, TCP, UDP, ICMPv6: the protocols Landlock or the proxy accounts for (UDP and ICMP
# have no Landlock rules: the platform serves nothing on them; the cluster's NetworkPolicy
# covers other pods)
_INET_PROTOCOLS = (0, 1, 6, 17, 58)
_MSG_FASTOPEN = 0x20000000
_RET_ALLOW, _RET_ERRNO, _RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000


class NetworkLockUnavailable(landlock.LandlockUnavailable):
    """This kernel (or its seccomp profile) cannot lock a process's network; the message says why."""


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi() -> int:
    """Landlock's ABI version here; raises NetworkLockUnavailable when there is none."""
    try:
        return landlock.abi()
    except landlock.LandlockUnavailable as err:
        raise NetworkLockUnavailable(f"{err} (Linux 6.7 or later is needed)"
                                     if "no Landlock" in str(err) else str(err)) from err


def socket_filter(machine: str | None = None) -> bytes:
    """The seccomp program (a sock_fprog's instructions) refusing what Landlock does not see."""
    machine = machine or platform.machine()
    if machine not in _SYSCALLS:
        raise NetworkLockUnavailable(f"the network lock has no system call table for {machine}")
    arch, sys_socket, sys_sendto, sys_sendmsg, sys_sendmmsg, *uring = _SYSCALLS[machine]
    program: list[tuple[int, int, int, int] | tuple[str, ...]] = []
    labels: dict[str, int] = {}

    def load(offset: int) -> None:  # seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (low half)
        program.append((0x20, 0, 0, offset))

    def jump_if(value: int, target: str, test: int = 0x15) -> None:  # JEQ (JSET with 0x45, JGE with 0x35)
        program.append(("jump", test, value, target))

    def ret(value: int) -> None:
        program.append((0x06, 0, 0, value))

    def label(name: str) -> None:
        labels[name] = len(program)

    load(4)
    jump_if(arch, "native")
    ret(_RET_KILL_PROCESS)
    label("native")
    load(0)
    if machine == "x86_64":
        jump_if(_X32_BIT, "nosys", test=0x35)
    jump_if(sys_socket, "socket")
    jump_if(sys_sendto, "flags3")
    jump_if(sys_sendmmsg, "flags3")
    jump_if(sys_sendmsg, "flags2")
    for number in uring:
        jump_if(number, "nosys")
    ret(_RET_ALLOW)
    label("socket")
    load(16)
    jump_if(_AF_UNIX, "allow")
    jump_if(_AF_NETLINK, "allow")
    jump_if(_AF_INET, "inet")
    jump_if(_AF_INET6, "inet")
    ret(_RET_ERRNO | errno.EAFNOSUPPORT)
    label("inet")
    load(24)
    program.append((0x54, 0, 0, _SOCK_TYPE_MASK))  # A &= SOCK_TYPE_MASK (drops NONBLOCK, CLOEXEC)
    jump_if(_SOCK_STREAM, "protocol")
    jump_if(_SOCK_DGRAM, "protocol")
    ret(_RET_ERRNO | errno.EPROTONOSUPPORT)
    label("protocol")
    load(32)
    for protocol in _INET_PROTOCOLS:
        jump_if(protocol, "allow")
    ret(_RET_ERRNO | errno.EPROTONOSUPPORT)
    label("flags3")
    load(40)
    jump_if(_MSG_FASTOPEN, "fastopen", test=0x45)
    ret(_RET_ALLOW)
    label("flags2")
    load(32)
    jump_if(_MSG_FASTOPEN, "fastopen", test=0x45)
    ret(_RET_ALLOW)
    label("fastopen")
    ret(_RET_ERRNO | errno.EOPNOTSUPP)
    label("nosys")
    ret(_RET_ERRNO | errno.ENOSYS)
    label("allow")
    ret(_RET_ALLOW)

    code = b""
    for index, instruction in enumerate(program):
        if instruction[0] == "jump":
            _, test, value, target = instruction
            offset = labels[target] - index - 1
            assert 0 <= offset < 256
            code += struct.pack("=HBBI", test, offset, 0, value)
        else:
            code += struct.pack("=HBBI", *instruction)
    return code


def lock_network(port: int) -> None:
    """Allow this process and its descendants TCP connections to ``port`` only, and no bind.

    Raises NetworkLockUnavailable (nothing applied, or the process must not go on)."""
    abi = landlock_abi()
    if abi < LANDLOCK_MIN_ABI:
        raise NetworkLockUnavailable(f"this Linux kernel's Landlock is ABI version {abi}, and TCP rules need "
                                     f"version {LANDLOCK_MIN_ABI} (Linux 6.7 or later)")
    libc = landlock.libc()
    code = socket_filter()
    try:
        ruleset = landlock.create_ruleset(libc, handled_net=_ACCESS_NET_BIND_TCP | _ACCESS_NET_CONNECT_TCP,
                                          scoped=_SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0)
        try:
            landlock.add_rule(libc, ruleset, _RULE_NET_PORT, _NetPortAttr(_ACCESS_NET_CONNECT_TCP, port),
                              "landlock_add_rule")
            landlock.restrict_self(libc, ruleset)
        finally:
            os.close(ruleset)
    except landlock.LandlockUnavailable as err:
        raise NetworkLockUnavailable(str(err)) from err
    instructions = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(code) // 8, ctypes.addressof(instructions))
    try:
        landlock.check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.c_char_p(fprog), 0, 0),
                       "prctl(PR_SET_SECCOMP)")
    except landlock.LandlockUnavailable as err:
        raise NetworkLockUnavailable(str(err)) from err
