"""`deskbot report` in its three formats and with a chart, on the seeded store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from bot.desk import Desk
from tests.conftest import ROOT
from tests.insight.seed import seed

PERIOD = ["--since", "2026-11-09", "--until", "2026-11-23"]


@pytest.fixture
def seeded(desk: Desk, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Desk:
    seed(desk)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return desk


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", "--config", str(ROOT / "config.yaml"), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_has_the_period_and_each_week(seeded: Desk, capsys: pytest.CaptureFixture[str]):
    code, out, _ = report(capsys, *PERIOD, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["period"]["start"] == "2026-11-09T00:00:00+00:00"
    assert data["period"]["requests"] == 10
    assert data["period"]["sla"] == {"count": 2, "of": 4, "rate": 0.5}
    assert data["period"]["matcher"]["understood_at_once"]["rate"] == 0.5
    assert [w["requests"] for w in data["weeks"]] == [4, 6]


def test_csv_has_a_row_per_week_then_the_period(seeded: Desk, capsys: pytest.CaptureFixture[str]):
    code, out, _ = report(capsys, *PERIOD, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["from"][:10] for r in rows] == ["2026-11-09", "2026-11-16", "2026-11-09"]
    week1, week2, period = rows
    assert (week1["requests"], week2["requests"], period["requests"]) == ("4", "6", "10")
    assert period["self_service_rate"] == "0.3" and period["bypass_rate"] == "0.1667"
    assert (period["resolution_p50_h"], period["resolution_p90_h"]) == ("4.5", "27.5")
    assert week1["csat_average"] == "4.5" and period["csat_average"] == "4"


def test_table_in_english_and_chinese(seeded: Desk, capsys: pytest.CaptureFixture[str]):
    code, out, _ = report(capsys, *PERIOD)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Service desk report, 9 Nov 2026 to 22 Nov 2026"
    assert any(line.split() == "Solved by self-service 30% (3 of 10)".split() for line in lines)
    assert any(
        "Resolution (business hours)" in line and "p50 4.5 h · p90 27.5 h (4)" in line
        for line in lines
    )
    assert any(line.strip().startswith("VPN problem") and line.endswith(" 6") for line in lines)
    code, out, _ = report(capsys, *PERIOD, "--lang", "zh")
    assert code == 0
    assert out.splitlines()[0] == "服务台报表，2026年11月9日 至 2026年11月22日"
    assert "自助解决" in out and "30%（10 个中的 3 个）" in out


def test_chart_file_is_a_png_of_the_expected_size_with_content(
    seeded: Desk, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    chart = tmp_path / "trend.png"
    code, _, err = report(capsys, *PERIOD, "--format", "json", "--chart", str(chart))
    assert code == 0 and str(chart) in err
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(chart) as image:
        assert image.size == (1000, 900)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # bars, lines, text: not a blank page
    # The seeded weeks have requests: the volume panel's bars use their colour.
    assert any(rgb == (0x4C, 0x72, 0xB0) for _, rgb in colours)


def test_a_bad_period_is_a_friendly_error(seeded: Desk, capsys: pytest.CaptureFixture[str]):
    code, out, err = report(capsys, "--since", "last tuesday")
    assert code == 2 and out == ""
    assert "--since 'last tuesday' is neither a duration" in err
    code, _, err = report(capsys, "--since", "2026-11-23", "--until", "2026-11-09")
    assert code == 2 and "the period is empty" in err
