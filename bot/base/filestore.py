"""The attachment store: files people sent for tickets, kept in a folder under their SHA-256.

A file's name is its content's hash (`ab/abcdef...`), so the same screenshot sent twice is
kept once and a name from a chat never becomes a path. Writes go to a temporary file that
is renamed into place, so a reader never sees half a file. Only the adapters write (after a
download) and read (to upload again); the engine records the relative path.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from bot.base.config import Attachments, Settings

TOO_BIG, WRONG_TYPE, FAILED = "too_big", "wrong_type", "failed"
NAME_CHARS = 255


@dataclass(frozen=True)
class Kept:
    path: str  # relative to the store's folder
    sha256: str
    size: int


class FileStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def for_settings(cls, settings: Settings) -> FileStore:
        return cls(settings.resolve(settings.attachments.folder))

    def put(self, data: bytes) -> Kept:
        """Keep `data` (blocking: call it from a thread, not the event loop)."""
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest}"
        target = self.folder / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        return Kept(relative, digest, len(data))

    def path(self, relative: str) -> Path:
        """Where a kept file is; refuses anything that is not a path this store made."""
        parts = relative.split("/")
        if len(parts) != 2 or not all(p.isalnum() for p in parts):
            raise ValueError(f"not an attachment path: {relative!r}")
        return self.folder / relative


def allowed(policy: Attachments, mime: str) -> bool:
    mime = mime.lower().split(";")[0].strip()
    return any(fnmatchcase(mime, pattern.lower()) for pattern in policy.allowed_types)


def refusal(policy: Attachments, name: str, mime: str, size: int) -> str:
    """Why a file may not be kept ("" when it may): too big, or a type not allowed, by what
    the platform says it is and by its name's extension (a `.exe` said to be a PNG is
    refused)."""
    if size > policy.max_size:
        return TOO_BIG
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if not mime or not allowed(policy, mime) or (guessed and not allowed(policy, guessed)):
        return WRONG_TYPE
    return ""


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name to show and to upload again: no folders, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip().lstrip(".")
    return (base or fallback)[:NAME_CHARS]
