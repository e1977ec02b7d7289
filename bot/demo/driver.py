"""Plays Slack's side of HTTP: signed slash commands, events and interactivity sent to the app.

Requests are signed exactly as Slack signs them (v0 HMAC-SHA256 over `v0:timestamp:body`) and
posted to the app's real `/slack/events` endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.demo.fakeslack import TEAM_ID

PAYLOADS = Path(__file__).parent / "payloads"
_ids = itertools.count(1)


def load_payload(name: str) -> dict[str, Any]:
    """A recorded Slack payload (bot/payloads), as Slack sends it."""
    loaded: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return loaded


def signature(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


class SlackDriver:
    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        team_id: str = TEAM_ID,
        *,
        response_url: str | None = None,
        then: Callable[[], object] | None = None,
    ) -> None:
        """`then` runs after every answer: the worker's part (capturing queued messages) done at
        once, where a test or the demo wants to look at its result without waiting for a worker."""
        self.then = then
        self.base_url = base_url.rstrip("/")
        self.response_url = response_url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    def close(self) -> None:
        self.http.close()

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(secret or self.signing_secret, ts, body),
            **(extra_headers or {}),
        }
        response = self.http.post("/slack/events", content=body.encode(), headers=headers)
        if self.then is not None:
            self.then()
        return response

    def command_body(self, text: str, *, user: str = "U0ANA0001", channel: str = "C0GENERAL1") -> str:
        form = load_payload("slash_command.json")
        form.update(
            text=text,
            user_id=user,
            channel_id=channel,
            team_id=self.team_id,
            trigger_id=f"{next(_ids)}.1.abc",
        )
        if self.response_url:
            form["response_url"] = self.response_url
        return urlencode(form)

    def command(self, text: str, **kwargs: Any) -> httpx.Response:
        """Run `/shelf text` as `user` and return the app's HTTP response (the ack)."""
        signing = {k: kwargs.pop(k) for k in ("timestamp", "secret") if k in kwargs}
        return self.post(self.command_body(text, **kwargs), "application/x-www-form-urlencoded", **signing)

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        envelope = load_payload("event_callback.json")
        envelope.update(
            team_id=self.team_id,
            event=event,
            event_id=event_id or f"Ev{next(_ids):08d}",
            event_time=int(time.time()),
        )
        envelope["authorizations"][0]["team_id"] = self.team_id
        return json.dumps(envelope)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None, **signing: Any
    ) -> httpx.Response:
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        body = self.event_body(event, event_id=event_id)
        return self.post(body, "application/json", extra_headers=headers, **signing)

    def interact(self, payload: dict[str, Any], **signing: Any) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **signing)

    def press(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ANA0001",
        channel: str = "C0GENERAL1",
        message_ts: str = "1764237600.000100",
        block_id: str = "b",
        blocks: list[dict[str, Any]] | None = None,
    ) -> httpx.Response:
        """A button press (block_actions), as Slack sends it (with the message's `blocks`, if given)."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0PEERSHELF",
            "token": "XXYYZZ",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": f"{next(_ids)}.1.trig",
            "team": {"id": self.team_id, "domain": "acme-learning"},
            "channel": {"id": channel, "name": "directmessage"},
            "message": {"type": "message", "ts": message_ts, "text": "", **({"blocks": blocks} if blocks else {})},
            "response_url": self.response_url or "https://hooks.slack.com/actions/T/1/x",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "type": "button",
                    "action_ts": "1764240000.1",
                }
            ],
        }
        return self.interact(payload)

    def submit(self, view: dict[str, Any], values: dict[str, Any], *, user: str = "U0ANA0001") -> httpx.Response:
        """Submit a modal the app opened (view_submission), with the given state values."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "acme-learning"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0PEERSHELF",
            "token": "XXYYZZ",
            "trigger_id": f"{next(_ids)}.1.trig",
            "view": {**view, "id": "V0MODAL001", "team_id": self.team_id, "state": {"values": values}},
        }
        return self.interact(payload)
