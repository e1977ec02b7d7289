"""Settings: every SPEC §3 variable, defaults, .env, and one-line errors naming the variable."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.settings import MissingCredentials, Settings, SettingsError


def test_defaults_follow_the_spec() -> None:
    settings = Settings.from_env({}, env_file=None)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///peershelf.db"
    assert settings.save_reactions == ("bookmark",)
    assert settings.topics_file is None
    assert (settings.digest_day, settings.digest_time) == (0, time(9, 0))
    assert (settings.fetch_timeout, settings.fetch_max_bytes, settings.fetch_allow_private) == (10.0, 2_000_000, False)
    assert settings.base_url is None
    assert settings.ignore_channels == frozenset()
    assert (settings.port, settings.log_level) == (3000, "INFO")


def test_every_variable_is_read(tmp_path: Path) -> None:
    topics = tmp_path / "topics.yml"
    topics.write_text("topics:\n  baking:\n    label: Baking\n    signals: {sourdough: 3}\n")
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s3cret",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_CLIENT_ID": "123.456",
            "SLACK_CLIENT_SECRET": "c-secret",
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
            "DATABASE_URL": "postgres://postgres@db/peershelf",
            "SHELF_SAVE_REACTIONS": "bookmark, :books:,pushpin",
            "SHELF_TOPICS_FILE": str(topics),
            "SHELF_DIGEST_DAY": "Friday",
            "SHELF_DIGEST_TIME": "16:30",
            "SHELF_FETCH_TIMEOUT": "2.5",
            "SHELF_FETCH_MAX_BYTES": "500000",
            "SHELF_FETCH_ALLOW_PRIVATE": "true",
            "SHELF_BASE_URL": "https://shelf.example.com/",
            "SHELF_IGNORE_CHANNELS": "C1, C2",
            "PORT": "8080",
            "LOG_LEVEL": "debug",
        },
        env_file=None,
    )
    assert settings.slack_bot_token == "xoxb-1"
    assert settings.slack_signing_secret == "s3cret"
    assert settings.slack_app_token == "xapp-1"
    assert (settings.slack_client_id, settings.slack_client_secret) == ("123.456", "c-secret")
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.database_url == "postgresql+psycopg://postgres@db/peershelf"
    assert settings.save_reactions == ("bookmark", "books", "pushpin")
    assert settings.topics_file == topics
    assert (settings.digest_day, settings.digest_time) == (4, time(16, 30))
    assert (settings.fetch_timeout, settings.fetch_max_bytes, settings.fetch_allow_private) == (2.5, 500_000, True)
    assert settings.base_url == "https://shelf.example.com"
    assert settings.ignore_channels == frozenset({"C1", "C2"})
    assert (settings.port, settings.log_level) == (8080, "DEBUG")


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SHELF_DIGEST_DAY=wed\nSHELF_DIGEST_TIME=07:15\n# a comment\n")
    settings = Settings.from_env({"SHELF_DIGEST_TIME": "08:00"}, env_file=env_file)
    assert settings.digest_day == 2
    assert settings.digest_time == time(8, 0)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHELF_DIGEST_DAY", "someday"),
        ("SHELF_DIGEST_DAY", "mo"),
        ("SHELF_DIGEST_TIME", "9am"),
        ("SHELF_DIGEST_TIME", "24:00"),
        ("SHELF_DIGEST_TIME", "09:60"),
        ("SHELF_TOPICS_FILE", "/nowhere/topics.yml"),
        ("SHELF_FETCH_TIMEOUT", "soon"),
        ("SHELF_FETCH_TIMEOUT", "0"),
        ("SHELF_FETCH_MAX_BYTES", "2MB"),
        ("SHELF_FETCH_MAX_BYTES", "-1"),
        ("SHELF_FETCH_ALLOW_PRIVATE", "maybe"),
        ("SLACK_API_URL", "slack.com/api"),
        ("SHELF_BASE_URL", "ftp://shelf.example.com"),
        ("DATABASE_URL", "mysql://root@localhost/shelf"),
        ("DATABASE_URL", "not a url"),
        ("SHELF_SAVE_REACTIONS", " , "),
        ("SLACK_BOT_TOKEN", "xoxp-user-token"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token"),
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("LOG_LEVEL", "verbose"),
    ],
)
def test_bad_value_is_refused_with_the_variable_and_value_named(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value}, env_file=None)
    message = str(raised.value)
    assert raised.value.variable == variable
    assert message.startswith(f"{variable}=")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("topics: [\n", "not valid YAML at line"),
        ("topics: []\n", "topics must be a mapping"),
        ("topics: {}\n", "no topics defined"),
        ("topics:\n  Not A Slug:\n    signals: {x: 1}\n", "a slug is lower-case letters"),
        ("topics:\n  baking:\n    signals: {sourdough: heavy}\n", "the weight must be a positive number"),
        ("topics:\n  baking:\n    synonyms: bread\n", "synonyms must be a list"),
    ],
)
def test_a_malformed_topics_file_is_refused_with_the_reason(tmp_path: Path, content: str, reason: str) -> None:
    topics = tmp_path / "topics.yml"
    topics.write_text(content)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SHELF_TOPICS_FILE": str(topics)}, env_file=None)
    assert raised.value.variable == "SHELF_TOPICS_FILE"
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_bot_token_names_the_variable_and_the_readme() -> None:
    with pytest.raises(MissingCredentials) as raised:
        Settings.from_env({}, env_file=None).require_credentials(serve="http")
    assert raised.value.variable == "SLACK_BOT_TOKEN"
    assert "README" in str(raised.value)


def test_http_mode_needs_the_signing_secret() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}, env_file=None)
    with pytest.raises(MissingCredentials) as raised:
        settings.require_credentials(serve="http")
    assert raised.value.variable == "SLACK_SIGNING_SECRET"
    settings.require_credentials(serve="socket")  # Socket Mode has no HTTP requests to verify
    settings.require_credentials(serve="cron")  # nor has a command run from cron


def test_oauth_mode_needs_no_bot_token_but_both_client_settings() -> None:
    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "x", "SLACK_SIGNING_SECRET": "s"}
    Settings.from_env(oauth, env_file=None).require_credentials(serve="http")
    Settings.from_env(oauth, env_file=None).require_credentials(serve="cron")  # digests for every install
    with pytest.raises(MissingCredentials) as raised:
        Settings.from_env(oauth, env_file=None).require_credentials(serve="socket")
    assert raised.value.variable == "SLACK_BOT_TOKEN"
    with pytest.raises(MissingCredentials) as raised:
        Settings.from_env({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, env_file=None).require_credentials(
            serve="http"
        )
    assert raised.value.variable == "SLACK_CLIENT_SECRET"
