"""config.yaml's `ops:` section: absent is off, bad values name the file, line and key, and
an address serve cannot listen on stops it with a one-line problem naming `ops.http`."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.config import load_settings
from bot.base.yamlfile import ProblemsError
from bot.desk import Desk
from bot.serve import start_ops
from tests.foundation.helpers import ROOT, config_copy


def with_ops(tmp_path: Path, block: str) -> tuple[Path, int]:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("\nconversation:\n", f"\n{block}\nconversation:\n")
    line = text.splitlines().index(block.splitlines()[1]) + 1
    return config_copy(tmp_path, text), line


def test_no_ops_section_means_no_endpoints() -> None:
    assert load_config(ROOT / "config.yaml", {}).ops.http is None


def test_an_address_is_host_and_port(tmp_path: Path) -> None:
    path, _ = with_ops(tmp_path, "ops:\n  http: 127.0.0.1:9464\n  outbox_delay: 2m")
    ops = load_settings(path, {}).ops
    assert ops.http == ("127.0.0.1", 9464)
    assert ops.outbox_delay.total_seconds() == 120


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("  http: localhost", "ops.http: 'localhost' is not HOST:PORT"),
        ("  http: 127.0.0.1:99999", "ops.http: '127.0.0.1:99999' is not HOST:PORT"),
        ("  check_timeout: 0s", "check_timeout must be longer than zero"),
        ("  outbox_dely: 5m", "ops.outbox_dely: unknown field"),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, line: str, says: str) -> None:
    path, line_no = with_ops(tmp_path, f"ops:\n{line}")
    with pytest.raises(ProblemsError) as caught:
        load_settings(path, {})
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{path}:"), problem
    assert says in problem
    if "unknown field" in says or "HOST:PORT" in says:
        assert problem.startswith(f"{path}:{line_no}:")


async def test_an_address_in_use_stops_serve_naming_the_key(desk: Desk) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ops = desk.settings.ops.model_copy(update={"http": ("127.0.0.1", port)})
        desk.settings = desk.settings.model_copy(update={"ops": ops})
        with pytest.raises(ProblemsError) as caught:
            await start_ops(desk)
    [problem] = caught.value.problems
    assert problem.field == "ops.http"
    assert f"cannot listen on 127.0.0.1:{port}" in problem.message
