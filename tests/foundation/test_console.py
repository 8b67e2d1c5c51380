"""`deskbot chat --as PERSON` with piped input, on SQLite and PostgreSQL, through the real CLI."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleChannel, render_plain
from bot.base.messages import Address, Choice, Message, Outbound

from .helpers import ROOT, deskbot

PASSWORD = "I forgot my password\n1\nyes\n+44 20 7946 0000\n"


def run_as(person: str, lines: str, db_url: str):
    result = deskbot("chat", "--as", person, stdin=lines, env={"DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def tickets(db_url: str) -> list[dict]:
    result = deskbot("tickets", "--format", "json", env={"DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    rows: list[dict] = json.loads(result.stdout)
    return rows


def test_piped_conversation_creates_a_ticket_that_tickets_lists(db_url: str):
    out = run_as("alice", PASSWORD, db_url)
    assert "1) Windows / network login" in out  # choices are numbered
    assert "Your request IT-1000 is logged" in out
    [ticket] = tickets(db_url)
    assert ticket["number"] == "IT-1000" and ticket["service"] == "password_reset"
    assert (
        ticket["requester"] == "alice" and ticket["status"] == "new" and ticket["priority"] == "P3"
    )


def test_choices_answered_by_text_in_chinese(db_url: str):
    out = run_as("wang.fang", "我忘记密码了\n邮箱\n是\n+86 21 5555 0000\n", db_url)
    assert "您的请求 IT-1000 已登记" in out
    assert tickets(db_url)[0]["requester"] == "wang.fang"


def test_two_consoles_see_each_others_effects(db_url: str):
    run_as("alice", PASSWORD, db_url)
    dana = run_as("dana", "/queue\n/claim IT-1000\n/claim IT-1000\n", db_url)
    assert "IT-1000 [P3] Password reset" in dana
    assert "You've claimed IT-1000" in dana
    assert "IT-1000 is already taken by Dana Whitfield" in dana
    # Alice's next console session receives what happened while she was away.
    alice = run_as("alice", "/status\n", db_url)
    assert "Dana from IT is on it: IT-1000" in alice
    assert "IT-1000 Password reset: windows for Alice Morgan (In progress)" in alice
    [ticket] = tickets(db_url)
    assert ticket["assignee"] == "dana" and ticket["status"] == "in_progress"


def test_unknown_person_is_refused_with_the_known_ids(db_url: str):
    result = deskbot("chat", "--as", "mallory", stdin="hi\n", env={"DATABASE_URL": db_url})
    assert result.returncode == 2
    assert "'mallory' is not in the people directory" in result.stdout and "alice" in result.stdout


def test_numbers_pick_choices_only_right_after_a_choice_prompt():
    shown: list[Outbound] = []
    channel = ConsoleChannel(shown.append)
    to = Address("console", "alice", "alice")
    import asyncio

    asyncio.run(
        channel.send(
            Outbound(to, Message("Which?", choices=(Choice("A", "j:s:a"), Choice("B", "j:s:b"))))
        )
    )
    assert channel.to_inbound("alice", "2", "e1").action == "j:s:b"
    # The next line is plain text again: "2" is now an answer, not a button.
    assert channel.to_inbound("alice", "2", "e2").text == "2"
    rendered = render_plain(shown[0])
    assert rendered.splitlines() == ["Which?", "  1) A", "  2) B"]


def test_serve_runs_the_console_from_the_readme_command(tmp_path: Path):
    """`deskbot serve` with no tokens: console channel on SQLite (what ./scripts/serve runs)."""
    db = tmp_path / "serve.db"
    result = deskbot("serve", stdin=PASSWORD, env={"DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert "Your request IT-1000 is logged" in result.stdout
    assert db.exists()
    assert 'exec .venv/bin/deskbot serve "$@"' in (ROOT / "scripts" / "serve").read_text()


def test_serve_stops_cleanly_while_its_first_rounds_run(tmp_path: Path):
    """Input ends at once, while the scheduler's first rounds are under way: they finish and
    nothing is logged as failed."""
    db = tmp_path / "serve.db"
    result = deskbot("serve", stdin="", env={"DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert "Error running job" not in result.stderr and "Traceback" not in result.stderr


def _wait_for(master: int, wanted: bytes, proc: subprocess.Popen[bytes]) -> bytes:
    """What the terminal showed until `wanted` appeared (bounded: a hang fails the test)."""
    seen = b""
    for _ in range(600):  # up to about a minute: the first start builds the matcher
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
        if wanted in seen or proc.poll() is not None:
            break
    return seen


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("command", ["chat", "serve"])
def test_ctrl_c_at_the_prompt_ends_the_console_at_once(tmp_path: Path, command: str):
    """In a real terminal, Ctrl-C while the prompt waits for a line stops deskbot without
    anyone pressing Enter (it used to wait for a line that never came)."""
    master, slave = pty.openpty()
    args = [sys.executable, "-m", "bot", command, *(["--as", "alice"] if command == "chat" else [])]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "TERM": "dumb"}
    for key in [k for k in env if k.startswith(("SLACK_", "TELEGRAM_"))]:
        del env[key]
    proc = subprocess.Popen(
        args,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        # As a shell starts a command in a terminal: Ctrl-C at its default. A run of the
        # tests started in the background (`cmd &` in a script) ignores SIGINT, and every
        # process it starts would inherit that and never see the Ctrl-C sent below.
        preexec_fn=_sigint_as_in_a_terminal,
    )
    os.close(slave)
    try:
        shown = _wait_for(master, b"you>", proc)
        assert b"you>" in shown, shown.decode(errors="replace")[-500:]
        proc.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("Ctrl-C did not stop the console: it waits for Enter")
        assert code in (0, 130)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
