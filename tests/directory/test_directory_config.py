"""config.yaml's `directory:` section: bad values are told with their key and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.base.config import DirectorySettings, load_settings
from bot.base.yamlfile import ProblemsError
from tests.configs import config_file

LDAP = {"url": "ldap://ldap.example.org", "people": "ou=people,dc=example,dc=org"}
SCIM = {"token": "a-long-enough-token-123"}


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
        ({"sources": ["ldap", "csv"]}, "directory: source is ldap but there is no directory.ldap"),
        ({"sources": ["csv", "okta"]}, "directory: sources: 'okta' is not one of csv, ldap, scim"),
        ({"sources": ["csv", "csv"]}, "directory: sources: a source is named twice"),
        ({"sources": []}, "directory: sources: name at least one source"),
        ({"source": "csv", "sources": ["csv"]}, "directory: give either source or sources"),
        (
            {"ldap": LDAP, "sources": ["ldap", "csv"], "members": ["scim"]},
            "directory: members: 'scim' is not one of the sources",
        ),
        (
            {"ldap": LDAP, "sources": ["ldap", "csv"], "precedence": {"phone": "csv"}},
            "directory: precedence: 'phone' is not a people field",
        ),
        (
            {"ldap": LDAP, "sources": ["ldap"], "precedence": {"telegram_id": "csv"}},
            "directory: precedence.telegram_id: 'csv' is not one of the sources",
        ),
        ({"every": "10s"}, "directory: every: sync at most once a minute"),
        ({"source": "scim"}, "directory: source is scim but there is no directory.scim section"),
        ({"scim": {}}, "directory.scim.token: required field is missing"),
        ({"scim": {"token": "short"}}, "directory.scim: token: set a bearer token of at least 16"),
        ({"scim": {**SCIM, "listen": "8090"}}, "directory.scim.listen: '8090' is not HOST:PORT"),
        (
            {"scim": {**SCIM, "person_id": "mail"}},
            "directory.scim.person_id: Input should be",
        ),
        (
            {"scim": {**SCIM, "timezones": {"Mars": "Olympus/Mons"}}},
            "directory.scim: timezones.Mars: unknown",
        ),
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


def test_the_short_form_and_the_long_form_say_the_same() -> None:
    short = DirectorySettings.model_validate({"ldap": LDAP})
    assert (short.sources, short.members, short.source) == (["ldap", "csv"], ["ldap"], "ldap")
    long = DirectorySettings.model_validate(
        {"ldap": LDAP, "sources": ["csv", "ldap"], "precedence": {"roles": "ldap"}}
    )
    assert (long.members, long.source, long.from_sync) == (["csv"], "csv", True)
    # roles: role and queues from LDAP first; every other field in the sources' order.
    assert long.order_for("queues") == ["ldap", "csv"] == long.order_for("role")
    assert long.order_for("title") == ["csv", "ldap"]
    assert DirectorySettings.model_validate({}).from_sync is False


def test_scim_has_the_short_form_and_the_long_form_too() -> None:
    short = DirectorySettings.model_validate({"source": "scim", "scim": SCIM})
    assert (short.sources, short.members, short.source) == (["scim", "csv"], ["scim"], "scim")
    long = DirectorySettings.model_validate(
        {"scim": SCIM, "sources": ["scim", "csv"], "precedence": {"title": "csv"}}
    )
    assert (long.members, long.from_sync) == (["scim"], True)
    assert long.order_for("title") == ["csv", "scim"]
    assert long.order_for("email") == ["scim", "csv"]


def test_a_scim_section_makes_scim_the_source_and_its_token_comes_from_the_environment(
    tmp_path: Path,
) -> None:
    path = config_file(tmp_path, {"directory": {"scim": {"token": "${DESKBOT_SCIM_TOKEN}"}}})
    settings = load_settings(path, {"DESKBOT_SCIM_TOKEN": "s" * 32})
    assert settings.directory.source == "scim"
    assert settings.directory.scim is not None
    assert settings.directory.scim.token == "s" * 32
    assert settings.directory.scim.listen == ("127.0.0.1", 8090)
    assert "s" * 32 not in repr(settings)  # never printed with the settings
    # Unset in the environment: refused, not served without a token.
    with pytest.raises(ProblemsError) as told:
        load_settings(path, {})
    assert "token" in str(told.value)
    # With an ldap section too, ldap stays the source; the endpoint can be set up first.
    both = config_file(tmp_path, {"directory": {"ldap": LDAP, "scim": SCIM}})
    assert load_settings(both, {}).directory.source == "ldap"
