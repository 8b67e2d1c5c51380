"""The deployment examples in deploy/ hold together: what cannot be built here (a container,
a systemd service) is read and checked against the code - every command they run is one
`deskbot` accepts, every folder the image copies exists and is the one pyproject.toml
packages or config.yaml reads. With systemd-analyze on the machine, the unit is verified."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]


def deskbot_command(argv: list[str]) -> str:
    """The subcommand `argv` (after the program) runs, as deskbot's own parser reads it."""
    args = build_parser().parse_args(argv)
    command: str = args.command
    return f"{command} {args.action}" if command == "db" else command


def entry_point(program: str) -> None:
    assert Path(program).name in PYPROJECT["project"]["scripts"], program


# ---- systemd --------------------------------------------------------------------------------


def unit() -> configparser.ConfigParser:
    # systemd allows a key more than once (SystemCallFilter=); the last one read is enough
    # for the checks here.
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "deskbot.service", encoding="utf-8")
    return parser


def test_systemd_unit_runs_deskbot_serve_after_migrating():
    service = unit()["Service"]
    start = shlex.split(service["ExecStart"])
    entry_point(start[0])
    assert deskbot_command(start[1:]) == "serve"
    before = shlex.split(service["ExecStartPre"])
    assert before[0] == start[0] and deskbot_command(before[1:]) == "db upgrade"
    config = start[start.index("--config") + 1]
    assert Path(config).parent.as_posix() == service["WorkingDirectory"]


def test_systemd_unit_keeps_secrets_out_and_privileges_down():
    parsed = unit()
    service = parsed["Service"]
    assert service["User"] not in ("", "root") and service["Group"] not in ("", "root")
    assert service["EnvironmentFile"].startswith("/etc/")
    lines = (DEPLOY / "deskbot.service").read_text().splitlines()
    assert not [line for line in lines if line.startswith("Environment=") and "TOKEN" in line]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "Restart": "on-failure",
    }.items():
        assert service[key] == value, key
    # The one writable place is the site's var/ (SQLite, report charts).
    assert service["ReadWritePaths"] == f"{service['WorkingDirectory']}/var"
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
    # Longer than engine.retry_for (2 minutes), which a stop waits out.
    assert int(service["TimeoutStopSec"].removesuffix("s")) > 120


def test_systemd_env_example_names_what_config_yaml_reads():
    wanted = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "config.yaml").read_text()))
    given = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "deskbot.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert "DATABASE_URL" in given and given - {"DATABASE_URL"} <= wanted


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path):
    # verify wants ExecStart's program to exist: point it at this checkout's deskbot.
    here = str(Path(sys.executable).with_name("deskbot"))
    assert Path(here).exists()
    text = (DEPLOY / "deskbot.service").read_text().replace("/opt/deskbot/bin/deskbot", here)
    copy = tmp_path / "deskbot.service"
    copy.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    said = [line for line in (done.stdout + done.stderr).splitlines() if "deskbot" in line]
    assert done.returncode == 0 and said == [], done.stdout + done.stderr


# ---- the container file ---------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Containerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", (DEPLOY / "Containerfile").read_text(encoding="utf-8"))
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_containerfile_builds_from_a_python_pyproject_accepts():
    steps = instructions()
    assert steps[0][0] == "FROM" and [s for s, _ in steps].count("FROM") == 1
    image = steps[0][1]
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim", image)
    assert match, image
    lowest = re.search(r"(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert lowest is not None
    assert (int(match[1]), int(match[2])) >= (int(lowest[1]), int(lowest[2]))


def test_containerfile_installs_the_project_as_pyproject_packages_it():
    steps = instructions()
    copied = {args.split()[0] for step, args in steps if step == "COPY"}
    # Everything setuptools needs to build deskbot: pyproject (and its readme) + the packages.
    assert {"pyproject.toml", "README.md"} <= {
        word for step, args in steps if step == "COPY" for word in args.split()[:-1]
    }
    assert set(PACKAGES) <= copied
    for package in PACKAGES:
        assert (ROOT / package).is_dir()
    [install] = [args for step, args in steps if step == "RUN" and "pip install" in args]
    words = install.split("pip install", 1)[1].split("&&")[0].split()
    assert "." in words  # the project itself, with pyproject.toml's dependencies
    # The site: config.yaml and every content folder it points at.
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    folders = {Path(p).parts[0] for p in config["paths"].values()}
    assert {"config.yaml", *folders} <= copied


def test_containerfile_runs_as_a_user_and_checks_health():
    steps = instructions()
    users = [args for step, args in steps if step == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    last_user = max(i for i, (step, _) in enumerate(steps) if step == "USER")
    assert all(step != "RUN" for step, _ in steps[last_user:])  # nothing after runs as root
    [health] = [args for step, args in steps if step == "HEALTHCHECK"]
    assert "/healthz" in (DEPLOY / "Containerfile").read_text() and "CMD" in health
    [cmd] = [args for step, args in steps if step == "CMD"]
    argv: list[str] = yaml.safe_load(cmd)  # the exec form is a JSON list
    entry_point(argv[0])
    assert deskbot_command(argv[1:]) == "serve"
    env = " ".join(args for step, args in steps if step == "ENV")
    assert "DESKBOT_CONFIG=/srv/deskbot/config.yaml" in env


def test_containerignore_keeps_the_venv_and_tests_out():
    ignored = (DEPLOY / "Containerfile.dockerignore").read_text().split()
    assert {".venv", ".git", "tests", "var"} <= set(ignored)


# ---- compose --------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_compose_builds_deskbot_from_the_containerfile():
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "deskbot"}
    for name in ("migrate", "deskbot"):
        build = services[name]["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT and (context / build["dockerfile"]).resolve() == (
            DEPLOY / "Containerfile"
        )


def test_compose_migrates_before_deskbot_starts_on_postgres():
    services = compose()["services"]
    migrate, deskbot, postgres = services["migrate"], services["deskbot"], services["postgres"]
    assert deskbot_command(migrate["command"][1:]) == "db upgrade"
    assert deskbot_command(deskbot["command"][1:]) == "serve"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert deskbot["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    for service in (migrate, deskbot):
        url = service["environment"]["DATABASE_URL"]
        assert re.fullmatch(
            r"postgresql://deskbot:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/deskbot", url
        )
    env = postgres["environment"]
    assert env["POSTGRES_USER"] == "deskbot" and env["POSTGRES_DB"] == "deskbot"


def test_compose_keeps_data_in_named_volumes():
    data = compose()
    services = data["services"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "deskbot-var:/srv/deskbot/var" in services["deskbot"]["volumes"]
    assert {"pgdata", "deskbot-var"} <= set(data["volumes"])
    # The tokens come from the environment (deploy/.env), never written in the file.
    tokens = {k: v for k, v in services["deskbot"]["environment"].items() if "TOKEN" in k}
    assert tokens and all(v.startswith("${") for v in tokens.values())
