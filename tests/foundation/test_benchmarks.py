"""The benchmarks this repository's numbers come from still run, at a tiny size (their
figures are not checked here: speed is measured by running them, never in a unit test)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.configs import ROOT


def _run(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_the_directory_benchmark_runs_a_full_and_an_incremental_sync() -> None:
    out = _run("bench.directory", "--people", "200", "--groups", "12", "--changes", "20",
               "--postgres", "none")  # fmt: skip
    assert re.search(r"full: 200 added; incremental: \d+ updated, 1 deactivated", out), out
    assert "`deskbot directory sync` (another 20 changes)" in out, out
    assert "incremental without the access log (every name listed)" in out, out
    assert "incremental with 95 changes at 200" in out, out


def test_the_scim_benchmark_runs_a_change_and_its_sync() -> None:
    out = _run("bench.scim", "--people", "60", "--changes", "2")
    assert "people: 60, groups: 60, changes: 2" in out, out
    assert "sync after it (median):" in out and "ratio sync / baseline:" in out, out
