"""Files under var/ that hold secrets or tenant data: readable by the owner only.

The keys, the SQLite database, generated documents and the emulator credentials must not be
readable by other local users, so directories are created 0700 and files 0600 whatever the
umask is (an existing file or directory is tightened too)."""

from __future__ import annotations

import os
import time
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        os.chmod(path, DIR_MODE)
    except PermissionError:
        pass  # a folder someone else owns (e.g. a mounted volume): its owner decides
    return path


def private_file(path: Path) -> Path:
    """Create the file empty (0600) if missing, or tighten an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def read_or_create_secret(path: Path, make) -> str:
    """The secret kept in `path`, created (0600, never world-readable even for an instant)
    by `make()` on first use. O_EXCL: two processes starting at once keep one secret."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        os.chmod(path, FILE_MODE)
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.05)  # another process created it a moment ago and is still writing
    raise RuntimeError(f"{path} is empty: delete it to generate a new secret")
