"""directory/cis.yaml: the demo file loads, lookups work, and every kind of mistake is told
with its file, line and field (and all of them at once)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.config import Settings
from bot.base.yamlfile import ProblemsError
from bot.cis import Cmdb, load_cmdb
from bot.cli import main
from bot.content import load_content
from bot.directory import Asset, Directory, load_directory
from tests.configs import config_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="module")
def directory(settings: Settings) -> Directory:
    return load_directory(settings)


@pytest.fixture(scope="module")
def cmdb() -> Cmdb:
    return load_content(load_config(ROOT / "config.yaml")).cis


def with_cis(settings: Settings, path: Path) -> Settings:
    return settings.model_copy(
        update={"paths": settings.paths.model_copy(update={"cis": str(path)})}
    )


def load(tmp_path: Path, settings: Settings, directory: Directory, text: str) -> Cmdb:
    path = tmp_path / "cis.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_cmdb(with_cis(settings, path), directory, {"vpn_issue", "email_issue"})


def problems(tmp_path: Path, settings: Settings, directory: Directory, text: str) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        load(tmp_path, settings, directory, text)
    return [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]


def test_the_demo_items_and_the_assets_load(cmdb: Cmdb) -> None:
    vpn = cmdb.get("vpn-gateway")
    assert vpn is not None and vpn.owner == "alex" and vpn.kind == "system"
    assert vpn.name("zh") == "VPN 网关" and vpn.name("en") == "VPN gateway"
    # Assets are devices: the tag in lower case, owned by the asset's owner.
    laptop = cmdb.get("lt-0101")
    assert laptop is not None and laptop.kind == "device" and laptop.owner == "alice"
    assert "Dell Latitude 7420" in laptop.name("en")
    assert {d.id for d in cmdb.devices_of("alice")} == {"lt-0101", "mb-0201"}
    assert "hardware_issue" in laptop.services  # from `devices: laptop:` in cis.yaml
    assert "lt-0101" in {i.id for i in cmdb.for_service("hardware_issue")}


def test_find_by_id_name_or_alias_without_case_or_spaces(cmdb: Cmdb) -> None:
    assert cmdb.find("VPN-Gateway") is cmdb.get("vpn-gateway")
    assert cmdb.find("vpn gateway") is cmdb.get("vpn-gateway")
    assert cmdb.find("AnyConnect") is cmdb.get("vpn-gateway")
    assert cmdb.find("J盘") is cmdb.get("file-server")  # the alias is written "J 盘"
    assert cmdb.find("j drive") is cmdb.get("file-server")
    assert cmdb.find("LT-0101") is cmdb.get("lt-0101")
    assert cmdb.find("人事系统") is cmdb.get("workday")
    assert cmdb.find("coffee machine") is None


def test_used_by_is_direct_and_dependents_are_transitive(cmdb: Cmdb) -> None:
    direct = {i.id for i in cmdb.used_by("print-server")}
    assert direct == {"printer-ldn-3f", "printer-sha-12f"}
    everything = {i.id for i in cmdb.dependents("ldap")}
    # The printers stand on the print server, which stands on LDAP.
    assert {"print-server", "printer-ldn-3f", "vpn-gateway", "mail", "sso"} <= everything
    assert "ldap" not in everything and "dc1-cluster" not in everything
    order = [i.id for i in cmdb.dependents("ldap")]
    assert order.index("print-server") < order.index("printer-ldn-3f")  # nearest first


def test_each_mistake_names_file_line_and_field(
    tmp_path: Path, settings: Settings, directory: Directory
) -> None:
    found = problems(
        tmp_path,
        settings,
        directory,
        """\
        items:
          - id: vpn-gateway
            name: {en: VPN gateway, zh: VPN 网关}
            kind: system
            owner: nobody
            services: [vpn_issue, coffee]
            depends_on: [ldap]
          - id: Mail Server
            name: {en: Mail}
            kind: gadget
            colour: blue
          - id: vpn-gateway
            name: {en: Again, zh: 又一个}
            kind: system
          - id: printer
            name: {en: Printer, zh: 打印机}
            kind: device
            aliases: [VPN Gateway]
          - id: lt-0101
            name: {en: Alice's laptop, zh: 笔记本}
            kind: device
        """,
    )
    assert "cis.yaml:5: items[0].owner: 'nobody' is not a person in the directory" in found
    assert "cis.yaml:6: items[0].services[1]: 'coffee' is not a service in the catalog" in found
    assert (
        "cis.yaml:7: items[0].depends_on[0]: 'ldap' is not an item in cis.yaml or assets.csv"
        in found
    )
    assert any(
        p.startswith("cis.yaml:8: items[1].id: 'Mail Server' is not an item id") for p in found
    )
    assert "cis.yaml:9: items[1].name.zh: the zh name is missing" in found
    assert "cis.yaml:10: items[1].kind: 'gadget' is not one of service, system, device" in found
    assert any(p.startswith("cis.yaml:11: items[1].colour: unknown field") for p in found)
    assert "cis.yaml:12: items[2].id: 'vpn-gateway' appears twice (first on line 2)" in found
    assert (
        "cis.yaml:18: items[3].aliases[0]: 'VPN Gateway' also names the item 'vpn-gateway' "
        "(line 2)" in found
    )
    assert any("assets.csv: asset_tag: 'LT-0101' is also the id of an item" in p for p in found)
    assert len(found) == 10, found


def test_circles_of_relations_are_refused(
    tmp_path: Path, settings: Settings, directory: Directory
) -> None:
    found = problems(
        tmp_path,
        settings,
        directory,
        """\
        items:
          - id: a
            name: {en: A, zh: 甲}
            kind: system
            depends_on: [b]
          - id: b
            name: {en: B, zh: 乙}
            kind: system
            runs_on: [c]
          - id: c
            name: {en: C, zh: 丙}
            kind: system
            depends_on: [a]
          - id: d
            name: {en: D, zh: 丁}
            kind: system
            depends_on: [d]
        """,
    )
    assert found == [
        "cis.yaml:17: items[3].depends_on[0]: 'd' is this item: nothing stands on itself",
        "cis.yaml:5: items[0].depends_on: items stand on each other in a circle: a -> b -> c -> a",
    ]


def test_an_asset_out_of_use_is_an_item_but_not_a_current_device(
    tmp_path: Path, settings: Settings, directory: Directory
) -> None:
    old = Asset("LT-0099", "alice", "laptop", "Old ThinkPad", None, "retired")
    cmdb = load_cmdb(
        with_cis(settings, ROOT / "directory" / "cis.yaml"),
        replace(directory, assets=[*directory.assets, old]),
    )
    retired = cmdb.get("lt-0099")
    assert retired is not None and not retired.active and retired.owner == "alice"
    assert "lt-0099" in {d.id for d in cmdb.devices_of("alice")}
    assert {d.id for d in cmdb.devices_of("alice", active_only=True)} == {"lt-0101", "mb-0201"}


def test_a_missing_file_means_only_the_assets(
    tmp_path: Path, settings: Settings, directory: Directory
) -> None:
    cmdb = load_cmdb(with_cis(settings, tmp_path / "none.yaml"), directory)
    assert {i.kind for i in cmdb} == {"device"}
    assert len(cmdb) == len(directory.assets)


def test_bad_yaml_and_wrong_shapes_are_told(
    tmp_path: Path, settings: Settings, directory: Directory
) -> None:
    assert problems(tmp_path, settings, directory, "items: [a\n")[0].startswith(
        "cis.yaml:2: invalid YAML"
    )
    assert problems(tmp_path, settings, directory, "items: {a: 1}\nthings: 2\n") == [
        "cis.yaml:2: things: unknown field (expected items or devices)",
        "cis.yaml:1: items: expected a list of items",
    ]


def test_deskbot_check_reports_cis_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "cis.yaml"
    bad.write_text(
        "items:\n  - id: vpn\n    name: {en: VPN, zh: VPN}\n    kind: system\n    owner: ghost\n"
    )
    config = config_file(tmp_path, {"paths": {"cis": str(bad)}})
    assert main(["--config", str(config), "check"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5: items[0].owner: 'ghost' is not a person in the directory" in err
    # A service the catalog lacks is told by check (loading a trimmed catalog allows it).
    shipped = (ROOT / "directory" / "cis.yaml").read_text(encoding="utf-8")
    bad.write_text(shipped.replace("[vpn_issue]", "[vpn_isue]"), encoding="utf-8")
    assert main(["--config", str(config), "check"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"error: {bad}:58: items[4].services[0]: 'vpn_isue' is not a service in the catalog",
        "deskbot: 1 problem found; nothing was started.",
    ]
    good = config_file(tmp_path)
    assert main(["--config", str(good), "check"]) == 0
    assert "27 configuration items" in capsys.readouterr().out
