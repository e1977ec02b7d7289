"""Builds the Bolt app from settings and collaborators."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

import handlers
from bot.services import Services
from bot.slack.client import web_client
from storage.models import BOTS_TABLE, INSTALLATIONS_TABLE, OAUTH_STATES_TABLE
from storage.workspaces import upsert_workspace

logger = logging.getLogger(__name__)

# Must match oauth_config.scopes.bot in manifest.yml (a test checks).
BOT_SCOPES = [
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "mpim:history",
    "mpim:read",
    "reactions:read",
    "users:read",
]
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
EVENTS_PATH = "/slack/events"


def _oauth_flow(services: Services) -> OAuthFlow:
    settings = services.settings

    def installed(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        if installation.team_id:
            with services.new_session() as session:
                upsert_workspace(
                    session=session,
                    team_id=installation.team_id,
                    name=installation.team_name,
                    bot_user_id=installation.bot_user_id,
                    now=services.clock(),
                )
        logger.info("installed in workspace %s (%s)", installation.team_name, installation.team_id)
        return args.default.success(args)

    def failed(args: FailureArgs) -> BoltResponse:
        logger.warning("installation failed: %s", args.reason)
        return args.default.failure(args)

    assert settings.slack_client_id and settings.slack_client_secret
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=BOT_SCOPES,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=SQLAlchemyInstallationStore(
            client_id=settings.slack_client_id,
            engine=services.engine,
            bots_table_name=BOTS_TABLE,
            installations_table_name=INSTALLATIONS_TABLE,
        ),
        state_store=SQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=services.engine, table_name=OAUTH_STATES_TABLE
        ),
        callback_options=CallbackOptions(success=installed, failure=failed),
    )
    # The token exchange (oauth.v2.access) goes to SLACK_API_URL like every other call.
    return OAuthFlow(client=web_client(services.settings, token=None), settings=oauth_settings)


class _ClientTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when it is handed a client, then warns
    that the token will be unused: the client it is handed carries that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token` will be unused" not in record.getMessage()


BOLT_LOGGER = logging.getLogger("peershelf.bolt")
BOLT_LOGGER.addFilter(_ClientTokenNotice())


def _not_installed_message(base_url: str | None) -> str:
    where = f" An admin can add it at {base_url}{INSTALL_PATH}." if base_url else ""
    return f":warning: Peershelf is not installed in this workspace (any more), so nothing was done.{where}"


def create_app(services: Services) -> App:
    """The Bolt app: single-workspace with SLACK_BOT_TOKEN, else OAuth multi-workspace."""
    settings = services.settings
    common = {
        "signing_secret": settings.slack_signing_secret or "",  # Socket Mode needs none
        # Listeners finish their (fast, durable) work before Slack gets its answer, so an event
        # is never acknowledged and then lost; slow work goes to lazy listeners and queues.
        "process_before_response": True,
        # Requests no listener takes are answered by the error handler, never with a 404.
        "raise_error_for_unhandled_request": True,
        "logger": BOLT_LOGGER,
        "user_facing_authorize_error_message": _not_installed_message(settings.base_url),
    }
    if settings.oauth_enabled and settings.slack_bot_token is None:
        app = App(
            client=web_client(settings, token=None),
            oauth_flow=_oauth_flow(services),
            **common,  # type: ignore[arg-type]
        )
    else:
        app = App(client=web_client(settings), **common)  # type: ignore[arg-type]
    handlers.register(app, services)
    return app
