"""Slack front end on slack-bolt: the only package that imports slack_bolt and slack_sdk."""

from bot.adapters.slack.channel import SlackChannel, build

__all__ = ["SlackChannel", "build"]
