"""One typed settings object, read from the environment and `.env`, validated at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dotenv import dotenv_values

if TYPE_CHECKING:
    from bot.reading.fetcher import AsyncFetcher, Fetcher

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Every variable Peershelf reads (SPEC §3); .env.example explains each one.
VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_API_URL",
    "DATABASE_URL",
    "SHELF_SAVE_REACTIONS",
    "SHELF_TOPICS_FILE",
    "SHELF_DIGEST_DAY",
    "SHELF_DIGEST_TIME",
    "SHELF_FETCH_TIMEOUT",
    "SHELF_FETCH_MAX_BYTES",
    "SHELF_FETCH_ALLOW_PRIVATE",
    "SHELF_BASE_URL",
    "SHELF_IGNORE_CHANNELS",
    "SHELF_CAPTURE_BOTS",
    "SHELF_FORGET_AFTER_DAYS",
    "SHELF_HISTORY_PER_MINUTE",
    "SHELF_HISTORY_PAGE_SIZE",
    "PORT",
    "LOG_LEVEL",
)
SETUP_HINT = "see 'Set up' in README.md"


class SettingsError(ValueError):
    """A setting has a value Peershelf cannot use; the message names the variable and the value."""

    def __init__(self, variable: str, value: str, why: str) -> None:
        super().__init__(f"{variable}={value!r}: {why}")
        self.variable = variable
        self.value = value


class MissingCredentials(RuntimeError):
    """The Slack credentials needed for the chosen mode are not set."""

    def __init__(self, variable: str, why: str) -> None:
        super().__init__(f"{variable} is not set: {why} ({SETUP_HINT})")
        self.variable = variable


_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday(variable: str, value: str) -> int:
    """Monday is 0. Accepts `mon`, `Monday`, `MON`."""
    key = value.strip().lower()
    for index, (short, full) in enumerate(zip(WEEKDAYS, _FULL_WEEKDAYS, strict=True)):
        if key in (short, full):
            return index
    raise SettingsError(variable, value, "not a weekday (use mon, tue, wed, thu, fri, sat or sun)")


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(variable: str, value: str) -> time:
    match = _HHMM.match(value.strip())
    if not match:
        raise SettingsError(variable, value, "not a time of day as HH:MM (for example 09:00 or 16:30)")
    return time(int(match.group(1)), int(match.group(2)))


def _positive_number(variable: str, value: str, kind: type[int] | type[float]) -> float:
    try:
        number = kind(value.strip())
    except ValueError:
        raise SettingsError(variable, value, f"not a {'whole ' if kind is int else ''}number") from None
    if number <= 0:
        raise SettingsError(variable, value, "must be greater than zero")
    return number


def _whole_days(variable: str, value: str) -> int:
    """A number of days, zero included (forget at the next look)."""
    try:
        days = int(value.strip())
    except ValueError:
        raise SettingsError(variable, value, "not a whole number of days") from None
    if not 0 <= days <= 36_500:
        raise SettingsError(variable, value, "must be between 0 and 36500 days")
    return days


def _boolean(variable: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(variable, value, "not true or false")


def _http_url(variable: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(variable, value, "not an http(s) URL")
    return value.strip()


def normalize_database_url(value: str) -> str:
    """Route plain PostgreSQL URLs to psycopg 3, the driver Peershelf ships with."""
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def _database_url(variable: str, value: str) -> str:
    # Checked by its scheme alone, as SQLAlchemy's make_url reads it, so that a command that only
    # peeks at one row (a `digest run` with nothing due) need not import SQLAlchemy.
    url = normalize_database_url(value.strip())
    scheme = re.match(r"([\w+]+)://", url)
    if scheme is None:
        raise SettingsError(variable, value, "not a database URL (for example sqlite:///peershelf.db)")
    if scheme.group(1).split("+")[0] not in ("sqlite", "postgresql"):
        raise SettingsError(variable, value, "only sqlite and postgresql databases are supported")
    return url


def _topics_file(variable: str, value: str) -> Path:
    from bot.reading.topics import TaxonomyError, load_taxonomy

    path = Path(value.strip()).expanduser()
    try:
        load_taxonomy(path)
    except TaxonomyError as error:
        raise SettingsError(variable, value, str(error)) from None
    return path


def _port(variable: str, value: str) -> int:
    number = int(_positive_number(variable, value, int))
    if number > 65535:
        raise SettingsError(variable, value, "not a TCP port (1 to 65535)")
    return number


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(variable: str, value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(variable, value, f"not a log level (use {', '.join(LOG_LEVELS)})")
    return level


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip().strip(":") for part in value.split(",") if part.strip().strip(":"))


@dataclass(frozen=True)
class Settings:
    """Every setting of SPEC §3; build it with `Settings.from_env()`."""

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///peershelf.db"
    save_reactions: tuple[str, ...] = ("bookmark",)
    topics_file: Path | None = None
    digest_day: int = 0
    digest_time: time = time(9, 0)
    fetch_timeout: float = 10.0
    fetch_max_bytes: int = 2_000_000
    fetch_allow_private: bool = False
    base_url: str | None = None
    ignore_channels: frozenset[str] = field(default_factory=frozenset)
    capture_bots: bool = False
    forget_after_days: int = 30
    # conversations.history / .replies: Tier 3 (50 a minute, pages of up to 1,000) for internal and
    # Marketplace apps; 1 a minute and 15 messages for other distributed apps (Slack, May 2025).
    history_per_minute: float = 50.0
    history_page_size: int = 200
    port: int = 3000
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
        """Read settings from `environ` (default: the process environment) over the `.env` file."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            assert name in VARIABLES, name
            value = values.get(name)
            return value.strip() if value is not None and value.strip() else None

        kwargs: dict[str, object] = {
            "slack_bot_token": get("SLACK_BOT_TOKEN"),
            "slack_signing_secret": get("SLACK_SIGNING_SECRET"),
            "slack_app_token": get("SLACK_APP_TOKEN"),
            "slack_client_id": get("SLACK_CLIENT_ID"),
            "slack_client_secret": get("SLACK_CLIENT_SECRET"),
        }
        for name, prefix in (("SLACK_BOT_TOKEN", "xoxb-"), ("SLACK_APP_TOKEN", "xapp-")):
            token = get(name)
            if token is not None and not token.startswith(prefix):
                raise SettingsError(name, token[:8] + "…", f"should start with {prefix}")
        if (raw := get("SLACK_API_URL")) is not None:
            url = _http_url("SLACK_API_URL", raw)
            kwargs["slack_api_url"] = url if url.endswith("/") else url + "/"
        if (raw := get("DATABASE_URL")) is not None:
            kwargs["database_url"] = _database_url("DATABASE_URL", raw)
        if (raw := get("SHELF_SAVE_REACTIONS")) is not None:
            reactions = _names(raw)
            if not reactions:
                raise SettingsError("SHELF_SAVE_REACTIONS", raw, "name at least one emoji, for example bookmark")
            kwargs["save_reactions"] = reactions
        if (raw := get("SHELF_TOPICS_FILE")) is not None:
            kwargs["topics_file"] = _topics_file("SHELF_TOPICS_FILE", raw)
        if (raw := get("SHELF_DIGEST_DAY")) is not None:
            kwargs["digest_day"] = parse_weekday("SHELF_DIGEST_DAY", raw)
        if (raw := get("SHELF_DIGEST_TIME")) is not None:
            kwargs["digest_time"] = parse_hhmm("SHELF_DIGEST_TIME", raw)
        if (raw := get("SHELF_FETCH_TIMEOUT")) is not None:
            kwargs["fetch_timeout"] = float(_positive_number("SHELF_FETCH_TIMEOUT", raw, float))
        if (raw := get("SHELF_FETCH_MAX_BYTES")) is not None:
            kwargs["fetch_max_bytes"] = int(_positive_number("SHELF_FETCH_MAX_BYTES", raw, int))
        if (raw := get("SHELF_FETCH_ALLOW_PRIVATE")) is not None:
            kwargs["fetch_allow_private"] = _boolean("SHELF_FETCH_ALLOW_PRIVATE", raw)
        if (raw := get("SHELF_BASE_URL")) is not None:
            kwargs["base_url"] = _http_url("SHELF_BASE_URL", raw).rstrip("/")
        if (raw := get("SHELF_IGNORE_CHANNELS")) is not None:
            kwargs["ignore_channels"] = frozenset(_names(raw))
        if (raw := get("SHELF_CAPTURE_BOTS")) is not None:
            kwargs["capture_bots"] = _boolean("SHELF_CAPTURE_BOTS", raw)
        if (raw := get("SHELF_FORGET_AFTER_DAYS")) is not None:
            kwargs["forget_after_days"] = _whole_days("SHELF_FORGET_AFTER_DAYS", raw)
        if (raw := get("SHELF_HISTORY_PER_MINUTE")) is not None:
            kwargs["history_per_minute"] = float(_positive_number("SHELF_HISTORY_PER_MINUTE", raw, float))
        if (raw := get("SHELF_HISTORY_PAGE_SIZE")) is not None:
            size = int(_positive_number("SHELF_HISTORY_PAGE_SIZE", raw, int))
            if size > 999:
                raise SettingsError("SHELF_HISTORY_PAGE_SIZE", raw, "Slack returns at most 999 messages a page")
            kwargs["history_page_size"] = size
        if (raw := get("PORT")) is not None:
            kwargs["port"] = _port("PORT", raw)
        if (raw := get("LOG_LEVEL")) is not None:
            kwargs["log_level"] = _log_level("LOG_LEVEL", raw)
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def saves_with(self, reaction: object) -> bool:
        """Whether a reaction named `reaction` saves (SHELF_SAVE_REACTIONS): a skin tone
        (`bookmark::skin-tone-2`) is the same emoji. Live reactions and the history import alike."""
        return isinstance(reaction, str) and reaction.split("::", 1)[0] in self.save_reactions

    def fetcher(self) -> Fetcher:
        """A page fetcher with these limits (SHELF_FETCH_*)."""
        from bot.reading.fetcher import Fetcher

        return Fetcher(
            timeout=self.fetch_timeout, max_bytes=self.fetch_max_bytes, allow_private=self.fetch_allow_private
        )

    def async_fetcher(self) -> AsyncFetcher:
        """The page reader's fetcher, with the same limits; create it inside its event loop."""
        from bot.reading.fetcher import AsyncFetcher

        return AsyncFetcher(
            timeout=self.fetch_timeout, max_bytes=self.fetch_max_bytes, allow_private=self.fetch_allow_private
        )

    def digest_basis(self) -> str:
        """What decides when digests fall due and which workspaces get them (storage.schedule)."""
        from bot import __version__
        from storage.peek import basis

        token, day, at = self.slack_bot_token, self.digest_day, self.digest_time
        return basis(release=__version__, bot_token=token, digest_day=day, digest_time=at)

    def require_credentials(self, *, serve: str) -> None:
        """Raise `MissingCredentials` naming the first variable needed to serve Slack `serve`-wise:
        "http" (every request verified), "socket" (one workspace over Socket Mode) or "cron" (a
        command that only calls the Web API, for the bot token's workspace or every install)."""
        if not self.oauth_enabled and self.slack_bot_token is None:
            if self.slack_client_id or self.slack_client_secret:
                missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
                raise MissingCredentials(missing, "OAuth needs both the client ID and the client secret")
            raise MissingCredentials(
                "SLACK_BOT_TOKEN", "Peershelf needs the xoxb- bot token of your Slack app (or OAuth client settings)"
            )
        if serve == "http" and self.slack_signing_secret is None:
            raise MissingCredentials("SLACK_SIGNING_SECRET", "every HTTP request from Slack is verified with it")
        if serve == "socket" and self.slack_bot_token is None:
            raise MissingCredentials(
                "SLACK_BOT_TOKEN", "Socket Mode serves one workspace; use --http for OAuth multi-workspace mode"
            )
