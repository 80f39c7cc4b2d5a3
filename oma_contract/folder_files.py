"""Files in an agent's folder, written without following links (the user server and the kernel both write there).

An agent runs Bash in its folder, so any name there may be a link it planted
(``CLAUDE.md -> ~/agents/other/CLAUDE.md``, ``.CLAUDE.md.tmp -> /home/someone/x``)
or a FIFO that blocks whoever opens it. The user server and the kernel touch
such names only through these functions: relative to the folder's directory
descriptor, with ``O_NOFOLLOW``, temporary files created with ``O_EXCL``
under a name nobody can guess, and ``rename`` relative to the same
descriptor, which replaces a link itself rather than what it points to.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class NotAFile(OSError):
    """A name that should hold a file holds a directory (or a folder is not a real directory)."""


@contextmanager
def opened(name: str | Path, dir_fd: int | None = None) -> Iterator[int]:
    """A descriptor of the folder ``name`` (in ``dir_fd``), which must be a real directory, not a link.

    Raises NotAFile for a link or a file there, FileNotFoundError when nothing is.
    """
    try:
        fd = os.open(name, _NOFOLLOW_DIR, dir_fd=dir_fd)
    except OSError as err:
        if isinstance(err, NotADirectoryError) or err.errno == errno.ELOOP:
            raise NotAFile(f"{name} is not a folder (it is a link or a file)") from err
        raise
    try:
        yield fd
    finally:
        os.close(fd)


def kind(dir_fd: int, name: str) -> int | None:
    """The file type bits of ``name`` itself (``stat.S_IFLNK`` for a link), or None when absent."""
    try:
        return stat.S_IFMT(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return None


def write(dir_fd: int, name: str, text: str, *, keep_file: bool = False) -> None:
    """Make ``name`` a regular file holding ``text``, whole or not at all.

    The new content goes to a fresh temporary file that then replaces ``name``;
    a link there is replaced, never written through. With ``keep_file``, a
    regular file already there is rewritten in place instead: for a file that
    is a read-only mount point in running sandboxes, which a replacement would
    unmount (see claude_kernel/sandbox.py).
    """
    data = text.encode("utf-8")
    if keep_file and _rewrite_in_place(dir_fd, name, data):
        return
    if kind(dir_fd, name) == stat.S_IFDIR:
        raise NotAFile(f"'{name}' is a folder where a file should be")
    tmp = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def _rewrite_in_place(dir_fd: int, name: str, data: bytes) -> bool:
    """Rewrite ``name`` when it is a regular file of its own (not a link, FIFO or hard link); else False."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    with os.fdopen(fd, "wb") as out:
        info = os.fstat(out.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return False
        out.truncate(0)
        out.write(data)
    return True


def remove(dir_fd: int, name: str) -> None:
    """Remove the file (or link itself) ``name``, if there is one."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        pass
