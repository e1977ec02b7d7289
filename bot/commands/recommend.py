"""`/shelf recommend`, `follow` and `unfollow`: one function per subcommand."""

from __future__ import annotations

from bot.commands.arguments import guarded, mentioned, people_list
from bot.commands.parser import Invocation, Later, Reply, Shelf, Subcommand, Token, UsageError
from bot.services import Services, following
from bot.services.recommendations import PRIVATE_NOTE, NotPassedOn, known_refusal, recommend_item
from bot.slack import blocks


class RecommendCommands:
    def __init__(self, services: Services) -> None:
        self.services = services

    def register(self, shelf: Shelf) -> None:
        for name, usage, summary, run in (
            (
                "recommend",
                "/shelf recommend @someone [@someone …] ITEM [note]",
                "send a colleague something worth their time",
                self.recommend,
            ),
            ("follow", "/shelf follow @someone", "see what a colleague shares and saves in your digest", self.follow),
            ("unfollow", "/shelf unfollow @someone", "stop following a colleague", self.unfollow),
        ):
            shelf.add(Subcommand(name, usage, summary, guarded(run)))

    def _check(self, invocation: Invocation, user_id: str) -> str | None:
        """Why `user_id` cannot be recommended to or followed, as far as is known without asking
        Slack; None when they can. Someone never looked up is checked after the ack (`Later`)."""
        return known_refusal(self.services, team_id=invocation.team_id, from_user=invocation.user_id, to_user=user_id)

    def recommend(self, invocation: Invocation, args: list[Token]) -> Reply:
        recipients = []
        for token in args:
            user_id = mentioned(token)
            if user_id is None:
                break
            recipients.append(user_id)
        rest = args[len(recipients) :]
        if not recipients:
            raise UsageError("Mention who it's for, like `@Ana`.")
        if not rest:
            raise UsageError("Say what to recommend: an item number or a link.")
        note = " ".join(token.text for token in rest[1:]).strip() or None
        refusals = {user: why for user in dict.fromkeys(recipients) if (why := self._check(invocation, user))}
        allowed = [user for user in dict.fromkeys(recipients) if user not in refusals]
        try:
            item, sent = recommend_item(
                self.services,
                team_id=invocation.team_id,
                from_user=invocation.user_id,
                word=rest[0].text,
                to_users=allowed,
                note=note,
            )
        except NotPassedOn:
            return Reply(PRIVATE_NOTE)
        if not allowed:
            return Reply(self._refused(refusals) + " Nothing was sent.")
        new = [s.to_user for s in sent if s.new]
        again = [s.to_user for s in sent if not s.new]
        lines = []
        if new:
            lines.append(
                f"Sent {blocks.item_link(item)} to {people_list(new)}, with a note."
                if note
                else f"Sent {blocks.item_link(item)} to {people_list(new)}."
            )
        if again:
            lines.append(
                f"You already recommended {blocks.item_link(item)} to {people_list(again)}; nothing sent again."
            )
        if refusals:
            lines.append(self._refused(refusals))
        return Reply(" ".join(lines), later=Later(deliver=tuple(s.recommendation_id for s in sent if s.new)))

    @staticmethod
    def _refused(refusals: dict[str, str]) -> str:
        return " ".join(f"Not sent to <@{user}>: {why}." for user, why in refusals.items())

    def _one_person(self, invocation: Invocation, args: list[Token]) -> str:
        if len(args) != 1 or (user_id := mentioned(args[0])) is None:
            raise UsageError("Mention one colleague, like `@Ana`.")
        return user_id

    def follow(self, invocation: Invocation, args: list[Token]) -> Reply:
        user_id = self._one_person(invocation, args)
        why = self._check(invocation, user_id)
        if why:
            return Reply(f"You can't follow <@{user_id}>: {why}.")
        new = following.follow(
            self.services, team_id=invocation.team_id, follower_id=invocation.user_id, followee_id=user_id
        )
        if not new:
            return Reply(f"You already follow <@{user_id}>.")
        return Reply(
            f"You now follow <@{user_id}>: what they share and save in public shows up in your weekly digest.",
            later=Later(follows=(user_id,)),
        )

    def unfollow(self, invocation: Invocation, args: list[Token]) -> Reply:
        user_id = self._one_person(invocation, args)
        gone = following.unfollow(
            self.services, team_id=invocation.team_id, follower_id=invocation.user_id, followee_id=user_id
        )
        return Reply(f"You no longer follow <@{user_id}>." if gone else f"You weren't following <@{user_id}>.")
