"""Every file deskbot reads is read within bounds: a size limit checked before reading, strict
UTF-8 (an Excel byte-order mark is fine), YAML without aliases or runaway nesting. Anything
else is one clear error naming the file, from the real `deskbot check`, never a traceback."""

from __future__ import annotations

import json
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from bot.base.yamlfile import TABLE_LIMIT, YAML_LIMIT, ProblemsError, read_text

from .helpers import ROOT, CliResult, config_copy, deskbot

CONFIG = (ROOT / "config.yaml").read_text(encoding="utf-8")
PEOPLE = (ROOT / "directory/people.csv").read_text(encoding="utf-8")


def own_copy(tmp_path: Path) -> Path:
    """config.yaml pointing at a copy of the people, services and articles in tmp_path."""
    shutil.copytree(ROOT / "catalog/services", tmp_path / "services")
    shutil.copytree(ROOT / "content/kb", tmp_path / "kb")
    shutil.copy(ROOT / "directory/people.csv", tmp_path / "people.csv")
    text = (
        CONFIG.replace("services: catalog/services", f"services: {tmp_path / 'services'}")
        .replace("knowledge: content/kb", f"knowledge: {tmp_path / 'kb'}")
        .replace("people: directory/people.csv", f"people: {tmp_path / 'people.csv'}")
    )
    return config_copy(tmp_path, text)


def check(config: Path) -> tuple[CliResult, list[str]]:
    result = deskbot("check", "--config", str(config))
    assert "Traceback" not in result.stderr
    errors = [line[len("error: ") :] for line in result.stderr.splitlines() if "error: " in line]
    return result, errors


def test_files_with_an_excel_byte_order_mark_load(tmp_path: Path):
    config = own_copy(tmp_path)
    # Excel's "CSV UTF-8" starts with a byte-order mark and ends lines with CR LF.
    people = "\ufeff" + PEOPLE.replace("\n", "\r\n")
    (tmp_path / "people.csv").write_bytes(people.encode("utf-8"))
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    result, errors = check(config)
    assert result.returncode == 0, errors
    listed = deskbot("people", "--format", "json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert [p["id"] for p in json.loads(listed.stdout)][:2] == ["alice", "bob"]


@pytest.mark.parametrize(
    ("name", "line"),
    [("people.csv", 13), ("config.yaml", 2), ("services/vpn_issue.yaml", 2)],
)
def test_a_file_that_is_not_utf8_is_one_error_naming_file_and_line(
    tmp_path: Path, name: str, line: int
):
    config = own_copy(tmp_path)
    path = tmp_path / name
    text = path.read_text(encoding="utf-8")
    first, rest = text.split("\n", 1)
    if name == "people.csv":  # Zoë, added by a spreadsheet saving in Windows-1252
        added = "zoe,Zoë Park,zoe@example.com,,,mark,employee,,en,Europe/London,,,,\n"
        raw = text.encode("utf-8") + added.encode("cp1252")
    else:  # a comment in Latin-1 (the rest is UTF-8, Chinese included)
        raw = f"{first}\n".encode() + "# café\n".encode("latin-1") + rest.encode("utf-8")
    path.write_bytes(raw)
    result, errors = check(config)
    assert result.returncode == 2
    assert errors == [
        f"{path}:{line}: not UTF-8 text (byte 0xeb is not valid UTF-8); save the file as UTF-8"
        if name == "people.csv"
        else f"{path}:{line}: not UTF-8 text (byte 0xe9 is not valid UTF-8); save the file as UTF-8"
    ]


def test_an_article_that_is_not_utf8_is_one_error(tmp_path: Path):
    config = own_copy(tmp_path)
    article = tmp_path / "kb/en/guest-wifi.md"
    article.write_bytes(article.read_bytes() + "\nCafé guests welcome.\n".encode("latin-1"))
    result, errors = check(config)
    assert result.returncode == 2
    [error] = errors
    assert error.startswith(f"{article}:") and "not UTF-8 text (byte 0xe9" in error


BILLION_LAUGHS = "\n".join(
    ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 10)]
)


@pytest.mark.parametrize(
    ("bomb", "line"),
    [
        (BILLION_LAUGHS, 2),  # 9 ** 9 = 387,420,489 strings from ten lines
        ("loop: &loop [*loop]", 1),  # a list that contains itself
    ],
)
def test_a_yaml_alias_is_refused_before_it_expands(tmp_path: Path, bomb: str, line: int):
    config = own_copy(tmp_path)
    service = tmp_path / "services/vpn_issue.yaml"
    service.write_text(f"{bomb}\n{service.read_text(encoding='utf-8')}", encoding="utf-8")
    tracemalloc.start()
    started = time.monotonic()
    try:
        result, errors = check(config)
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.returncode == 2
    alias = "lol0" if "lol" in bomb else "loop"
    assert errors == [
        f"{service}:{line}: YAML aliases (*{alias}) are not allowed in deskbot's files; "
        "write the value out in full"
    ]
    # Expanded, the laughs would take minutes and gigabytes (they did before the refusal);
    # refused, the whole check (every other file included) takes a second or two.
    assert seconds < 30 and peak < 200 * 1024 * 1024


def test_deep_nesting_is_refused_without_a_traceback(tmp_path: Path):
    config = own_copy(tmp_path)
    service = tmp_path / "services/vpn_issue.yaml"
    service.write_text("deep: " + "[" * 990 + "]" * 990 + "\n", encoding="utf-8")
    result, errors = check(config)
    assert result.returncode == 2
    assert errors == [f"{service}:1: values are nested more than 50 levels deep"]


def test_an_oversized_people_csv_is_refused_by_its_size(tmp_path: Path):
    config = own_copy(tmp_path)
    people = tmp_path / "people.csv"
    with people.open("r+b") as handle:  # 17 MiB, almost all of it a hole: quick to make
        handle.truncate(17 * 1024 * 1024)
    result, errors = check(config)
    assert result.returncode == 2
    assert errors == [
        f"{people}: file is too large (it is 17 MiB, the limit is 16 MiB for this kind of file)"
    ]


def test_an_oversized_yaml_file_is_refused(tmp_path: Path):
    config = own_copy(tmp_path)
    text = config.read_text(encoding="utf-8")
    padding = "#" * (YAML_LIMIT - len(text.encode("utf-8")))  # one byte over, with the newline
    config.write_text(f"{text}{padding}\n", encoding="utf-8")
    result, errors = check(config)
    assert result.returncode == 2
    assert errors == [
        f"{config}: file is too large (it is 1.0 MiB, the limit is 1 MiB for this kind of file)"
    ]


def test_a_large_file_is_refused_before_it_is_read(tmp_path: Path):
    path = tmp_path / "people.csv"
    with path.open("wb") as handle:
        handle.truncate(TABLE_LIMIT * 4)
    tracemalloc.start()
    try:
        with pytest.raises(ProblemsError) as caught:
            read_text(path, TABLE_LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "file is too large (it is 64 MiB" in str(caught.value)
    assert peak < 1024 * 1024  # nothing of the file was read


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_file_whose_size_says_nothing_is_read_only_to_the_limit():
    # A device (or a file still growing) may say 0 bytes and never end.
    with pytest.raises(ProblemsError) as caught:
        read_text(Path("/dev/zero"), 1024 * 1024)
    assert str(caught.value) == (
        "/dev/zero: file is too large (the limit is 1 MiB for this kind of file)"
    )


def test_a_csv_field_beyond_the_csv_limit_is_one_error(tmp_path: Path):
    config = own_copy(tmp_path)
    people = tmp_path / "people.csv"
    name = "Z" * 200_000  # Python's csv stops at 131,072 characters in a field
    people.write_text(
        PEOPLE + f'zoe,"{name}",zoe@example.com,,,mark,employee,,en,Europe/London,,,,\n',
        encoding="utf-8",
    )
    result, errors = check(config)
    assert result.returncode == 2
    [error] = errors
    assert error.startswith(f"{people}:13: not a valid CSV file: field larger than field limit")
