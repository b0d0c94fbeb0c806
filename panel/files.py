"""Files a person names (config, property file, issuer key): regular files of a bounded
size, read without blocking. A FIFO would hang the panel at start-up and /dev/zero would
fill its memory; both are refused with one line before anything is read."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileProblem(Exception):
    """One line: the path and what is wrong with it."""


def read_regular(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of path, at most limit of them. Raises FileProblem naming path."""
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileProblem(f"{p}: {what} not found") from None
    except IsADirectoryError:
        raise FileProblem(f"{p}: is a directory, expected a {what}") from None
    except OSError as e:
        raise FileProblem(f"{p}: cannot read {what}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileProblem(f"{p}: is a directory, expected a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(f"{p}: not a regular file (a FIFO, device or socket); expected a {what}")
        if info.st_size > limit:
            raise FileProblem(f"{p}: too big for a {what} ({info.st_size} bytes, at most {limit})")
        try:
            data = f.read(limit + 1)            # it may have grown since fstat
        except OSError as e:
            raise FileProblem(f"{p}: cannot read {what}: {e.strerror}") from None
    if len(data) > limit:
        raise FileProblem(f"{p}: too big for a {what} (over {limit} bytes)")
    return data
