"""Structured logs: `logging.format` / `--log-format`, the turn's fields on every line, one
correlation id per turn through the real `deskbot chat`, and nothing secret or typed in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.base import logcontext, logformat, redact
from bot.base.messages import Address, Message
from store import outbox
from store.db import Store
from store.models import OutboxMessage

from .helpers import ROOT, config_copy, deskbot

# Alice resets her password: four lines, four turns, a ticket at the last one.
PHONE = "+44 20 7946 0000"
LINES = f"I forgot my password\n1\nyes\n{PHONE}\n"
SECRET = "zq-secret-value-for-the-log-test"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def with_logging(tmp_path: Path, section: str) -> Path:
    """The repository's config with its `logging:` section replaced by `section`."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    start = text.index("\nlogging:\n")
    end = text.index("\n\n", start + 1)
    return config_copy(tmp_path, text[:start] + "\n" + section.rstrip("\n") + text[end:])


def json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


def test_chat_logs_one_json_object_a_line_and_one_id_per_turn(db_url: str, tmp_path: Path):
    config = with_logging(tmp_path, "logging:\n  format: text\n  level: info\n")
    result = deskbot(
        "chat", "--config", str(config), "--as", "alice", "--log-format", "json",
        stdin=LINES, env={"DATABASE_URL": db_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Your request IT-1000 is logged" in result.stdout
    lines = json_lines(result.stderr)
    for line in lines:
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
    received = [line for line in lines if line["logger"] == "bot.adapters.console"]
    handled = [line for line in lines if line["logger"] == "bot.chat.engine"]
    assert len(received) == len(handled) == 4
    turns = [line["correlation_id"] for line in received]
    assert len(set(turns)) == 4, "one id per turn"
    assert [line["correlation_id"] for line in handled] == turns
    assert {line["person_id"] for line in handled} == {"alice"}
    # The last line filed the ticket: its turn's lines carry the number, the others none.
    [opened] = [line for line in lines if line["logger"] == "bot.tickets"]
    assert (opened["correlation_id"], opened["ticket"]) == (turns[3], "IT-1000")
    assert handled[3]["ticket"] == "IT-1000"
    assert not any("ticket" in line for line in handled[:3])
    for line in lines:  # what Alice typed stays out of the log
        shown = json.dumps(line, ensure_ascii=False)
        assert "forgot my password" not in shown and PHONE not in shown


def test_text_lines_show_the_turn(db_url: str, tmp_path: Path):
    config = with_logging(tmp_path, "logging:\n  level: info\n")
    result = deskbot(
        "chat", "--config", str(config), "--as", "alice",
        stdin="I forgot my password\n", env={"DATABASE_URL": db_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [handled] = [line for line in result.stderr.splitlines() if " bot.chat.engine " in line]
    assert " INFO bot.chat.engine [correlation=" in handled
    assert " person=alice event=console:alice:" in handled
    assert "forgot" not in result.stderr


def test_a_log_format_that_does_not_exist_is_refused_by_name(tmp_path: Path):
    config = with_logging(tmp_path, "logging:\n  format: xml\n")
    result = deskbot("chat", "--config", str(config), "--as", "alice")
    assert result.returncode == 2
    line = next(line for line in result.stderr.splitlines() if "logging.format" in line)
    assert "config.yaml:" in line and "'text' or 'json'" in line
    refused = deskbot("chat", "--as", "alice", "--log-format", "xml")
    assert refused.returncode == 2
    assert "--log-format: invalid choice: 'xml'" in refused.stderr


def test_a_dead_letter_names_the_turn_that_queued_it(db_url: str):
    """`deskbot outbox dead` shows the correlation id to look for in the logs."""
    store = Store(db_url)
    try:
        with logcontext.turn("d" * 16, person="alice", ticket="IT-1042"), store.begin() as s:
            to = Address("telegram", "1001", "alice")
            outbox.notify(session=s, to=to, message=Message("hi"), idem_key="k1", now=NOW)
        with store.begin() as s:  # queued outside any turn: nothing to name
            to = Address("telegram", "1002", "bob")
            outbox.notify(session=s, to=to, message=Message("hi"), idem_key="k2", now=NOW)
        with store.begin() as s:
            for row in s.exec(select(OutboxMessage)).all():
                assert row.id is not None
                outbox.mark_dead(session=s, message_id=row.id, error="chat not found")
    finally:
        store.dispose()
    result = deskbot("outbox", "dead", "--format", "json", env={"DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    rows = {row["person"]: row for row in json.loads(result.stdout)}
    assert (rows["alice"]["correlation"], rows["alice"]["ticket"]) == ("d" * 16, "IT-1042")
    assert (rows["bob"]["correlation"], rows["bob"]["ticket"]) == (None, None)


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """The root logger as `deskbot` sets it up, writing to a string (pytest's handlers are
    put back afterwards)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    stream = io.StringIO()
    try:
        logformat.install(logging.INFO)
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        yield stream
    finally:
        root.handlers = saved
        root.setLevel(level)


def test_fields_belong_to_their_turn_and_end_with_it(root_log: io.StringIO):
    logformat.use("json")
    log = logging.getLogger("deskbot.test")
    log.info("before")
    with logcontext.turn("a" * 16, person="alice", event="ev1"):
        log.info("inside")
        logcontext.set_ticket("IT-1042")
        log.info("about the ticket")
        with logcontext.turn("b" * 16):
            log.info("another turn")
        log.info("back")
    log.info("after")
    lines = json_lines(root_log.getvalue())
    fields = [{k: v for k, v in line.items() if k in logcontext.FIELDS} for line in lines]
    alice = {"correlation_id": "a" * 16, "person_id": "alice", "event_id": "ev1"}
    assert fields == [
        {},
        alice,
        {**alice, "ticket": "IT-1042"},
        {"correlation_id": "b" * 16},
        {**alice, "ticket": "IT-1042"},
        {},
    ]
    assert [line["message"] for line in lines][1] == "inside"
    assert {line["logger"] for line in lines} == {"deskbot.test"}


def test_json_lines_mask_secrets_and_keep_tracebacks_on_one_line(root_log: io.StringIO):
    logformat.use("json")
    redact.add_secret(SECRET)
    try:
        raise RuntimeError(f"could not connect with {SECRET}")
    except RuntimeError:
        logging.getLogger("store").exception("database down (%s)", SECRET)
    [line] = json_lines(root_log.getvalue())
    assert line["level"] == "ERROR" and line["message"] == "database down ([secret])"
    assert "RuntimeError: could not connect with [secret]" in line["exception"]
    assert SECRET not in root_log.getvalue()


def test_text_is_the_default_and_json_is_switched_to(root_log: io.StringIO):
    log = logging.getLogger("deskbot.test")
    with logcontext.turn("c" * 16, ticket="IT-7"):
        log.warning("one")
        logformat.use("json")
        log.warning("two")
    first, second = root_log.getvalue().splitlines()
    assert first.endswith(f" WARNING deskbot.test [correlation={'c' * 16} ticket=IT-7]: one")
    assert json.loads(second)["ticket"] == "IT-7"
