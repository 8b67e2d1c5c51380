"""The attachment store: files people sent for tickets, kept under their SHA-256.

A file's name is its content's hash (`ab/abcdef...`), so the same screenshot sent twice is
kept once and a name from a chat never becomes a path. Two stores keep files that way: a
folder (the default; writes go to a temporary file that is renamed into place, so a reader
never sees half a file) and an S3-compatible bucket (`S3Store`, with `attachments.store:
s3`, through boto3: the optional extra `deskbot[s3]`). Only the adapters write (after a
download) and read (to upload again); the engine records the relative path; the prune
(`bot/attachments.py`) lists and removes files no ticket refers to.

Every call blocks: call it from a thread, not the event loop. A store that cannot be reached
raises `StoreUnavailable` (try again later), a file that is not there `FileMissing`.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

from bot.base.config import Attachments, S3Settings, Settings

_OPEN: dict[str, FileStore] = {}  # one store (one S3 client) per configuration

TOO_BIG, WRONG_TYPE, FAILED, NOT_STORED = "too_big", "wrong_type", "failed", "not_stored"
NAME_CHARS = 255
_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")


class StoreUnavailable(Exception):
    """The store cannot be used now (disk, network, credentials, bucket): try again later.
    Its message names what failed, never a secret."""


class FileMissing(Exception):
    """No file at that path (removed by hand, or never stored)."""


@dataclass(frozen=True)
class Kept:
    path: str  # relative to the store: ab/abcdef...
    sha256: str
    size: int


@dataclass(frozen=True)
class Stored:
    """A file as the store lists it."""

    path: str
    modified: datetime
    size: int


class FileStore(Protocol):
    def put(self, data: bytes) -> Kept:
        """Keep `data` under its hash (again: the file counts as new for the prune)."""
        ...

    def read(self, path: str) -> bytes: ...

    def delete(self, path: str) -> None:
        """Remove a file (one already gone is no error)."""
        ...

    def listing(self) -> Iterator[Stored]:
        """Every file this store made (anything else in its place is left alone)."""
        ...

    def modified(self, path: str) -> datetime | None:
        """When the file was last stored (None: not there)."""
        ...

    def check(self) -> str:
        """What was reached (for `deskbot doctor`), or raise `StoreUnavailable`."""
        ...

    @property
    def where(self) -> str:
        """The folder or the bucket, for messages (no secrets)."""
        ...


def checked(path: str) -> str:
    """`path` when it is one a store made (ab/<sha256>), else ValueError: a path from a row
    or a message never reaches outside the store."""
    if not _PATH.match(path) or path[3:5] != path[:2]:
        raise ValueError(f"not an attachment path: {path!r}")
    return path


def relative_for(digest: str) -> str:
    return f"{digest[:2]}/{digest}"


class FolderStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def where(self) -> str:
        return str(self.folder)

    def put(self, data: bytes) -> Kept:
        digest = hashlib.sha256(data).hexdigest()
        relative = relative_for(digest)
        target = self.folder / relative
        try:
            try:
                os.utime(target)  # kept already; sent again: not an old orphan (the prune)
                return Kept(relative, digest, len(data))
            except FileNotFoundError:
                pass
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreUnavailable(f"cannot write in {self.folder}: {exc.strerror}") from exc
        return Kept(relative, digest, len(data))

    def path(self, relative: str) -> Path:
        """Where a kept file is on disk; refuses anything that is not a path this store made."""
        return self.folder / checked(relative)

    def read(self, path: str) -> bytes:
        try:
            return self.path(path).read_bytes()
        except FileNotFoundError as exc:
            raise FileMissing(path) from exc
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {path} in {self.folder}: {exc.strerror}") from exc

    def delete(self, path: str) -> None:
        try:
            self.path(path).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot remove {path}: {exc.strerror}") from exc

    def listing(self) -> Iterator[Stored]:
        if not self.folder.is_dir():
            return
        try:
            subs = sorted(self.folder.iterdir())
            for sub in subs:
                if not sub.is_dir() or len(sub.name) != 2:
                    continue
                for entry in sorted(sub.iterdir()):
                    relative = f"{sub.name}/{entry.name}"
                    if not _PATH.match(relative) or not entry.is_file():
                        continue  # a temporary .part- file, or something not ours
                    try:
                        info = entry.stat()
                    except FileNotFoundError:
                        continue  # removed meanwhile
                    modified = datetime.fromtimestamp(info.st_mtime, UTC)
                    yield Stored(relative, modified, info.st_size)
        except OSError as exc:
            raise StoreUnavailable(f"cannot list {self.folder}: {exc.strerror}") from exc

    def modified(self, path: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self.path(path).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreUnavailable(f"cannot look at {path}: {exc.strerror}") from exc

    def check(self) -> str:
        if not self.folder.exists():
            return f"{self.folder} does not exist yet; the first file creates it"
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"{self.folder} is not writable by this user")
        return f"{self.folder} is writable"


class S3Store:
    """Files as objects `PREFIX + ab/abcdef...` in an S3-compatible bucket (boto3).

    The SDK retries a failed call a few times (standard mode) within `s3.timeout` for each
    try; what still fails is `StoreUnavailable` with the S3 error code or the connection
    problem, never the keys.
    """

    def __init__(self, config: S3Settings) -> None:
        try:
            import boto3  # optional: deskbot[s3]
            from botocore.config import Config
        except ImportError as exc:
            raise StoreUnavailable(
                "attachments.store is s3, but boto3 is not installed: "
                "pip install 'deskbot[s3]' (or boto3) in deskbot's environment"
            ) from exc
        seconds = config.timeout.total_seconds()
        self.config = config
        self.bucket = config.bucket
        self.prefix = config.key_prefix
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=config.endpoint_url or None,
            region_name=config.region or None,
            aws_access_key_id=config.access_key_id or None,
            aws_secret_access_key=config.secret_access_key or None,
            config=Config(
                connect_timeout=seconds,
                read_timeout=seconds,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": config.addressing_style},
            ),
        )

    @property
    def where(self) -> str:
        host = self.config.endpoint_url or "AWS S3"
        return f"s3://{self.bucket}/{self.prefix} at {host}"

    def _failed(self, doing: str, exc: Exception) -> StoreUnavailable:
        response = getattr(exc, "response", None)
        code = ""
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
        why = code or type(exc).__name__
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            why = f"{code}: the access key is refused or may not use the bucket"
        elif code in ("404", "NoSuchBucket"):
            why = f"{code}: no bucket {self.bucket} there"
        elif not code:
            why = f"{why}: {exc}"
        return StoreUnavailable(f"{doing} in {self.where} failed ({why})")

    def put(self, data: bytes) -> Kept:
        digest = hashlib.sha256(data).hexdigest()
        relative = relative_for(digest)
        try:
            # Written every time: the object's date then says it was just sent (the prune).
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + relative, Body=data)
        except Exception as exc:
            raise self._failed("storing a file", exc) from exc
        return Kept(relative, digest, len(data))

    def read(self, path: str) -> bytes:
        key = self.prefix + checked(path)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = answer["Body"].read()
            return body
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404"):
                raise FileMissing(path) from exc
            raise self._failed(f"reading {path}", exc) from exc

    def delete(self, path: str) -> None:
        key = self.prefix + checked(path)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._failed(f"removing {path}", exc) from exc

    def listing(self) -> Iterator[Stored]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    relative = str(item["Key"])[len(self.prefix) :]
                    if _PATH.match(relative):
                        yield Stored(relative, item["LastModified"], int(item["Size"]))
        except Exception as exc:
            raise self._failed("listing files", exc) from exc

    def modified(self, path: str) -> datetime | None:
        key = self.prefix + checked(path)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404"):
                return None
            raise self._failed(f"looking at {path}", exc) from exc
        when: datetime = head["LastModified"]
        return when

    def check(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self._failed("reaching the bucket", exc) from exc
        return f"{self.where} answers"


def open_store(settings: Settings) -> FileStore:
    """The store `attachments:` configures (made once per configuration and process: an S3
    client is costly to make and safe to share between threads)."""
    policy = settings.attachments
    if policy.store != "s3":
        return FolderStore(settings.resolve(policy.folder))
    assert policy.s3 is not None  # the config checks it
    key = policy.s3.model_dump_json()
    store = _OPEN.get(key)
    if store is None:
        store = _OPEN[key] = S3Store(policy.s3)
    return store


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
