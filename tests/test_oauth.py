"""Multi-workspace mode: install through OAuth, installations kept in Peershelf's own database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.runtime.app import create_app
from bot.runtime.server import build_asgi
from bot.services import Services
from bot.settings import Settings
from bot.slack.client import client_for_team
from storage.db import session_factory
from storage.models import BOTS_TABLE, INSTALLATIONS_TABLE
from storage.workspaces import has_left, installed_workspaces
from tests.conftest import SIGNING_SECRET, ServerThread

CLIENT_ID = "1111111111.2222222222"


@pytest.fixture
def oauth_url(database_url: str, slack: FakeSlack, engine: Engine) -> Iterator[str]:
    settings = Settings(
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id=CLIENT_ID,
        slack_client_secret="client-secret",
        slack_api_url=slack.api_url,
        database_url=database_url,
    )
    services = Services(settings=settings, engine=engine, new_session=session_factory(engine))
    with ServerThread(build_asgi(create_app(services), services)) as server:
        yield server.url


def test_install_then_serve_the_new_workspace(oauth_url: str, slack: FakeSlack, engine: Engine) -> None:
    with httpx.Client(base_url=oauth_url) as browser:
        page = browser.get("/slack/install")
        assert page.status_code == 200
        authorize = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.text)
        assert authorize, page.text
        query = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)
        assert query["client_id"] == [CLIENT_ID]
        assert "chat:write" in query["scope"][0] and "commands" in query["scope"][0]

        slack.add_oauth_code("code-42", team_id="T0SECOND01", team_name="Second Co", bot_token="xoxb-second")
        # The state cookie is marked Secure (production is https), so carry it over by hand here.
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        done = browser.get(
            "/slack/oauth_redirect",
            params={"code": "code-42", "state": query["state"][0]},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text
        assert slack.calls_to("oauth.v2.access")

    with engine.connect() as connection:
        stored = connection.execute(text("SELECT team_id, bot_token FROM slack_bots")).all()
    assert [tuple(row) for row in stored] == [("T0SECOND01", "xoxb-second")]
    with Session(engine) as session:
        assert [(w.team_id, w.name) for w in installed_workspaces(session=session)] == [("T0SECOND01", "Second Co")]

    driver = SlackDriver(oauth_url, SIGNING_SECRET, team_id="T0SECOND01")
    response = driver.command("help")
    assert response.status_code == 200
    assert "`/shelf help`" in response.json()["text"]


def test_callback_with_a_forged_state_installs_nothing(oauth_url: str, slack: FakeSlack, engine: Engine) -> None:
    slack.add_oauth_code("code-43", team_id="T0THIRD001", team_name="Third", bot_token="xoxb-third")
    response = httpx.get(f"{oauth_url}/slack/oauth_redirect", params={"code": "code-43", "state": "made-up"})
    assert response.status_code == 400
    assert slack.calls_to("oauth.v2.access") == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0


def test_command_from_a_workspace_that_never_installed_is_refused(oauth_url: str, slack: FakeSlack) -> None:
    stranger = SlackDriver(oauth_url, SIGNING_SECRET, team_id="T0STRANGER", response_url=slack.response_url)
    response = stranger.command("help")
    assert response.status_code == 200
    assert "Peershelf" not in response.text
    [told] = slack.responses()
    assert "not installed" in told.params["text"]


def test_an_uninstall_deletes_the_tokens_and_stops_serving_the_workspace(
    oauth_url: str, slack: FakeSlack, engine: Engine
) -> None:
    store = SQLAlchemyInstallationStore(
        client_id=CLIENT_ID, engine=engine, bots_table_name=BOTS_TABLE, installations_table_name=INSTALLATIONS_TABLE
    )
    for team in ("T0SECOND01", "T0THIRD001"):
        store.save(Installation(app_id="A1", team_id=team, user_id="U0ANA0001", bot_token=f"xoxb-{team}",
                                bot_id="B1", bot_user_id="U0BOT0001"))  # fmt: skip
    driver = SlackDriver(oauth_url, SIGNING_SECRET, team_id="T0SECOND01")
    assert driver.event({"type": "app_uninstalled"}).status_code == 200
    assert store.find_bot(enterprise_id=None, team_id="T0SECOND01") is None
    assert store.find_bot(enterprise_id=None, team_id="T0THIRD001") is not None  # other workspaces keep theirs
    with Session(engine) as session:
        assert has_left(session=session, team_id="T0SECOND01")
        assert not has_left(session=session, team_id="T0THIRD001")
    settings = Settings(slack_client_id=CLIENT_ID, slack_client_secret="s", slack_api_url=slack.api_url)
    assert client_for_team(settings, engine, "T0SECOND01") is None
