"""Files several processes share: written whole (`replaced`), and told apart from an
earlier version of themselves by one `stat` (`stamp`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def replaced(path: Path, *, binary: bool = False, newline: str | None = None) -> Iterator[IO[Any]]:
    """Write `path` through the file this yields: a temporary file beside it that takes the
    name when the block ends without an error, so a reader (another process, the next
    start) sees the old file or the new, never half, and a write that fails leaves the old
    file and no temporary one. Mode 0600, as mkstemp makes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        if binary:
            with os.fdopen(fd, "wb") as out:
                yield out
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as out:
                yield out
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)  # gone already when renamed


def stamp(path: Path) -> str:
    """Changes whenever the file is replaced or edited (a new inode, time or size)."""
    try:
        st = path.stat()
    except OSError:
        return "absent"
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"
