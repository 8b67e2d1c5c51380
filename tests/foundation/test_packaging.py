"""What a person meets before deskbot runs: the package's metadata and the first set-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_is_an_spdx_expression_with_its_file():
    # `license = { text = ... }` made setuptools print deprecation boxes on every install.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "Apache-2.0"
    for name in project["project"]["license-files"]:
        assert "Apache License" in (ROOT / name).read_text(encoding="utf-8")
    # setuptools reads SPDX licence expressions from version 77 on.
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_the_first_run_says_what_it_is_doing(tmp_path: Path):
    """scripts/venv.sh on a fresh checkout: a pretend python stands in for the minute of
    installing, so the test sees only what the person would read meanwhile."""
    shutil.copy(ROOT / "scripts" / "venv.sh", tmp_path / "venv.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    # `python3 -m venv .venv` makes a .venv/bin/python that accepts anything.
    fake.write_text(
        "#!/bin/sh\nmkdir -p .venv/bin\nprintf '#!/bin/sh\\nexit 0\\n' > .venv/bin/python\n"
        "chmod +x .venv/bin/python\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def ensure() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", "source venv.sh && ensure_venv ''"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )

    first = ensure()
    assert "creating .venv/" in first.stderr
    assert "installing deskbot and its dependencies" in first.stderr
    assert "installed." in first.stderr and first.stdout == ""
    assert ensure().stderr == ""  # nothing to do, nothing said
