"""The S3-compatible attachment store (`attachments.store: s3`), against a real S3 server on
127.0.0.1 (tests/s3server.py): files kept under the prefix, read back, listed and removed;
a ticket's files kept in the bucket and re-shared from it; `deskbot doctor` says whether the
bucket answers; the keys are never shown. The Slack round trip and the outage are in
tests/slack/test_attachments.py."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import checkup
from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Attachments, Settings
from bot.base.filestore import FileMissing, S3Store, StoreUnavailable, open_store
from bot.base.messages import Inbound, InboundFile
from bot.desk import Desk
from tests.desks import build_desk
from tests.foundation.helpers import config_copy, deskbot
from tests.s3server import (
    KEY_ID,
    SECRET,
    S3Server,
    free_port,
    on_s3,
    s3_config,
)
from tests.tickets.helpers import new_ticket, plain, with_triage

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
LOG = b"09:00 vpn handshake failed\n" * 50


def test_the_bucket_keeps_reads_lists_and_removes_files_under_its_prefix(
    s3_server: S3Server,
) -> None:
    bucket = s3_server.bucket()
    store = S3Store(s3_config(s3_server, bucket))
    kept = store.put(PNG)
    assert kept.sha256 == hashlib.sha256(PNG).hexdigest() and kept.size == len(PNG)
    assert kept.path == f"{kept.sha256[:2]}/{kept.sha256}"
    assert s3_server.keys(bucket) == [f"deskbot/files/{kept.path}"]
    assert store.read(kept.path) == PNG
    assert store.put(PNG) == kept  # the same file twice is one object
    other = store.put(LOG)
    listed = {s.path: s.size for s in store.listing()}
    assert listed == {kept.path: len(PNG), other.path: len(LOG)}
    # What is not ours in the bucket is neither listed nor touched.
    s3_server.client().put_object(  # type: ignore[attr-defined]
        Bucket=bucket, Key="deskbot/files/readme.txt", Body=b"x"
    )
    assert {s.path for s in store.listing()} == set(listed)
    store.delete(other.path)
    with pytest.raises(FileMissing):
        store.read(other.path)
    store.delete(other.path)  # already gone: no error
    assert s3_server.keys(bucket) == sorted(
        [f"deskbot/files/{kept.path}", "deskbot/files/readme.txt"]
    )
    for wrong in ("../../etc/passwd", "readme.txt", "ab/" + "c" * 64):
        with pytest.raises(ValueError):
            store.read(wrong)
    assert "answers" in store.check()


def test_a_store_that_cannot_be_reached_says_what_failed_without_the_keys(
    s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    nowhere = S3Store(
        s3_config(s3_server, "deskbot-files", endpoint_url=f"http://127.0.0.1:{free_port()}")
    )
    for call in (lambda: nowhere.put(PNG), nowhere.check, lambda: list(nowhere.listing())):
        with pytest.raises(StoreUnavailable) as failed:
            call()
        assert "s3://deskbot-files/deskbot/files/" in str(failed.value)
        assert SECRET not in str(failed.value)
    missing = S3Store(s3_config(s3_server, "no-such-bucket-here"))
    with pytest.raises(StoreUnavailable, match="no bucket no-such-bucket-here"):
        missing.check()
    assert SECRET not in caplog.text


def test_the_s3_settings_are_checked_and_the_keys_never_shown(s3_server: S3Server) -> None:
    config = s3_config(s3_server, "deskbot-files")
    assert SECRET not in repr(config) and SECRET not in repr(Attachments(store="s3", s3=config))
    assert config.key_prefix == "deskbot/files/"
    with pytest.raises(ValueError, match=r"no attachments\.s3 section"):
        Attachments(store="s3")
    with pytest.raises(ValueError, match="set both or neither"):
        s3_config(s3_server, "deskbot-files", secret_access_key="")
    with pytest.raises(ValueError, match="not a bucket name"):
        s3_config(s3_server, "Bad_Bucket")
    with pytest.raises(ValueError, match="not http"):
        s3_config(s3_server, "deskbot-files", endpoint_url="minio:9000")


@pytest.fixture
def sdesk(settings: Settings, clock: FixedClock, s3_server: S3Server) -> Iterator[Desk]:
    desk = build_desk(
        on_s3(with_triage(settings), s3_config(s3_server, s3_server.bucket())), clock=clock
    )
    yield desk
    desk.store.dispose()


def test_a_tickets_files_are_kept_in_the_bucket_and_re_shared_from_it(
    sdesk: Desk, s3_server: S3Server
) -> None:
    chat = MemoryChat(sdesk)
    number = new_ticket(sdesk, "bob", "VPN drops")
    kept = open_store(sdesk.settings).put(LOG)  # as the adapter does after a download
    inbound = Inbound(
        "memory",
        "bob",
        "bob",
        text=f"/add {number}",
        event_id="s3-1",
        files=(InboundFile("vpn.log", "text/plain", len(LOG), "F1", kept.path, kept.sha256),),
    )
    assert f"Added vpn.log to {number}" in plain(chat.send(inbound))
    assert sdesk.settings.attachments.s3 is not None
    assert s3_server.keys(sdesk.settings.attachments.s3.bucket) == [f"deskbot/files/{kept.path}"]
    assert "1. vpn.log (1 KB, Bob Okafor)" in plain(chat.say("dana", f"/show {number}"))
    [shared] = [f for o in chat.say("dana", f"/file {number}") for f in o.message.files]
    assert shared.path == kept.path and open_store(sdesk.settings).read(shared.path) == LOG


def test_the_doctor_says_whether_the_bucket_answers(
    s3_server: S3Server, settings: Settings
) -> None:
    bucket = s3_server.bucket()
    [found] = checkup.file_store(on_s3(settings, s3_config(s3_server, bucket)))
    assert found.ok and f"s3://{bucket}/deskbot/files/" in found.detail
    [found] = checkup.file_store(on_s3(settings, s3_config(s3_server, "never-made-bucket")))
    assert not found.ok and "no bucket never-made-bucket" in found.detail
    assert "attachments.s3" in found.fix
    closed = s3_config(s3_server, bucket, endpoint_url=f"http://127.0.0.1:{free_port()}")
    [found] = checkup.file_store(on_s3(settings, closed))
    assert not found.ok and "reaching the bucket" in found.detail
    assert SECRET not in found.detail + found.fix
    [found] = checkup.file_store(settings)  # the folder store
    assert found.ok


def test_deskbot_doctor_fails_on_a_bucket_it_cannot_use(
    s3_server: S3Server, settings: Settings, tmp_path: Path
) -> None:
    config = config_copy(tmp_path)
    bucket = f"later-{uuid.uuid4().hex[:10]}"
    section = (
        "  store: s3\n"
        "  s3:\n"
        f"    bucket: {bucket}\n"
        f"    endpoint_url: {s3_server.url}\n"
        "    region: eu-west-1\n"
        "    access_key_id: ${S3_ACCESS_KEY_ID}\n"
        "    secret_access_key: ${S3_SECRET_ACCESS_KEY}\n"
    )
    text = re.sub(r"  store: folder[^\n]*\n", section, config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    env = {
        "DATABASE_URL": settings.database.url,
        "S3_ACCESS_KEY_ID": KEY_ID,
        "S3_SECRET_ACCESS_KEY": SECRET,
    }
    found = deskbot("doctor", "--config", str(config), "--format", "json", env=env)
    assert found.returncode == 1
    [store] = [c for c in json.loads(found.stdout)["checks"] if c["check"] == "attachments"]
    assert not store["ok"] and f"no bucket {bucket}" in store["detail"]
    assert SECRET not in found.stdout + found.stderr
    s3_server.client().create_bucket(  # type: ignore[attr-defined]
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    found = deskbot("doctor", "--config", str(config), "--format", "json", env=env)
    [store] = [c for c in json.loads(found.stdout)["checks"] if c["check"] == "attachments"]
    assert store["ok"] and f"s3://{bucket}/" in store["detail"]


def test_timeouts_are_the_configured_ones(s3_server: S3Server) -> None:
    store = S3Store(s3_config(s3_server, "deskbot-files", timeout="3s"))
    config = store.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (3.0, 3.0)
    assert timedelta(seconds=3) == store.config.timeout
