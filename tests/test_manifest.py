"""manifest.yml declares what the app handles, and nothing the app does not ask for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.runtime.app import BOT_SCOPES
from handlers.shortcuts import SHORTCUTS

MANIFEST: dict[str, Any] = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())


def test_manifest_scopes_match_what_oauth_installs_ask_for() -> None:
    assert MANIFEST["oauth_config"]["scopes"]["bot"] == BOT_SCOPES


def test_manifest_declares_the_shelf_command_with_escaped_mentions() -> None:
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/shelf"
    assert command["should_escape"] is True


def test_manifest_shortcuts_are_the_ones_the_app_answers() -> None:
    declared = {s["callback_id"]: s["name"] for s in MANIFEST["features"]["shortcuts"]}
    assert declared == SHORTCUTS
    assert all(s["type"] == "message" for s in MANIFEST["features"]["shortcuts"])


def test_manifest_enables_home_tab_interactivity_and_needed_events() -> None:
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "message.channels", "message.groups", "reaction_added"} <= events
    assert len(MANIFEST["display_information"]["long_description"]) >= 175  # Slack refuses shorter ones
