"""The app manifest is valid for Slack and asks for exactly what the adapter uses."""

from __future__ import annotations

import json

import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev extra
import pytest

from bot.adapters.slack.channel import COMMAND
from bot.adapters.slack.manifest import main, manifest
from tests.slack.fake_slack import SPECS

SCHEMA = json.loads((SPECS / "manifest.schema.1.0.0.json").read_text(encoding="utf-8"))
EVENTS = json.loads((SPECS / "slack_events_api_async_v1.json").read_text(encoding="utf-8"))
URL = "https://desk.example.com/slack/events"


@pytest.mark.parametrize("url", [None, URL], ids=["socket", "http"])
def test_manifest_validates_against_slacks_schema(url):
    jsonschema.validate(manifest(url), SCHEMA)


def test_schema_is_really_checked():
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "desk"  # no leading slash
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_http_variant_points_every_entry_at_the_request_url():
    data = manifest(URL)
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["settings"]["event_subscriptions"]["request_url"] == URL
    assert data["settings"]["interactivity"]["request_url"] == URL
    assert [c["url"] for c in data["features"]["slash_commands"]] == [URL]
    assert "request_url" not in json.dumps(manifest()["settings"])  # socket mode has none


def test_every_event_has_its_scope_and_the_command_is_ours():
    data = manifest()
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    for event in data["settings"]["event_subscriptions"]["bot_events"]:
        topic = EVENTS["topics"].get(event.replace("_", "."), {})
        needed = topic.get("subscribe", {}).get("x-scopes-required", [])
        assert set(needed) <= scopes, f"{event} needs {needed}"
    assert {"chat:write", "commands", "users:read.email", "im:write"} <= scopes
    # Files people share are downloaded, and a ticket's files uploaded again.
    assert {"files:read", "files:write"} <= scopes
    assert [c["command"] for c in data["features"]["slash_commands"]] == [COMMAND]
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True


def test_manifest_printer(capsys):
    assert main(["--url", URL]) == 0
    assert json.loads(capsys.readouterr().out) == manifest(URL)
