"""A fake Slack Web API: a local HTTP server that records every call and answers like Slack.

The test suite and `peershelf demo` run the real app against it. Only the boundary is faked: the
app talks to it over real HTTP through slack-sdk (SLACK_API_URL), so retries, rate-limit handling
and payload encoding are exercised as in production.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TEAM_ID = "T0PEERS01"
TEAM_NAME = "Acme Learning"
BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
BOT_TOKEN = "xoxb-1111-2222-fake"
APP_TOKEN = "xapp-1-A0PEERSHELF-3333-fake"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float


@dataclass
class Failure:
    status: int
    retry_after: int | None
    error: str | None
    times: int


@dataclass
class FakeSlack:
    """State of the fake workspace(s); start with `start()`, read `calls`."""

    tokens: dict[str, str] = field(default_factory=lambda: {BOT_TOKEN: TEAM_ID, APP_TOKEN: TEAM_ID})
    teams: dict[str, str] = field(default_factory=lambda: {TEAM_ID: TEAM_NAME})
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages
    not_in: set[str] = field(default_factory=set)  # channels the bot is not a member of
    members: dict[str, list[str]] = field(default_factory=dict)  # channel -> the people in it
    users_page: int = 200  # users.list returns at most this many members a page, whatever `limit` asks
    answering: threading.Event = field(default_factory=threading.Event)  # cleared by hold(): calls wait
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- set-up -------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        fake = self
        self.answering.set()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                fake._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    @property
    def response_url(self) -> str:
        """Where slash-command and interactivity responses go (Slack's hooks.slack.com, here)."""
        return self.api_url.replace("/api/", "/commands/T0PEERS01/1234567890/ZbKqA9yWz9x0iBXlTvAaGhC")

    def responses(self) -> list[Call]:
        """Messages posted to a response_url (`respond()` in Bolt)."""
        return self.calls_to("response_url")

    def add_user(
        self, user_id: str, name: str, *, tz: str = "Europe/Berlin", is_bot: bool = False, is_admin: bool = False
    ) -> None:
        self.users[user_id] = {
            "is_admin": is_admin,
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name.lower(),
            "real_name": name,
            "tz": tz,
            "tz_label": tz,
            "is_bot": is_bot,
            "deleted": False,
            "profile": {"real_name": name, "display_name": name},
        }

    def add_channel(
        self, channel_id: str, name: str, *, private: bool = False, purpose: str = "", member: bool = True
    ) -> None:
        """A conversation; `member`: the bot is in it (users.conversations lists it)."""
        self.channels[channel_id] = {
            "is_member": member,
            "is_archived": False,
            "id": channel_id,
            "name": name,
            "is_channel": not private,
            "is_group": private,
            "is_im": False,
            "is_mpim": False,
            "is_private": private,
            "purpose": {"value": purpose},
            "topic": {"value": ""},
        }

    def add_message(self, channel_id: str, message: dict[str, Any]) -> None:
        """A message already in a conversation, for conversations.history / .replies to return."""
        self.messages.setdefault(channel_id, []).append(message)

    def add_oauth_code(self, code: str, *, team_id: str, team_name: str, bot_token: str) -> None:
        """Make `code` exchangeable at oauth.v2.access for a bot install in `team_id`."""
        self.oauth_codes[code] = {"team_id": team_id, "team_name": team_name, "bot_token": bot_token}

    def fail(self, method: str, *, status: int = 429, retry_after: int | None = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an HTTP error (429 with Retry-After, or 5xx)."""
        self.failures.setdefault(method, []).append(Failure(status, retry_after, None, times))

    def hold(self) -> None:
        """Keep every call waiting (recorded, unanswered) until `release()`: a request the app
        answers while Slack is held was answered without waiting for Slack."""
        self.answering.clear()

    def release(self) -> None:
        self.answering.set()

    def fail_with(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        self.failures.setdefault(method, []).append(Failure(200, None, error, times))

    # -- reading what happened ----------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- the server -----------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path.startswith("/api/"):
            method = path.removeprefix("/api/")
        else:
            method = "file_upload" if path.startswith("/upload/") else "response_url"
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8") if length else ""
        params = (
            {"file_id": path.rsplit("/", 1)[-1], "content": raw}
            if method == "file_upload"
            else self._params(request, raw)
        )
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.pop("token", None)
        with self._lock:
            self.calls.append(Call(method, params, token, time.monotonic()))
            failure = self._next_failure(method)
        self.answering.wait(timeout=30)
        if failure is not None and failure.error is None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            self._send(request, failure.status, {"ok": False, "error": "ratelimited"}, headers)
            return
        if failure is not None:
            self._send(request, 200, {"ok": False, "error": failure.error})
            return
        self._send(request, 200, self._answer(method, params, token))

    @staticmethod
    def _params(request: BaseHTTPRequestHandler, raw: str) -> dict[str, Any]:
        content_type = request.headers.get("Content-Type", "")
        if "application/json" in content_type and raw:
            loaded = json.loads(raw)
            return dict(loaded) if isinstance(loaded, dict) else {}
        query = request.path.split("?", 1)[1] if "?" in request.path else ""
        merged = {k: v[-1] for k, v in parse_qs(query).items()}
        merged.update({k: v[-1] for k, v in parse_qs(raw).items()})
        for key in ("blocks", "view", "attachments"):
            if isinstance(merged.get(key), str):
                with contextlib.suppress(ValueError):
                    merged[key] = json.loads(merged[key])
        return merged

    def _next_failure(self, method: str) -> Failure | None:
        queue = self.failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method in ("response_url", "file_upload"):
            return {"ok": True}
        if method == "oauth.v2.access":
            return self._oauth_access(params)
        team_id = self.tokens.get(token or "")
        if team_id is None:
            return {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = answer(params, team_id)
        return result

    # -- methods ----------------------------------------------------------------------------------
    def _auth_test(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme-learning.slack.com/",
            "team": self.teams.get(team_id, team_id),
            "user": "peershelf",
            "team_id": team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:  # noqa: N802
        channel = str(params.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        # Posting to a user ID lands in the app's DM with that user.
        conversation = "D" + channel[1:] if channel.startswith("U") else channel
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": params.get("text", ""), "ts": ts}
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        return {"ok": True, "channel": conversation, "ts": ts, "message": message}

    def _chat_postEphemeral(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:  # noqa: N802
        channel = str(params.get("channel", ""))
        if channel in self.not_in:
            return {"ok": False, "error": "not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text", "")}

    def _views_publish(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "V" + self._next_ts().replace(".", ""), **(params.get("view") or {})}}

    _views_open = _views_publish
    _views_update = _views_publish

    def _users_info(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _users_list(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        members = sorted((u for u in self.users.values() if u["team_id"] == team_id), key=lambda u: str(u["id"]))
        start = int(params.get("cursor") or 0)
        size = min(int(params.get("limit") or 200), self.users_page)
        next_cursor = str(start + size) if start + size < len(members) else ""
        return {"ok": True, "members": members[start : start + size], "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel")))
        return {"ok": True, "channel": channel} if channel else {"ok": False, "error": "channel_not_found"}

    def _apps_connections_open(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        # Nothing listens there: enough to see the app choose Socket Mode with its app token.
        return {"ok": True, "url": "ws://127.0.0.1:9/link/?ticket=fake"}

    @staticmethod
    def _page(found: list[dict[str, Any]], params: dict[str, Any], default: int = 100) -> dict[str, Any]:
        """One page of `found`, as Slack pages: `limit` at a time, `response_metadata.next_cursor`."""
        start = int(str(params.get("cursor") or "offset:0").split(":", 1)[1])
        limit = int(params.get("limit") or default)
        page, more = found[start : start + limit], start + limit < len(found)
        cursor = f"offset:{start + limit}" if more else ""
        return {"ok": True, "messages": page, "has_more": more, "response_metadata": {"next_cursor": cursor}}

    def _conversations_history(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        channel = str(params.get("channel"))
        if channel not in self.channels and not channel.startswith("D") and channel not in self.messages:
            return {"ok": False, "error": "channel_not_found"}
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        latest, oldest = params.get("latest"), params.get("oldest")

        def within(ts: str) -> bool:
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                return False
            return not (oldest is not None and (ts < oldest or (ts == oldest and not inclusive)))

        top_level = [
            m for m in self.messages.get(channel, []) if m.get("thread_ts") in (None, m["ts"]) and within(m["ts"])
        ]
        top_level.sort(key=lambda m: m["ts"], reverse=True)
        replies: dict[str, int] = {}  # a thread's parent says how many replies it has
        for m in self.messages.get(channel, []):
            if m.get("thread_ts") not in (None, m["ts"]):
                replies[m["thread_ts"]] = replies.get(m["thread_ts"], 0) + 1
        for message in top_level:
            if message["ts"] in replies:
                message["reply_count"] = replies[message["ts"]]
        return self._page(top_level, params)

    def _conversations_replies(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        channel, ts = str(params.get("channel")), str(params.get("ts"))
        found = next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)
        if found is None:
            return {"ok": False, "error": "thread_not_found"}
        root = found.get("thread_ts") or found["ts"]
        thread = [m for m in self.messages[channel] if m["ts"] == root or m.get("thread_ts") == root]
        thread.sort(key=lambda m: m["ts"])
        parent, replies = thread[0], thread[1:]
        latest, oldest = params.get("latest"), params.get("oldest")
        replies = [
            m for m in replies if (latest is None or m["ts"] <= latest) and (oldest is None or m["ts"] >= oldest)
        ]
        return self._page([parent, *replies], params, default=1000)

    def _users_conversations(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        types = str(params.get("types") or "public_channel").split(",")
        wanted = [
            c for c in self.channels.values()
            if c.get("is_member") and not c.get("is_archived")
            and (("private_channel" in types) if c["is_private"] else ("public_channel" in types))
        ]  # fmt: skip
        page = self._page(wanted, params)
        return {"ok": True, "channels": page["messages"], "response_metadata": page["response_metadata"]}

    def _conversations_open(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        users = str(params.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + users[1:], "is_im": True}}

    def _files_getUploadURLExternal(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:  # noqa: N802
        file_id = "F" + self._next_ts().replace(".", "")[-10:]
        return {"ok": True, "upload_url": self.api_url.replace("/api/", f"/upload/{file_id}"), "file_id": file_id}

    def _files_completeUploadExternal(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:  # noqa: N802
        files = params.get("files")
        listed = json.loads(files) if isinstance(files, str) else files or []
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in listed]}

    def uploads(self) -> list[bytes]:
        """What was uploaded with files.uploadV2, in order."""
        return [call.params["content"].encode() for call in self.calls_to("file_upload")]

    def _team_info(self, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        return {"ok": True, "team": {"id": team_id, "name": self.teams.get(team_id, team_id), "domain": "acme"}}

    def _oauth_access(self, params: dict[str, Any]) -> dict[str, Any]:
        grant = self.oauth_codes.pop(str(params.get("code")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        self.tokens[grant["bot_token"]] = grant["team_id"]
        self.teams[grant["team_id"]] = grant["team_name"]
        return {
            "ok": True,
            "app_id": "A0PEERSHELF",
            "authed_user": {"id": "U0INSTALLER"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": grant["bot_token"],
            "bot_user_id": BOT_USER_ID,
            "team": {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }
