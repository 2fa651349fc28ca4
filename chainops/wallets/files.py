"""Owner-only files written atomically: a reader sees the old file or the whole new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

OWNER_ONLY = 0o600


def write_private(path: Path, text: str, *, overwrite: bool = True) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically and durably.

    The bytes go to a fresh temporary file in the same folder (created exclusively,
    so a stale file of any name or mode is never reused), are flushed to disk, and
    are then renamed over ``path`` or, with ``overwrite=False``, hard-linked to it
    (FileExistsError if ``path`` appeared meanwhile); the folder is synced so the
    new name survives a crash.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp already creates 0600; set it again so no umask or ACL default can widen it
        os.fchmod(fd, OWNER_ONLY)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot open a folder for sync
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
