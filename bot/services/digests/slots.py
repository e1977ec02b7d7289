"""When each person's weekly digest is due: their day and time, in their own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import Settings

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone Slack gave for a person; UTC when unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` in `tz`, as an aware datetime. A time skipped by a daylight-saving change moves
    forward by the gap (02:30 on a spring-forward night is 03:30), as people would expect."""
    # fold=0 reads a skipped time with the offset from before the change; the round trip through
    # UTC then lands it just after the gap. A repeated time (autumn) means its first occurrence.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def current_slot(now: datetime, *, weekday: int, at: time, tz_name: str | None) -> datetime:
    """The most recent digest slot at or before `now`, in UTC: this week's, or last week's if this
    week's is still ahead. A digest week runs from one slot to the next."""
    tz = zone(tz_name)
    local_now = now.astimezone(tz)
    day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    slot = _local(day, at, tz)
    if slot > local_now:
        slot = _local(day - timedelta(days=7), at, tz)
    return slot.astimezone(UTC)


def next_slot(slot: datetime, *, weekday: int, at: time, tz_name: str | None) -> datetime:
    """The slot after `slot` (a week later on the wall clock, whatever daylight saving did)."""
    tz = zone(tz_name)
    local = slot.astimezone(tz)
    return _local(local.date() + timedelta(days=7), at, tz).astimezone(UTC)


def preferences(settings: Settings, day: int | None, at: str | None) -> tuple[int, time]:
    """A person's own day and time, or the workspace defaults."""
    chosen_day = settings.digest_day if day is None else day
    if at:
        hours, minutes = at.split(":")
        return chosen_day, time(int(hours), int(minutes))
    return chosen_day, settings.digest_time
