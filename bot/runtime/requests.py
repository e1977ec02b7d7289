"""Requests from Slack as Bolt should read them.

slack_bolt 1.30's `parse_body` takes any form body that contains the text "payload" for an
interactivity payload, and returns {} when it has no `payload=` field. A slash command whose text
or channel name says "payload" (`/shelf search payload validation`, a #payload-team channel) was
therefore dispatched as nothing and answered with an empty 200: dropped in silence. `SlackRequest`
reads such a body as the form it is. It survives Bolt's copies for lazy listeners
(`to_copyable`), which would otherwise parse the raw body the broken way again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltContext, BoltRequest
from slack_bolt.request.internals import build_context


class SlackRequest(BoltRequest):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.mode != "http" or self.body or not self.raw_body or self.raw_body.lstrip().startswith("{"):
            return
        form = dict(parse_qsl(self.raw_body, keep_blank_values=True))
        if form and "payload" not in form:
            self.body = form
            self.context = build_context(BoltContext(kwargs.get("context") or {}), form)

    def to_copyable(self) -> SlackRequest:
        return SlackRequest(
            body=self.raw_body if self.mode == "http" else self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )
