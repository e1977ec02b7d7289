"""The Peershelf data model.

Every row carries the `team_id` of its workspace so every query can be scoped to one workspace.
Unique constraints enforce what the product promises happens "once".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

# Named constraints, so later migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEAM = 32  # Slack IDs (T…, U…, C…) are short; 32 leaves room for enterprise IDs.
# Row ids are 64-bit everywhere: BIGINT on PostgreSQL; on SQLite an INTEGER PRIMARY KEY already is
# (and must be spelled INTEGER to number rows by itself).
ID = BigInteger().with_variant(Integer, "sqlite")
URL = 2048


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


def _text() -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=True))


class Workspace(SQLModel, table=True):
    """A Slack workspace Peershelf serves (from auth.test or an OAuth install)."""

    team_id: str = Field(primary_key=True, max_length=TEAM)
    name: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, max_length=255)  # https://acme.slack.com/, for permalinks
    bot_user_id: str | None = Field(default=None, max_length=TEAM)
    installed_at: datetime = _when()
    uninstalled_at: datetime | None = _when(nullable=True)
    # When the members of the bot's channels are next read from Slack (`ChannelMember`); None: at
    # once (a new install). Moved on before a refresh begins, so two processes never both run it.
    members_due_at: datetime | None = _when(nullable=True)


class Person(SQLModel, table=True):
    """A member of a workspace, with the profile bits and preferences Peershelf uses."""

    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM, index=True)
    user_id: str = Field(max_length=TEAM)
    name: str | None = Field(default=None, max_length=255)
    is_bot: bool = False
    # A workspace admin or owner (users.info): may start the history import from the App Home.
    is_admin: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    tz: str | None = Field(default=None, max_length=64)  # IANA name from users.info
    profile_refreshed_at: datetime | None = _when(nullable=True)
    digest_enabled: bool = True
    digest_day: int | None = None  # 0 = Monday; None = SHELF_DIGEST_DAY
    digest_time: str | None = Field(default=None, max_length=5)  # "HH:MM"; None = SHELF_DIGEST_TIME
    created_at: datetime = _when()


class Interest(SQLModel, table=True):
    """A topic a person asked to hear about."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", "topic"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    user_id: str = Field(max_length=TEAM)
    topic: str = Field(max_length=64, index=True)
    created_at: datetime = _when()


class Item(SQLModel, table=True):
    """One link, video or book per workspace, deduplicated on its canonical URL (or `urn:isbn:`) and
    the other addresses it answers to (`ItemAddress`)."""

    __table_args__ = (
        UniqueConstraint("team_id", "canonical_url"),
        Index("ix_item_fetch_queue", "fetch_state", "next_fetch_at"),
        Index("ix_item_fetch_newest", "fetch_state", "created_at"),  # the page reader's order
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    canonical_url: str = Field(max_length=URL)
    url: str = Field(max_length=URL)  # as first shared
    kind: str = Field(default="other", max_length=16)
    title: str | None = Field(default=None, max_length=1024)
    description: str | None = _text()
    keywords: str | None = _text()  # the page's own keywords and tags, comma-separated
    author: str | None = Field(default=None, max_length=512)
    site_name: str | None = Field(default=None, max_length=255)
    published_at: datetime | None = _when(nullable=True)
    image: str | None = Field(default=None, max_length=URL)
    language: str | None = Field(default=None, max_length=16)
    duration_seconds: int | None = None
    isbn: str | None = Field(default=None, max_length=13)
    content_type: str | None = Field(default=None, max_length=128)
    # A saved Slack message (a note, storage.visibility): who wrote the message it quotes.
    quoted_user_id: str | None = Field(default=None, max_length=TEAM)
    # Visible to everyone in the workspace once shared in a public channel; until then only to the
    # people who shared, saved, recommended or were sent it.
    is_public: bool = False
    fetch_state: str = Field(default="pending", max_length=16)  # pending, done, failed, refused, none
    fetch_attempts: int = 0
    next_fetch_at: datetime | None = _when(nullable=True)
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=32)  # the process holding it (WorkerHeartbeat)
    fetch_error: str | None = Field(default=None, max_length=512)
    fetched_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when(index=True)
    updated_at: datetime = _when()


class ItemAddress(SQLModel, table=True):
    """Another web address an item answers to: the link it was first shared as, before its page
    named its canonical address, or where that link redirected to. An item is found by its
    `canonical_url` and by each of these, so a page is one item however its link is written."""

    __tablename__ = "item_address"
    __table_args__ = (UniqueConstraint("team_id", "address"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE", index=True)
    address: str = Field(max_length=URL)  # in canonical form, as `Item.canonical_url`


class ItemTag(SQLModel, table=True):
    """A topic or free tag on an item, with where it came from; a person's untag is kept as `removed`."""

    __tablename__ = "item_tag"
    __table_args__ = (
        UniqueConstraint("item_id", "tag"),
        # People's corrections in a workspace (source "person"), newest first: what the tagger learns from.
        Index("ix_item_tag_team_source_created", "team_id", "source", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE")
    tag: str = Field(max_length=64, index=True)
    source: str = Field(max_length=16)  # auto, hashtag, channel, person
    # Written in a private channel, DM or group (a #hashtag, the channel's topics): seen only by
    # `created_by`, or for channel topics by nobody, until someone gives the same tag in the open.
    is_private: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    removed: bool = False
    evidence: str | None = Field(default=None, max_length=512)  # words that triggered an auto tag
    created_by: str | None = Field(default=None, max_length=TEAM)
    created_at: datetime = _when()


class Share(SQLModel, table=True):
    """One link in one message: who shared it, where, when, and the words around it."""

    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "message_ts", "item_id"),
        Index("ix_share_team_shared_at", "team_id", "shared_at"),
        Index("ix_share_team_user_shared_at", "team_id", "user_id", "shared_at"),  # what someone shared lately
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=TEAM)
    channel_id: str = Field(max_length=TEAM)
    channel_type: str = Field(max_length=16)  # channel, group, im, mpim
    message_ts: str = Field(max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    permalink: str | None = Field(default=None, max_length=URL)
    context: str | None = _text()
    is_private: bool = False
    shared_at: datetime = _when()


class Save(SQLModel, table=True):
    """An item on a person's shelf."""

    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "item_id"),
        Index("ix_save_team_saved_at", "team_id", "saved_at"),  # the week's activity
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    user_id: str = Field(max_length=TEAM)
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE", index=True)
    status: str = Field(default="unread", max_length=16)  # unread, done
    note: str | None = _text()
    source: str = Field(default="command", max_length=16)  # command, reaction, recommendation, button
    saved_at: datetime = _when()
    done_at: datetime | None = _when(nullable=True)


class Recommendation(SQLModel, table=True):
    """One person recommending one item to another; sent once."""

    __table_args__ = (UniqueConstraint("team_id", "item_id", "from_user_id", "to_user_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE", index=True)
    from_user_id: str = Field(max_length=TEAM)
    to_user_id: str = Field(max_length=TEAM, index=True)
    note: str | None = _text()
    dm_channel: str | None = Field(default=None, max_length=TEAM)
    dm_ts: str | None = Field(default=None, max_length=32)
    saved_at: datetime | None = _when(nullable=True)
    done_at: datetime | None = _when(nullable=True)
    thanked_at: datetime | None = _when(nullable=True)
    # One notice to the recommender per recipient and item, sent a little after the first
    # reaction so that "saved, finished and thanked" arrive together.
    notice_due_at: datetime | None = _when(nullable=True, index=True)
    notified_at: datetime | None = _when(nullable=True)
    # Claimed while its DM is being sent, so two workers never both send it.
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _when()


class Follow(SQLModel, table=True):
    """A person following what a colleague shares and saves."""

    __table_args__ = (UniqueConstraint("team_id", "follower_id", "followee_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    follower_id: str = Field(max_length=TEAM)
    followee_id: str = Field(max_length=TEAM, index=True)
    created_at: datetime = _when()


class Dismissal(SQLModel, table=True):
    """An item someone waved off with *Not for me*: never picked for them again, and items like it
    rank lower for them. Theirs alone: it shapes only their own picks."""

    __table_args__ = (UniqueConstraint("team_id", "user_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    user_id: str = Field(max_length=TEAM)
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE", index=True)
    created_at: datetime = _when()


class PickModel(SQLModel, table=True):
    """How a workspace's "Picked for you" weighs what it knows, as fitted on its own earlier weeks
    (bot.services.picks): a few numbers per workspace, about no one in particular."""

    __tablename__ = "pick_model"

    team_id: str = Field(primary_key=True, max_length=TEAM)
    weights: str = Field(sa_column=Column(Text, nullable=False))  # JSON: feature -> weight
    examples: int = 0  # (person, item) pairs it was fitted on
    positives: int = 0  # of which saved
    fitted_at: datetime = _when()


class CuratedList(SQLModel, table=True):
    """A named, ordered collection of items owned by one person; `name_key` is the lower-cased name."""

    __tablename__ = "curated_list"
    __table_args__ = (UniqueConstraint("team_id", "owner_id", "name_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    owner_id: str = Field(max_length=TEAM)
    name: str = Field(max_length=255)
    name_key: str = Field(max_length=255)
    description: str | None = _text()
    feed_token: str = Field(max_length=64, unique=True)  # unguessable, for /feeds/<token>.atom
    created_at: datetime = _when()


class ListItem(SQLModel, table=True):
    """An item in a curated list, with the curator's note; `added_at` feeds the digest."""

    __tablename__ = "list_item"
    __table_args__ = (UniqueConstraint("list_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    list_id: int = Field(sa_type=ID, foreign_key="curated_list.id", ondelete="CASCADE")
    item_id: int = Field(sa_type=ID, foreign_key="item.id", ondelete="CASCADE", index=True)
    position: int = 0
    note: str | None = _text()
    added_by: str | None = Field(default=None, max_length=TEAM)
    added_at: datetime = _when(index=True)


class Subscription(SQLModel, table=True):
    """A person following a curated list."""

    __table_args__ = (UniqueConstraint("list_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    list_id: int = Field(sa_type=ID, foreign_key="curated_list.id", ondelete="CASCADE")
    user_id: str = Field(max_length=TEAM, index=True)
    created_at: datetime = _when()


class Feed(SQLModel, table=True):
    """An RSS/Atom feed a list follows, with what polite polling needs."""

    __table_args__ = (UniqueConstraint("list_id", "url"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    list_id: int = Field(sa_type=ID, foreign_key="curated_list.id", ondelete="CASCADE")
    url: str = Field(max_length=URL)
    title: str | None = Field(default=None, max_length=1024)
    etag: str | None = Field(default=None, max_length=255)
    last_modified: str | None = Field(default=None, max_length=64)
    last_polled_at: datetime | None = _when(nullable=True)
    next_poll_at: datetime | None = _when(nullable=True, index=True)
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=32)  # the process holding it (WorkerHeartbeat)
    error: str | None = Field(default=None, max_length=512)
    error_count: int = 0
    created_by: str | None = Field(default=None, max_length=TEAM)
    created_at: datetime = _when()


class FeedEntry(SQLModel, table=True):
    """A feed entry already turned into an item, so each entry is added once."""

    __tablename__ = "feed_entry"
    __table_args__ = (UniqueConstraint("feed_id", "entry_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    feed_id: int = Field(sa_type=ID, foreign_key="feed.id", ondelete="CASCADE")
    entry_key: str = Field(max_length=URL)  # entry id, else canonical link
    item_id: int | None = Field(default=None, sa_type=ID, foreign_key="item.id", ondelete="SET NULL")
    seen_at: datetime = _when()


class Channel(SQLModel, table=True):
    """What Peershelf knows of a conversation (conversations.info, cached), for privacy and topics."""

    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    channel_id: str = Field(max_length=TEAM)
    name: str | None = Field(default=None, max_length=255)
    purpose: str | None = _text()
    is_private: bool = True  # until Slack says otherwise
    default_topics: str | None = Field(default=None, max_length=255)  # comma-separated slugs
    refreshed_at: datetime = _when()


class ChannelMember(SQLModel, table=True):
    """Someone in a conversation the bot is in, as Slack last said (conversations.members, then
    member_joined_channel and member_left_channel): what "popular in #eng-python, where you are"
    needs. Slack's data, not the person's; read only through the channel cache's privacy
    (storage.channels.public_channels_of), so a private channel's members are never shown."""

    __tablename__ = "channel_member"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "user_id"),
        Index("ix_channel_member_team_user", "team_id", "user_id"),  # the channels someone is in
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    channel_id: str = Field(max_length=TEAM)
    user_id: str = Field(max_length=TEAM)
    seen_at: datetime = _when()  # when Slack last said they were there


class DigestDelivery(SQLModel, table=True):
    """One person's digest for one week, claimed before it is sent so it goes out at most once."""

    __tablename__ = "digest_delivery"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "slot_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    user_id: str = Field(max_length=TEAM)
    slot_at: datetime = _when()  # the week's slot, in UTC
    status: str = Field(default="claimed", max_length=16, index=True)  # claimed, sent, skipped, failed
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=32)  # the process holding it (WorkerHeartbeat)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=512)
    message_ts: str | None = Field(default=None, max_length=32)
    sent_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()


class CaptureQueue(SQLModel, table=True):
    """A message with links, kept when Slack delivered it and captured by a worker soon after: the
    ack waits for this one row, and nothing Slack was told we accepted is lost."""

    __tablename__ = "capture_queue"

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    message: str = Field(sa_column=Column(Text, nullable=False))  # the fields capture needs, as JSON
    # team:channel:ts, so that an edit or a deletion is never captured before the message it changes
    message_key: str | None = Field(default=None, max_length=100, index=True)
    received_at: datetime = _when()
    attempts: int = 0
    next_try_at: datetime | None = _when(nullable=True)
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=512)


class Backfill(SQLModel, table=True):
    """The history import of one channel (`peershelf backfill`, or the App Home's button): the span
    of Slack timestamps it reads, and where it got to, so an interrupted import goes on from there."""

    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    channel_id: str = Field(max_length=TEAM)
    name: str | None = Field(default=None, max_length=255)
    oldest_ts: str = Field(max_length=32)  # read messages from here …
    latest_ts: str = Field(max_length=32)  # … up to here (when the import began; later ones arrived live)
    cursor: str | None = Field(default=None, max_length=512)  # Slack's next_cursor after the last page kept
    state: str = Field(default="pending", max_length=16, index=True)  # pending, running, done, failed
    messages: int = 0
    links: int = 0
    saves: int = 0
    error: str | None = Field(default=None, max_length=512)
    requested_by: str | None = Field(default=None, max_length=TEAM)
    claimed_until: datetime | None = _when(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)


class MessageRevision(SQLModel, table=True):
    """A message edited or deleted while Peershelf was listening (its revision captured live): a
    page of the history import read before then holds the message as it was, and does not record
    it again (the live capture holds it as it is). Kept a day (`storage.backfills`)."""

    __tablename__ = "message_revision"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "message_ts"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    channel_id: str = Field(max_length=TEAM)
    message_ts: str = Field(max_length=32)
    revised_at: datetime = _when(index=True)  # when Slack delivered the (latest) edit or deletion


class Roundup(SQLModel, table=True):
    """A channel's weekly roundup: its day and time zone, and the last week it was posted for."""

    __table_args__ = (UniqueConstraint("team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=ID)
    team_id: str = Field(max_length=TEAM)
    channel_id: str = Field(max_length=TEAM)
    weekday: int = 4  # 0 = Monday
    tz: str | None = Field(default=None, max_length=64)  # of the person who turned it on
    enabled: bool = True
    enabled_by: str | None = Field(default=None, max_length=TEAM)
    last_slot_at: datetime | None = _when(nullable=True)  # the week's slot last posted (or claimed)
    created_at: datetime = _when()


class WorkerHeartbeat(SQLModel, table=True):
    """A process that claims work, and when it last said it was alive: work held by a process
    that stopped beating is taken over without waiting for its lease to run out."""

    __tablename__ = "worker_heartbeat"

    holder: str = Field(primary_key=True, max_length=32)
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None
    started_at: datetime = _when()
    beat_at: datetime = _when()


class DigestSchedule(SQLModel, table=True):
    """The earliest instant a weekly digest can next fall due, per basis (see storage.schedule)."""

    __tablename__ = "digest_schedule"

    basis: str = Field(primary_key=True, max_length=32)
    next_at: datetime = _when()
    version: int = 0
    updated_at: datetime = _when()


class ProcessedEvent(SQLModel, table=True):
    """Event IDs already handled, so a retried Slack event has the effect of one."""

    __tablename__ = "processed_event"

    event_id: str = Field(primary_key=True, max_length=64)
    team_id: str | None = Field(default=None, max_length=TEAM)
    received_at: datetime = _when(index=True)


# Bolt's OAuth installation and state tables live in the same database and the same migrations.
INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
OAUTH_STATES_TABLE = "slack_oauth_states"
SQLAlchemyInstallationStore.build_installations_table(SQLModel.metadata, INSTALLATIONS_TABLE)
SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, BOTS_TABLE)
SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, OAUTH_STATES_TABLE)
