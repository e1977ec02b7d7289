"""Following a colleague: what they share and save in public reaches the follower's digest."""

from __future__ import annotations

from bot.services import Services
from storage import people


def follow(services: Services, *, team_id: str, follower_id: str, followee_id: str) -> bool:
    """False when the follower already followed them."""
    with services.new_session() as session:
        return people.follow(
            session=session, team_id=team_id, follower_id=follower_id, followee_id=followee_id, now=services.clock()
        )


def unfollow(services: Services, *, team_id: str, follower_id: str, followee_id: str) -> bool:
    """False when the follower did not follow them."""
    with services.new_session() as session:
        return people.unfollow(session=session, team_id=team_id, follower_id=follower_id, followee_id=followee_id)
