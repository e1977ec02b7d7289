"""`/shelf save`, `save book`, `mine`, `done` and `search`: one function per subcommand."""

from __future__ import annotations

from bot.commands.arguments import guarded, split_tags
from bot.commands.parser import Invocation, Reply, Shelf, Subcommand, Token, UsageError
from bot.reading.topics import normalise_tag
from bot.services import Services
from bot.services.capture import save_book, save_link
from bot.services.items import UNREADABLE_LINK, as_url, looks_like_link, resolve_item
from bot.services.recommendations import suggestions
from bot.slack import blocks
from bot.text import clip, echo
from storage import items as item_store
from storage import tags as tag_store
from storage.models import Item

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
        with self.services.transaction() as session:
            saved = save_link(
                session=session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                url=url,
                now=self.services.clock(),
                tags=tags,
                note=clip(note, 2000) if note else None,
                taxonomy=self.services.taxonomy,
            )
        self.services.fetch_wakeup.set()
        reply = _saved_reply(saved.item, saved.new, note=saved.save.note if note else None)
        if not saved.new:
            return reply
        with self.services.new_session() as session:
            people = suggestions(
                session=session, team_id=invocation.team_id, item=saved.item, exclude={invocation.user_id}
            )
        extra = blocks.suggestion_blocks(saved.item, people)
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
        with self.services.transaction() as session:
            saved = save_book(
                session=session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                title=args[0].text.strip(),
                author=author,
                now=self.services.clock(),
            )
        return _saved_reply(saved.item, saved.new)

    def mine(self, invocation: Invocation, args: list[Token]) -> Reply:
        tags, rest = split_tags(args)
        if rest or len(tags) > 1:
            raise UsageError()
        tag = normalise_tag(self.services.taxonomy, tags[0]) if tags else None
        with self.services.new_session() as session:
            rows = item_store.shelf(session=session, team_id=invocation.team_id, user_id=invocation.user_id, tag=tag)
            shown_tags = tag_store.tag_names(
                session=session, item_ids=[item.id or 0 for _, item in rows[:SHOWN]], viewer=invocation.user_id
            )
        scope = f" tagged #{tag}" if tag else ""
        if not rows:
            hint = "React with :bookmark: to a message with a link, or use `/shelf save URL`."
            return Reply(f"Nothing on your shelf{scope} yet. {hint}")
        unread = sum(1 for save, _ in rows if save.status != "done")
        heading = f"*Your shelf{scope}* — {unread} unread, {len(rows) - unread} done"
        cards = [
            blocks.item_card(item, number=True, done=save.status == "done", tags=shown_tags.get(item.id or 0, []))
            for save, item in rows[:SHOWN]
        ]
        footer = f"and {len(rows) - SHOWN} more" if len(rows) > SHOWN else None
        return Reply(heading, blocks.item_list(heading, cards, footer=footer))

    def done(self, invocation: Invocation, args: list[Token]) -> Reply:
        if len(args) != 1:
            raise UsageError()
        now = self.services.clock()
        with self.services.new_session() as session:
            item = resolve_item(
                self.services,
                session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                channel_id=invocation.channel_id,
                word=args[0].text,
            )
            newly = item_store.mark_done(
                session=session,
                team_id=invocation.team_id,
                user_id=invocation.user_id,
                item=item,
                source="command",
                now=now,
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
        with self.services.new_session() as session:
            found = item_store.search_visible(
                session=session, team_id=invocation.team_id, user_id=invocation.user_id, words=words, tag=tag
            )
            shown_tags = tag_store.tag_names(
                session=session, item_ids=[item.id or 0 for item in found[:SHOWN]], viewer=invocation.user_id
            )
        query = " ".join([words, *(f"#{t}" for t in tags)]).strip()
        if not found:
            return Reply(f"Nothing you can see matches `{echo(query, 60)}`.")
        heading = f"*{len(found)} match{'es' if len(found) != 1 else ''} for* `{echo(query, 60)}`"
        cards = [blocks.item_card(item, number=True, tags=shown_tags.get(item.id or 0, [])) for item in found[:SHOWN]]
        footer = f"and {len(found) - SHOWN} more; add words to narrow it down" if len(found) > SHOWN else None
        return Reply(heading, blocks.item_list(heading, cards, footer=footer))


def _saved_reply(item: Item, new: bool, *, note: str | None = None) -> Reply:
    if not new:
        return Reply(f"{blocks.item_link(item)} is already on your shelf (item `{item.id}`).")
    pending = " I'll fill in its title and details in a moment." if item.fetch_state == "pending" else ""
    noted = " with your note" if note else ""
    return Reply(f"Saved {blocks.item_link(item)} to your shelf{noted} (item `{item.id}`).{pending}")
