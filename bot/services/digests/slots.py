"""When each person's weekly digest is due: their day and time, in their own time zone, and changing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services import Services
from bot.settings import Settings, SettingsError, parse_hhmm
from storage import people


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone Slack gave for a person; UTC when unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(day: date, at: time, tz: tzinfo) -> datetime:
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


def next_slot(now: datetime, *, weekday: int, at: time, tz_name: str | None) -> datetime:
    """The first digest slot after `now`, in UTC."""
    return _next_in(now, weekday=weekday, at=at, tz=zone(tz_name))


def _next_in(now: datetime, *, weekday: int, at: time, tz: tzinfo) -> datetime:
    local_now = now.astimezone(tz)
    day = local_now.date() + timedelta(days=(weekday - local_now.weekday()) % 7)
    slot = _local(day, at, tz)
    if slot <= local_now:
        slot = _local(day + timedelta(days=7), at, tz)
    return slot.astimezone(UTC)


# Every UTC offset in use: the whole hours from -12:00 to +14:00, and the others (Newfoundland,
# India, Nepal, Chatham and the like), in minutes.
_OFFSETS = [
    timezone(timedelta(minutes=minutes))
    for minutes in sorted(
        {hours * 60 for hours in range(-12, 15)} | {-570, -210, -150, 210, 270, 330, 345, 390, 525, 570, 630, 765, 825}
    )
]


def next_slot_anywhere(now: datetime, *, weekday: int, at: time) -> datetime:
    """The first instant after `now` at which it is `weekday` at `at` somewhere on Earth: the
    soonest a digest can fall due for someone Peershelf knows nothing about yet."""
    return min(_next_in(now, weekday=weekday, at=at, tz=offset) for offset in _OFFSETS)


def preferences(settings: Settings, day: int | None, at: str | None) -> tuple[int, time]:
    """A person's own day and time, or the workspace defaults."""
    chosen_day = settings.digest_day if day is None else day
    if at:
        hours, minutes = at.split(":")
        return chosen_day, time(int(hours), int(minutes))
    return chosen_day, settings.digest_time


@dataclass(frozen=True)
class DigestSettings:
    """A person's digest as it now stands: on or off, their day and time (or the workspace's), and
    their time zone."""

    enabled: bool
    day: int  # 0 is Monday
    at: time
    tz: str | None
    profile_known: bool  # Slack was asked for their profile (time zone) already


def change_preferences(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    enabled: bool | None = None,
    day: int | None = None,
    at: str | None = None,
) -> DigestSettings | None:
    """Turn a person's digest on or off, or move it to another day (0 is Monday) or time (HH:MM);
    what is not given stays as it was. None, and nothing changed, for a day or time that is not one."""
    if day is not None and not 0 <= day <= 6:
        return None
    if at is not None:
        try:
            chosen = parse_hhmm("time", at)
        except SettingsError:
            return None
        at = f"{chosen.hour:02d}:{chosen.minute:02d}"
    with services.new_session() as session:
        person = people.set_digest(
            session=session, team_id=team_id, user_id=user_id, now=services.clock(), enabled=enabled, day=day, at=at
        )
    shown_day, shown_at = preferences(services.settings, person.digest_day, person.digest_time)
    return DigestSettings(
        enabled=person.digest_enabled,
        day=shown_day,
        at=shown_at,
        tz=person.tz,
        profile_known=person.profile_refreshed_at is not None,
    )
