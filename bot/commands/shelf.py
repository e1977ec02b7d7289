"""`/shelf save`, `save book`, `mine`, `done` and `search`: one function per subcommand."""

from __future__ import annotations

from bot.commands.arguments import guarded, split_tags
from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.reading.topics import normalise_tag
from bot.services import Services
from bot.services import shelf as shelf_service
from bot.services.items import UNREADABLE_LINK, as_url, looks_like_link
from bot.services.shelf import SavedView
from bot.slack import blocks
from bot.text import echo

SHOWN = 15


class CaptureCommands:
    def __init__(self, services: Services) -> None:
        self.services = services

    def register(self, shelf: Shelf) -> None:
        for name, usage, summary, run in (
            ("save", "/shelf save URL [#tag …] [note]", "save a link to your shelf, with tags and a note", self.save),
            ("mine", "/shelf mine [#tag]", "your shelf, unread first, with item numbers", self.mine),
            ("done", "/shelf done ITEM", "mark an item as read or watched", self.done),
            ("search", "/shelf search WORDS [#tag]", "search what you can see: titles, tags, your notes", self.search),
        ):
            shelf.add(Subcommand(name, usage, summary, guarded(run)))

    def save(self, invocation: Invocation, args: list[Token]) -> Reply:
        if args and args[0].text.lower() == "book" and not args[0].quoted:
            return self.save_book(invocation, args[1:])
        if not args or (url := as_url(args[0].text)) is None:
            if args and looks_like_link(args[0].text):
                raise UsageError(UNREADABLE_LINK)
            raise UsageError('Give me a link to save (or `book "Title" by Author`).')
        tags, rest = split_tags(args[1:])
        note = " ".join(token.text for token in rest).strip() or None
        saved = shelf_service.save_typed_link(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, url=url, tags=tags, note=note
        )
        reply = _saved_reply(saved)
        extra = blocks.suggestion_blocks(saved.item, saved.suggestions or [])
        return Reply(reply.text, [blocks.section(reply.text), *extra]) if extra else reply

    def save_book(self, invocation: Invocation, args: list[Token]) -> Reply:
        usage = 'Usage: `/shelf save book "Title" by Author`'
        if not args or not args[0].quoted or not args[0].text.strip():
            raise UsageError('Put the book\'s title in double quotes, like `"Thinking in Systems"`.')
        author = None
        if len(args) > 1:
            if args[1].text.lower() != "by" or len(args) < 3:
                return Reply(f"After the title, name the author with `by`. {usage}")
            author = " ".join(token.text for token in args[2:]).strip()
        saved = shelf_service.save_typed_book(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            title=args[0].text.strip(),
            author=author,
        )
        return _saved_reply(saved)

    def mine(self, invocation: Invocation, args: list[Token]) -> Reply:
        tags, rest = split_tags(args)
        if rest or len(tags) > 1:
            raise UsageError()
        tag = normalise_tag(self.services.taxonomy, tags[0]) if tags else None
        shelf = shelf_service.shelf_of(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, tag=tag, limit=SHOWN
        )
        scope = f" tagged #{tag}" if tag else ""
        if not shelf.total:
            hint = "React with :bookmark: to a message with a link, or use `/shelf save URL`."
            return Reply(f"Nothing on your shelf{scope} yet. {hint}")
        heading = f"*Your shelf{scope}* — {shelf.unread} unread, {shelf.total - shelf.unread} done"
        cards = [blocks.item_card(item, number=True, done=done, tags=item.tags) for item, done in shelf.entries]
        footer = f"and {shelf.total - SHOWN} more" if shelf.total > SHOWN else None
        return Reply(heading, blocks.item_list(heading, cards, footer=footer))

    def done(self, invocation: Invocation, args: list[Token]) -> Reply:
        if len(args) != 1:
            raise UsageError()
        item, newly = shelf_service.mark_done(
            self.services,
            team_id=invocation.team_id,
            user_id=invocation.user_id,
            word=args[0].text,
        )
        if not newly:
            return Reply(f"{blocks.item_link(item)} was already marked done.")
        return Reply(f"Marked {blocks.item_link(item)} as done. Nice work.")

    def search(self, invocation: Invocation, args: list[Token]) -> Reply:
        tags, rest = split_tags(args)
        words = " ".join(token.text for token in rest).strip()
        if not words and not tags:
            raise UsageError("Tell me what to look for.")
        tag = normalise_tag(self.services.taxonomy, tags[0]) if tags else None
        total, found = shelf_service.search(
            self.services, team_id=invocation.team_id, user_id=invocation.user_id, words=words, tag=tag, limit=SHOWN
        )
        query = " ".join([words, *(f"#{t}" for t in tags)]).strip()
        if not total:
            return Reply(f"Nothing you can see matches `{echo(query, 60)}`.")
        heading = f"*{total} match{'es' if total != 1 else ''} for* `{echo(query, 60)}`"
        cards = [blocks.item_card(item, number=True, tags=item.tags) for item in found]
        footer = f"and {total - SHOWN} more; add words to narrow it down" if total > SHOWN else None
        return Reply(heading, blocks.item_list(heading, cards, footer=footer))


def _saved_reply(saved: SavedView) -> Reply:
    item = saved.item
    if not saved.new:
        return Reply(f"{blocks.item_link(item)} is already on your shelf (item `{item.id}`).")
    pending = " I'll fill in its title and details in a moment." if saved.pending else ""
    noted = " with your note" if saved.noted else ""
    return Reply(f"Saved {blocks.item_link(item)} to your shelf{noted} (item `{item.id}`).{pending}")
