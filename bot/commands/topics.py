"""`/shelf tag`, `untag`, `interests` and `top`: one function per subcommand."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.arguments import guarded
from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.reading.topics import normalise_tag
from bot.services import Services
from bot.services import topics as topic_service
from bot.slack import blocks
from bot.text import echo

TOP_DAYS = 7


def _tag_words(args: list[Token]) -> list[str]:
    """`#a #b` (the # optional), as typed."""
    return [token.text for token in args if token.text.strip("#")]


class TopicCommands:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.taxonomy = services.taxonomy

    def register(self, shelf: Shelf) -> None:
        for name, usage, summary, run in (
            ("tag", "/shelf tag ITEM #a #b", "add topic tags to an item", self.tag),
            ("untag", "/shelf untag ITEM #a", "take a wrong tag off an item", self.untag),
            (
                "interests",
                "/shelf interests [#a #b …]",
                "set or show the topics you want to hear about",
                self.interests,
            ),
            ("top", "/shelf top [#tag]", "what most colleagues shared, saved or recommended this week", self.top),
        ):
            shelf.add(Subcommand(name, usage, summary, guarded(run)))

    def tag(self, invocation: Invocation, args: list[Token]) -> Reply:
        if len(args) < 2:
            raise UsageError()
        tags = [normalise_tag(self.taxonomy, word) for word in _tag_words(args[1:])]
        if not tags or not all(tags):
            raise UsageError("Name the tags, like `#python #testing`.")
        item = topic_service.tag_item(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            word=args[0].text,
            tags=tags,
        )
        current = blocks.tags_text(item.tags, limit=None)
        return Reply(f"Tagged {blocks.item_link(item)}. Its tags now: {current or 'none'}.")

    def untag(self, invocation: Invocation, args: list[Token]) -> Reply:
        if len(args) < 2:
            raise UsageError()
        tags = [normalise_tag(self.taxonomy, word) for word in _tag_words(args[1:])]
        item, removed = topic_service.untag_item(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            word=args[0].text,
            tags=tags,
        )
        current = blocks.tags_text(item.tags, limit=None)
        missing = [tag for tag in tags if tag not in removed]
        if not removed:
            return Reply(f"{blocks.item_link(item)} has no tag {blocks.tags_text(missing, limit=None)}.")
        done = blocks.tags_text(removed, limit=None)
        return Reply(
            f"Took {done} off {blocks.item_link(item)}; it won't come back. Its tags now: {current or 'none'}."
        )

    def interests(self, invocation: Invocation, args: list[Token]) -> Reply:
        words = _tag_words(args)
        if not words:
            mine = topic_service.interests_of(self.services, team_id=invocation.team_id, user_id=invocation.user_id)
            return self._show_interests(mine)
        if [w.lower() for w in words] in (["none"], ["clear"]):
            topics: list[str] = []
        else:
            topics = []
            for word in words:
                slug = self.taxonomy.resolve(word)
                if slug is None:
                    return self._unknown_topic(word)
                topics.append(slug)
        topic_service.set_interests(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, topics=topics
        )
        if not topics:
            return Reply("Cleared your interests.")
        return Reply(f"Your interests are now {self._names(topics)}. Your weekly digest will lead with them.")

    def _show_interests(self, mine: list[str]) -> Reply:
        every = " ".join(f"`#{slug}`" for slug in self.taxonomy.topics)
        if not mine:
            text = f"You have no interests set. Pick a few with `/shelf interests #a #b`. Topics: {every}"
        else:
            text = f"Your interests: {self._names(mine)}. Change them with `/shelf interests #a #b`. Topics: {every}"
        return Reply(text)

    def _unknown_topic(self, word: str) -> Reply:
        suggestions = self.taxonomy.suggest(word)
        hint = f" Did you mean {' or '.join(f'`#{s}`' for s in suggestions)}?" if suggestions else ""
        return Reply(
            f"`{echo(word, 40)}` isn't one of the topics.{hint} Nothing was changed; `/shelf interests` lists them all."
        )

    def _names(self, slugs: list[str]) -> str:
        return ", ".join(f"*{self.taxonomy.label(slug)}* (`#{slug}`)" for slug in slugs)

    def top(self, invocation: Invocation, args: list[Token]) -> Reply:
        words = _tag_words(args)
        if len(words) > 1:
            raise UsageError()
        tag = normalise_tag(self.taxonomy, words[0]) if words else None
        since = self.services.clock() - timedelta(days=TOP_DAYS)
        ranked = topic_service.top_items(
            self.services, team_id=invocation.team_id, viewer=invocation.user_id, since=since, tag=tag
        )
        scope = f" in #{tag}" if tag else ""
        if not ranked:
            return Reply(f"Nothing shared in public channels{scope} this week yet.")
        heading = f"*Top of the week{scope}* — by how many colleagues shared, saved or recommended it"
        cards = [
            blocks.item_card(
                item,
                number=True,
                tags=item.tags,
                extra=blocks.people_count(count),
            )
            for item, count in ranked
        ]
        return Reply(heading, blocks.item_list(heading, cards))
