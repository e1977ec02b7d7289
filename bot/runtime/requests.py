"""Requests from Slack as Bolt should read them.

slack_bolt 1.30's `parse_body` takes any form body that contains the text "payload" for an
interactivity payload, and returns {} when it has no `payload=` field. A slash command whose text
or channel name says "payload" (`/shelf search payload validation`, a #payload-team channel) was
therefore dispatched as nothing and answered with an empty 200: dropped in silence. `SlackRequest`
reads such a body as the form it is. It survives Bolt's copies for lazy listeners
(`to_copyable`), which would otherwise parse the raw body the broken way again.

It also drops NUL characters and lone surrogates from every string Slack sends (JSON may carry
them as \u0000 and \ud800): PostgreSQL refuses NUL in text and no database stores half a
surrogate pair, and neither means anything to a reader.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltContext, BoltRequest
from slack_bolt.request.internals import build_context

_ODD = re.compile("[\x00\ud800-\udfff]")


def _readable(value: Any) -> Any:
    """`value` with NULs and lone surrogates dropped from every string in it."""
    if isinstance(value, str):
        return _ODD.sub("", value) if _ODD.search(value) else value
    if isinstance(value, dict):
        return {_readable(k): _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    return value


class SlackRequest(BoltRequest):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        body = self.body
        if self.mode == "http" and not body and self.raw_body and not self.raw_body.lstrip().startswith("{"):
            form = dict(parse_qsl(self.raw_body, keep_blank_values=True))
            if form and "payload" not in form:
                body = form
        if isinstance(body, dict | list):
            body = _readable(body)
        if body is not self.body:
            self.body = body
            self.context = build_context(BoltContext(kwargs.get("context") or {}), body)

    def to_copyable(self) -> SlackRequest:
        return SlackRequest(
            body=self.raw_body if self.mode == "http" else self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )
