"""Journey step data for configuration items: `ci:` on a choice, `ci: true` on a question,
`cis:` on a ticket step. Validated with the catalog (`deskbot check`), file, line and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from tests.configs import config_file

ROOT = Path(__file__).resolve().parents[2]

SERVICE = """\
id: wifi_check
type: incident
title: {en: Wi-Fi check, zh: Wi-Fi 检查}
description: {en: A test service., zh: 测试服务。}
queue: network
steps:
  - id: where
    type: choose
    prompt: {en: Which network?, zh: 哪个网络？}
    options:
      - value: office
        ci: wifi-office
        label: {en: Office, zh: 办公室}
      - value: lab
        ci: lab-wifi
        label: {en: Lab, zh: 实验室}
  - id: how_many
    type: ask
    ci: true
    prompt: {en: How many?, zh: 多少？}
    validate: {kind: number}
  - id: submit
    type: ticket
    cis: [wifi-office, coffee-machine]
    summary: "Wi-Fi"
match:
  examples:
    en: [wifi check, wifi test, check the wifi, wifi broken, wifi down, no wifi, wifi slow]
    zh: [无线检查, 无线测试, 检查无线, 无线坏了, 无线断了, 没有无线]
"""


def test_check_names_each_unknown_item_and_a_ci_question_that_is_not_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = tmp_path / "services"
    shutil.copytree(ROOT / "catalog" / "services", services)
    bad = services / "wifi_check.yaml"
    bad.write_text(SERVICE, encoding="utf-8")
    config = config_file(tmp_path, {"paths": {"services": str(services)}})
    assert main(["--config", str(config), "check"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:15: steps[0].options[1].ci: no configuration item 'lab-wifi' in cis.yaml" in err
    assert f"{bad}:19: steps[1].ci: ci: true needs a text answer, not number" in err
    assert f"{bad}:24: steps[2].cis[1]: no configuration item 'coffee-machine' in cis.yaml" in err
    assert "wifi-office" not in err
    assert "deskbot: 3 problems found" in err

    # With a text question and items that exist, the same service passes.
    fixed = SERVICE.replace("validate: {kind: number}", "validate: {kind: text}")
    fixed = fixed.replace("lab-wifi", "wifi-guest").replace("coffee-machine", "mail")
    bad.write_text(fixed, encoding="utf-8")
    assert main(["--config", str(config), "check"]) == 0
