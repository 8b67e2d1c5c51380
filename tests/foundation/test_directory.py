"""people.csv: one person per account and email, managers that end somewhere, real emails.
Each refusal goes through the real `deskbot check` (and `deskbot serve`) and names the lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import ROOT, CliResult, config_copy, deskbot

PEOPLE = (ROOT / "directory/people.csv").read_text(encoding="utf-8")
# A new employee row: id, name, email, slack_id, telegram_id, then the rest as in people.csv.
ZOE = "zoe,Zoe Park,{email},{slack},{telegram},mark,employee,,en,Europe/London,,,,\n"


def line_of(person: str, text: str = PEOPLE) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith(f"{person},"))


def config_with_people(tmp_path: Path, people: str) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(people, encoding="utf-8")
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    return config_copy(tmp_path, text.replace("people: directory/people.csv", f"people: {path}"))


def check(tmp_path: Path, people: str) -> tuple[CliResult, list[str]]:
    """`deskbot check` on the repository's config with this people.csv; its error lines."""
    result = deskbot("check", "--config", str(config_with_people(tmp_path, people)))
    assert "Traceback" not in result.stderr
    errors = [line[len("error: ") :] for line in result.stderr.splitlines() if "error: " in line]
    return result, errors


@pytest.mark.parametrize(
    ("column", "zoe", "value", "owner"),
    [
        ("slack_id", {"slack": "U0ALICE"}, "U0ALICE", "alice"),
        ("telegram_id", {"telegram": "1004"}, "1004", "mark"),
        ("email", {"email": "Bob@Example.COM"}, "Bob@Example.COM", "bob"),
    ],
)
def test_an_account_or_email_on_two_people_is_refused_naming_both_lines(
    tmp_path: Path, column: str, zoe: dict[str, str], value: str, owner: str
):
    # Before, the later row silently took the account over: a message from Alice's Slack
    # account would have reached the desk as Zoe (and with Zoe's roles).
    fields = {"email": "zoe@example.com", "slack": "U0ZOE", "telegram": "2001", **zoe}
    people = PEOPLE + ZOE.format(**fields)
    result, errors = check(tmp_path, people)
    assert result.returncode == 2
    row = len(people.splitlines())
    assert errors == [
        f"{tmp_path / 'people.csv'}:{row}: {column}: '{value}' is also on line "
        f"{line_of(owner)} ({owner})"
    ]


def test_serve_refuses_a_directory_with_a_shared_account(tmp_path: Path):
    people = PEOPLE + ZOE.format(email="zoe@example.com", slack="U0ALICE", telegram="")
    result = deskbot("serve", "--config", str(config_with_people(tmp_path, people)), stdin="")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"slack_id: 'U0ALICE' is also on line {line_of('alice')} (alice)" in result.stderr
    assert "nothing was started" in result.stderr


def with_cell(person: str, column: str, value: str) -> str:
    """people.csv with one cell of `person`'s row changed."""
    rows = PEOPLE.splitlines()
    i = line_of(person) - 1
    cells = rows[i].split(",")
    cells[rows[0].split(",").index(column)] = value
    rows[i] = ",".join(cells)
    return "\n".join(rows) + "\n"


def test_a_circle_of_two_managers_is_refused_with_both_lines(tmp_path: Path):
    # Mark reports to Priya; now Priya reports to Mark as well.
    result, errors = check(tmp_path, with_cell("priya", "manager", "mark"))
    assert result.returncode == 2
    mark, priya = line_of("mark"), line_of("priya")
    assert errors == [
        f"{tmp_path / 'people.csv'}:{mark}: manager: managers go round in a circle: "
        f"mark (line {mark}) -> priya (line {priya}) -> mark"
    ]


def test_a_longer_circle_of_managers_is_refused_once_with_every_line(tmp_path: Path):
    # Alice -> Mark -> Priya, and Priya -> Alice closes the circle.
    result, errors = check(tmp_path, with_cell("priya", "manager", "alice"))
    assert result.returncode == 2
    alice, mark, priya = line_of("alice"), line_of("mark"), line_of("priya")
    assert errors == [
        f"{tmp_path / 'people.csv'}:{alice}: manager: managers go round in a circle: "
        f"alice (line {alice}) -> mark (line {mark}) -> priya (line {priya}) -> alice"
    ]


def test_a_person_who_is_their_own_manager_is_refused(tmp_path: Path):
    result, errors = check(tmp_path, with_cell("priya", "manager", "priya"))
    assert result.returncode == 2
    assert errors == [
        f"{tmp_path / 'people.csv'}:{line_of('priya')}: manager: "
        "'priya' is this person: nobody is their own manager"
    ]


def test_a_person_who_is_their_own_delegate_is_refused(tmp_path: Path):
    result, errors = check(tmp_path, with_cell("mark", "delegate", "mark"))
    assert result.returncode == 2
    assert errors == [
        f"{tmp_path / 'people.csv'}:{line_of('mark')}: delegate: "
        "'mark' is this person: nobody is their own delegate"
    ]
    # Delegation is one step (an approver's delegate may decide for them; nobody follows a
    # delegate's delegate), so two people covering for each other is no circle: Mark's
    # delegate is Olivia (people.csv), and now Olivia's is Mark.
    result, errors = check(tmp_path, with_cell("olivia", "delegate", "mark"))
    assert result.returncode == 0, errors


@pytest.mark.parametrize(
    "email",
    [
        "zoe@park@example.com",  # two @
        "@example.com",  # nothing before the @
        "zoe@localhost",  # a domain without a dot
        "zoe@example.",  # an empty part of the domain
        "zoe park@example.com",  # a space
    ],
)
def test_an_invalid_email_is_refused(tmp_path: Path, email: str):
    people = PEOPLE + ZOE.format(email=email, slack="U0ZOE", telegram="2001")
    result, errors = check(tmp_path, people)
    assert result.returncode == 2
    assert errors == [
        f"{tmp_path / 'people.csv'}:{len(people.splitlines())}: email: "
        f"'{email}' is not an email address like name@example.com"
    ]


def test_an_approver_groups_column_adds_members_and_an_unknown_group_is_refused(tmp_path: Path):
    lines = PEOPLE.splitlines()
    header = lines[0] + ",approver_groups"
    rows = [
        row + (",it_system_owners;change_advisory" if row.startswith("sam,") else ",")
        for row in lines[1:]
    ]
    people = "\n".join([header, *rows]) + "\n"
    config = config_with_people(tmp_path, people)
    result = deskbot("people", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    sam = next(p for p in json.loads(result.stdout) if p["id"] == "sam")
    assert sam["approver_groups"] == ["change_advisory", "it_system_owners"]
    assert sam["source"] == "csv"
    bad = people.replace("it_system_owners;change_advisory", "the_board")
    result, errors = check(tmp_path, bad)
    assert result.returncode == 2
    assert errors == [
        f"{tmp_path / 'people.csv'}:{line_of('sam')}: approver_groups: 'the_board' is not an "
        "approver group in config.yaml"
    ]
