"""`/shelf list …`, `lists`, `subscribe`, `unsubscribe` and `feed add`: curated lists."""

from __future__ import annotations

from collections.abc import Callable

from bot.commands.arguments import guarded, mentioned
from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.services import Services
from bot.services import lists as list_service
from bot.services.items import as_url
from bot.services.lists import ListProblem
from bot.slack import blocks
from bot.text import clip, counted, echo

SHOWN = 15
LIST_HELP = (
    ('/shelf list new "Name" [description]', "create a curated list that you own"),
    ('/shelf list add "Name" ITEM [note]', "add an item to your list, with a curator's note"),
    ('/shelf list remove "Name" ITEM', "take an item off your list"),
    ('/shelf list show "Name" [@owner]', "a list's items, newest first"),
)


def _name(token: Token | None) -> str:
    if token is None or not token.text.strip():
        raise UsageError('Name the list, in double quotes: `"Reading list"`.')
    return " ".join(token.text.split())


def _answering(run: Callable[[Invocation, list[Token]], Reply]) -> Callable[[Invocation, list[Token]], Reply]:
    def answer(invocation: Invocation, args: list[Token]) -> Reply:
        try:
            return run(invocation, args)
        except ListProblem as problem:
            return Reply(str(problem))

    return guarded(answer)


class ListCommands:
    def __init__(self, services: Services) -> None:
        self.services = services

    def register(self, shelf: Shelf) -> None:
        shelf.add(
            Subcommand(
                "list",
                '/shelf list new|add|remove|show "Name" …',
                "curated lists",
                _answering(self.list_command),
                help=LIST_HELP,
            )
        )
        for name, usage, summary, run in (
            ("lists", "/shelf lists [@someone]", "someone's lists, or the most subscribed ones", self.lists),
            ("subscribe", '/shelf subscribe "Name" [@owner]', "get a list's additions in your digest", self.subscribe),
            ("unsubscribe", '/shelf unsubscribe "Name" [@owner]', "stop following a list", self.unsubscribe),
            ("feed", '/shelf feed add "Name" FEED_URL', "add new entries of an RSS/Atom feed to your list", self.feed),
        ):
            shelf.add(Subcommand(name, usage, summary, _answering(run)))

    # -- /shelf list new|add|remove|show ---------------------------------------------------------

    def list_command(self, invocation: Invocation, args: list[Token]) -> Reply:
        action = args[0].text.lower() if args and not args[0].quoted else ""
        actions = {"new": self._new, "add": self._add, "remove": self._remove, "show": self._show}
        if action not in actions:
            usage = "\n".join(f"`{u}` — {s}" for u, s in LIST_HELP)
            return Reply(f"What should I do with the list?\n{usage}")
        return actions[action](invocation, args[1:])

    def _new(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        description = " ".join(t.text for t in args[1:]).strip() or None
        created = list_service.create_list(
            self.services, team_id=invocation.team_id, owner=invocation.user_id, name=name, description=description
        )
        if created is None:
            return Reply(f"You already have a list called *{echo(name, 80)}*.")
        tail = f" Its private Atom feed: {created.feed}" if created.feed else ""
        return Reply(
            f'Created *{echo(created.name, 80)}*. Add to it with `/shelf list add "{echo(name, 40)}" ITEM`.{tail}'
        )

    def _add(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        if len(args) < 2:
            raise UsageError("Say what to add: an item number or a link.")
        note = " ".join(t.text for t in args[2:]).strip() or None
        added = list_service.add_item_to_list(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            name=name,
            word=args[1].text,
            note=note,
        )
        item, curated = added.item, added.curated
        if added.private:
            return Reply(
                f"{blocks.item_link(item)} was only shared privately, and lists are visible to everyone here, "
                "so it wasn't added. Share it in a public channel first."
            )
        if not added.added:
            return Reply(f"{blocks.item_link(item)} is already on *{echo(curated.name, 80)}*.")
        return Reply(
            f"Added {blocks.item_link(item)} to *{echo(curated.name, 80)}*. Subscribers see it in their next digest."
        )

    def _remove(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        if len(args) != 2:
            raise UsageError("Say what to take off: an item number or a link.")
        curated, item, gone = list_service.remove_item_from_list(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            name=name,
            word=args[1].text,
        )
        if not gone:
            return Reply(f"{blocks.item_link(item)} isn't on *{echo(curated.name, 80)}*.")
        return Reply(f"Took {blocks.item_link(item)} off *{echo(curated.name, 80)}*.")

    def _show(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        owner = mentioned(args[1]) if len(args) > 1 else None
        if len(args) > 1 and owner is None:
            raise UsageError("Name the owner with a mention, like `@Ana`.")
        shown = list_service.show_list(
            self.services, team_id=invocation.team_id, asker=invocation.user_id, name=name, owner=owner, limit=SHOWN
        )
        curated = shown.curated
        sizes = f"{counted(shown.items, 'item')}, {counted(shown.subscribers, 'subscriber')}"
        heading = f"*{echo(curated.name, 80)}* by <@{curated.owner_id}> — {sizes}"
        if curated.description:
            heading += f"\n{blocks.slack_escape(clip(curated.description, 300))}"
        cards = [
            blocks.item_card(
                item,
                number=True,
                tags=item.tags,
                why=f"_{blocks.slack_escape(clip(note, 200))}_" if note else None,
            )
            for item, note in shown.entries
        ]
        footer_parts = []
        if shown.items > SHOWN:
            footer_parts.append(f"and {shown.items - SHOWN} more")
        if curated.owner_id == invocation.user_id:
            footer_parts.append(
                f"Atom feed (keep it private): {curated.feed}"
                if curated.feed
                else "Set SHELF_BASE_URL to get this list's Atom feed."
            )
        if not shown.items:
            text = f"{heading}\nNothing on it yet."
            return Reply(
                text, [blocks.section(text), *([blocks.context(" · ".join(footer_parts))] if footer_parts else [])]
            )
        return Reply(heading, blocks.item_list(heading, cards, footer=" · ".join(footer_parts) or None))

    # -- other list subcommands ------------------------------------------------------------------

    def lists(self, invocation: Invocation, args: list[Token]) -> Reply:
        owner = mentioned(args[0]) if args else None
        if args and (owner is None or len(args) > 1):
            raise UsageError()
        ranked = list_service.list_summaries(self.services, team_id=invocation.team_id, owner=owner)
        heading = f"*Lists by <@{owner}>*" if owner else "*Most subscribed lists*"
        if not ranked:
            return Reply('No lists yet. Start one with `/shelf list new "Name"`.')
        lines = [
            f"*{echo(c.name, 80)}* by <@{c.owner_id}> — {counted(c.items, 'item')}, "
            f"{counted(c.subscribers, 'subscriber')}"
            for c in ranked
        ]
        text = "\n".join([heading, *lines])
        return Reply(text, [blocks.section(text)])

    def _named(self, args: list[Token]) -> tuple[str, str | None]:
        """The list's name and, if given, its owner."""
        name = _name(args[0] if args else None)
        owner = mentioned(args[1]) if len(args) > 1 else None
        if len(args) > 2 or (len(args) == 2 and owner is None):
            raise UsageError()
        return name, owner

    def subscribe(self, invocation: Invocation, args: list[Token]) -> Reply:
        name, owner = self._named(args)
        curated, new = list_service.subscribe(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, name=name, owner=owner
        )
        if not new:
            return Reply(f"You already subscribe to *{echo(curated.name, 80)}*.")
        return Reply(
            f"Subscribed to *{echo(curated.name, 80)}* by <@{curated.owner_id}>: "
            "new additions reach you in your weekly digest."
        )

    def unsubscribe(self, invocation: Invocation, args: list[Token]) -> Reply:
        name, owner = self._named(args)
        curated, gone = list_service.unsubscribe(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, name=name, owner=owner
        )
        if not gone:
            return Reply(f"You weren't subscribed to *{echo(curated.name, 80)}*.")
        return Reply(f"Unsubscribed from *{echo(curated.name, 80)}*.")

    def feed(self, invocation: Invocation, args: list[Token]) -> Reply:
        if not args or args[0].text.lower() != "add" or args[0].quoted:
            raise UsageError()
        name = _name(args[1] if len(args) > 1 else None)
        url = as_url(args[2].text) if len(args) == 3 else None
        if url is None:
            raise UsageError("Give the feed's address after the list's name.")
        curated, new = list_service.add_feed(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, name=name, url=url
        )
        if not new:
            return Reply(f"*{echo(curated.name, 80)}* already follows {echo(url, 200)}.")
        return Reply(
            f"*{echo(curated.name, 80)}* now follows {echo(url, 200)}: its newest entries are added shortly, "
            "then new ones as they appear (checked at most hourly)."
        )
