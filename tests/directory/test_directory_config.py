"""config.yaml's `directory:` section: bad values are told with their key and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.base.config import load_settings
from bot.base.yamlfile import ProblemsError
from tests.configs import config_file

LDAP = {"url": "ldap://ldap.example.org", "people": "ou=people,dc=example,dc=org"}


def _problems(tmp_path: Path, directory: dict[str, Any]) -> list[str]:
    path = config_file(tmp_path, {"directory": directory})
    try:
        load_settings(path, {})
    except ProblemsError as exc:
        return [f"{p.field}: {p.message}" for p in exc.problems]
    return []


@pytest.mark.parametrize(
    ("directory", "told"),
    [
        ({"source": "ldap"}, "directory: source is ldap but there is no directory.ldap section"),
        ({"ldap": {**LDAP, "url": "http://x"}}, "directory.ldap: url: 'http://x' is not ldap://"),
        (
            {"ldap": {**LDAP, "url": "ldaps://x", "start_tls": True}},
            "directory.ldap: start_tls is for ldap://",
        ),
        (
            {"ldap": {**LDAP, "attributes": {"mobile": "m"}}},
            "directory.ldap: attributes: 'mobile' is not",
        ),
        (
            {"ldap": {**LDAP, "timezones": {"Mars": "Olympus/Mons"}}},
            "directory.ldap: timezones.Mars: unknown",
        ),
        ({"ldap": {**LDAP, "page_size": 0}}, "directory.ldap.page_size: Input should be"),
        ({"ldap": {**LDAP, "preset": "openldap"}}, "directory.ldap.preset: Input should be"),
        ({"max_deactivate": 1.5}, "directory.max_deactivate: Input should be less than or"),
    ],
)
def test_a_bad_directory_setting_names_its_key(
    tmp_path: Path, directory: dict[str, Any], told: str
) -> None:
    problems = _problems(tmp_path, directory)
    assert len(problems) == 1 and problems[0].startswith(told), problems


def test_an_ldap_section_makes_ldap_the_source_unless_csv_is_asked_for(tmp_path: Path) -> None:
    assert _problems(tmp_path, {"ldap": LDAP}) == []
    settings = load_settings(config_file(tmp_path, {"directory": {"ldap": LDAP}}), {})
    assert settings.directory.source == "ldap"
    kept = {"source": "csv", "ldap": LDAP}
    assert load_settings(config_file(tmp_path, {"directory": kept}), {}).directory.source == "csv"
    assert load_settings(config_file(tmp_path), {}).directory.source == "csv"
