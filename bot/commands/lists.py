"""`/shelf list …`, `lists`, `subscribe`, `unsubscribe` and `feed add`: curated lists."""

from __future__ import annotations

from collections.abc import Callable

from bot.commands.arguments import guarded, mentioned
from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.services import Services
from bot.services.items import as_url, resolve_item
from bot.services.lists import ListProblem, feed_url, find_list, own_list
from bot.slack import blocks
from bot.text import clip, counted, echo
from storage import items as item_store
from storage import lists as list_store
from storage import tags as tag_store
from storage.models import CuratedList

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
        with self.services.new_session() as session:
            try:
                created = list_store.create_list(
                    session=session,
                    team_id=invocation.team_id,
                    owner_id=invocation.user_id,
                    name=clip(name, 255),
                    description=clip(description, 1000) if description else None,
                    now=self.services.clock(),
                )
            except list_store.DuplicateName:
                return Reply(f"You already have a list called *{echo(name, 80)}*.")
        feed = feed_url(self.services.settings.base_url, created)
        tail = f" Its private Atom feed: {feed}" if feed else ""
        return Reply(
            f'Created *{echo(created.name, 80)}*. Add to it with `/shelf list add "{echo(name, 40)}" ITEM`.{tail}'
        )

    def _add(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        if len(args) < 2:
            raise UsageError("Say what to add: an item number or a link.")
        note = " ".join(t.text for t in args[2:]).strip() or None
        with self.services.new_session() as session:
            curated = own_list(session, team_id=invocation.team_id, owner=invocation.user_id, name=name)
            item = resolve_item(
                self.services,
                session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                channel_id=invocation.channel_id,
                word=args[1].text,
            )
            if not item.is_public and as_url(args[1].text):
                # A link the curator typed is web content they chose to publish, as a feed's entries
                # are; their own words and tags on it stay as private as they were written.
                item_store.make_public(session=session, item=item)
            if not item.is_public:
                # Lists are visible to the whole workspace; a privately shared link stays private.
                return Reply(
                    f"{blocks.item_link(item)} was only shared privately, and lists are visible to everyone here, "
                    "so it wasn't added. Share it in a public channel first."
                )
            _, new = list_store.add_to_list(
                session=session,
                curated=curated,
                item=item,
                note=clip(note, 1000) if note else None,
                by=invocation.user_id,
                now=self.services.clock(),
            )
        if not new:
            return Reply(f"{blocks.item_link(item)} is already on *{echo(curated.name, 80)}*.")
        return Reply(
            f"Added {blocks.item_link(item)} to *{echo(curated.name, 80)}*. Subscribers see it in their next digest."
        )

    def _remove(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        if len(args) != 2:
            raise UsageError("Say what to take off: an item number or a link.")
        with self.services.new_session() as session:
            curated = own_list(session, team_id=invocation.team_id, owner=invocation.user_id, name=name)
            item = resolve_item(
                self.services,
                session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                channel_id=invocation.channel_id,
                word=args[1].text,
                capture=False,
            )
            gone = list_store.remove_from_list(session=session, curated=curated, item=item)
        if not gone:
            return Reply(f"{blocks.item_link(item)} isn't on *{echo(curated.name, 80)}*.")
        return Reply(f"Took {blocks.item_link(item)} off *{echo(curated.name, 80)}*.")

    def _show(self, invocation: Invocation, args: list[Token]) -> Reply:
        name = _name(args[0] if args else None)
        owner = mentioned(args[1]) if len(args) > 1 else None
        if len(args) > 1 and owner is None:
            raise UsageError("Name the owner with a mention, like `@Ana`.")
        with self.services.new_session() as session:
            curated = find_list(session, team_id=invocation.team_id, asker=invocation.user_id, name=name, owner=owner)
            entries = list_store.list_items(session=session, curated=curated)
            subscribers = list_store.subscriber_counts(session=session, list_ids=[curated.id or 0]).get(
                curated.id or 0, 0
            )
            tags = tag_store.tag_names(
                session=session, item_ids=[item.id or 0 for _, item in entries[:SHOWN]], viewer=invocation.user_id
            )
        sizes = f"{counted(len(entries), 'item')}, {counted(subscribers, 'subscriber')}"
        heading = f"*{echo(curated.name, 80)}* by <@{curated.owner_id}> — {sizes}"
        if curated.description:
            heading += f"\n{blocks.slack_escape(clip(curated.description, 300))}"
        cards = [
            blocks.item_card(
                item,
                number=True,
                tags=tags.get(item.id or 0, []),
                why=f"_{blocks.slack_escape(clip(entry.note, 200))}_" if entry.note else None,
            )
            for entry, item in entries[:SHOWN]
        ]
        footer_parts = []
        if len(entries) > SHOWN:
            footer_parts.append(f"and {len(entries) - SHOWN} more")
        if curated.owner_id == invocation.user_id:
            feed = feed_url(self.services.settings.base_url, curated)
            footer_parts.append(
                f"Atom feed (keep it private): {feed}" if feed else "Set SHELF_BASE_URL to get this list's Atom feed."
            )
        if not entries:
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
        with self.services.new_session() as session:
            if owner:
                found = list_store.lists_of(session=session, team_id=invocation.team_id, owner_id=owner)
                counts = list_store.subscriber_counts(session=session, list_ids=[c.id or 0 for c in found])
                ranked = [(c, counts.get(c.id or 0, 0)) for c in found]
                heading = f"*Lists by <@{owner}>*"
            else:
                ranked = list_store.most_subscribed(session=session, team_id=invocation.team_id)
                heading = "*Most subscribed lists*"
            sizes = list_store.item_counts(session=session, list_ids=[c.id or 0 for c, _ in ranked])
        if not ranked:
            return Reply('No lists yet. Start one with `/shelf list new "Name"`.')
        lines = [
            f"*{echo(c.name, 80)}* by <@{c.owner_id}> — {counted(sizes.get(c.id or 0, 0), 'item')}, "
            f"{counted(n, 'subscriber')}"
            for c, n in ranked
        ]
        text = "\n".join([heading, *lines])
        return Reply(text, [blocks.section(text)])

    def _resolve(self, invocation: Invocation, args: list[Token]) -> CuratedList:
        name = _name(args[0] if args else None)
        owner = mentioned(args[1]) if len(args) > 1 else None
        if len(args) > 2 or (len(args) == 2 and owner is None):
            raise UsageError()
        with self.services.new_session() as session:
            return find_list(session, team_id=invocation.team_id, asker=invocation.user_id, name=name, owner=owner)

    def subscribe(self, invocation: Invocation, args: list[Token]) -> Reply:
        curated = self._resolve(invocation, args)
        with self.services.new_session() as session:
            new = list_store.subscribe(
                session=session, curated=curated, user_id=invocation.user_id, now=self.services.clock()
            )
        if not new:
            return Reply(f"You already subscribe to *{echo(curated.name, 80)}*.")
        return Reply(
            f"Subscribed to *{echo(curated.name, 80)}* by <@{curated.owner_id}>: "
            "new additions reach you in your weekly digest."
        )

    def unsubscribe(self, invocation: Invocation, args: list[Token]) -> Reply:
        curated = self._resolve(invocation, args)
        with self.services.new_session() as session:
            gone = list_store.unsubscribe(session=session, curated=curated, user_id=invocation.user_id)
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
        with self.services.new_session() as session:
            curated = own_list(session, team_id=invocation.team_id, owner=invocation.user_id, name=name)
            _, new = list_store.add_feed(
                session=session, curated=curated, url=url, by=invocation.user_id, now=self.services.clock()
            )
        if not new:
            return Reply(f"*{echo(curated.name, 80)}* already follows {echo(url, 200)}.")
        return Reply(
            f"*{echo(curated.name, 80)}* now follows {echo(url, 200)}: its newest entries are added shortly, "
            "then new ones as they appear (checked at most hourly)."
        )
