"""Slack Web API clients pointed at SLACK_API_URL, retrying rate limits and server errors."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.settings import Settings
from storage.models import BOTS_TABLE, INSTALLATIONS_TABLE
from storage.workspaces import has_left

logger = logging.getLogger(__name__)

# Slack asks clients to wait out a 429 for Retry-After seconds; a digest run must never drop a DM
# because a tier limit was hit, so the count is generous.
RATE_LIMIT_RETRIES = 10


def retry_handlers() -> list:  # type: ignore[type-arg]
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A client for `token` (default: the bot token) against the configured Web API base URL."""
    return WebClient(
        token=token if token is not None else settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=retry_handlers(),
        logger=logger,
    )


def client_for_team(settings: Settings, engine: Engine, team_id: str) -> WebClient | None:
    """A bot client for a workspace outside a Slack request (scheduler, CLI): the bot token, or the
    workspace's installation in OAuth mode; None when it has none, or has uninstalled the app or
    revoked its token (nothing calls Slack for it then)."""
    with Session(engine) as session:
        if has_left(session=session, team_id=team_id):
            return None
    if settings.slack_bot_token:
        return web_client(settings)
    if not settings.slack_client_id:
        return None
    store = SQLAlchemyInstallationStore(
        client_id=settings.slack_client_id,
        engine=engine,
        bots_table_name=BOTS_TABLE,
        installations_table_name=INSTALLATIONS_TABLE,
    )
    bot = store.find_bot(enterprise_id=None, team_id=team_id)
    return web_client(settings, token=bot.bot_token) if bot and bot.bot_token else None
