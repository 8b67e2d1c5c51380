"""The Slack app manifest (manifest.yaml, Socket Mode) and its HTTP-mode variant."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).with_name("manifest.yaml")


def manifest(request_url: str | None = None) -> dict[str, Any]:
    """The manifest; with `request_url`, for HTTP mode (events, interactivity and /desk)."""
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    if request_url:
        settings = data["settings"]
        settings["socket_mode_enabled"] = False
        settings["event_subscriptions"]["request_url"] = request_url
        settings["interactivity"]["request_url"] = request_url
        for command in data["features"]["slash_commands"]:
            command["url"] = request_url
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print deskbot's Slack app manifest as JSON.")
    parser.add_argument("--url", help="public HTTPS URL of channels.slack.http.path (HTTP mode)")
    args = parser.parse_args(argv)
    json.dump(manifest(args.url), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
