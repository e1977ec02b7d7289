"""Topics: the tagger on real titles, hashtags and channel defaults, corrections, interests, top."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.reading.topics import TaxonomyError, channel_topics, load_taxonomy, parse_taxonomy
from bot.services import Services
from bot.services.pages import MetadataWorker
from bot.services.tagging import auto_tag
from storage.models import Interest, Item, ItemTag
from tests.helpers import items, message, reply_text, wait_for
from tests.pageserver import FIXTURES, PageServer

TAXONOMY = load_taxonomy()

# As measured over tests/fixtures/topics-dev.json (never tuned on); raise them as tagging improves.
# The words alone gave hit 0.82, precision 0.87, off-topic 0.047.
RECORDED = {"hit": 0.86, "precision": 0.89, "off_topic_tagged": 0.047}


def test_tagging_the_labelled_set_meets_its_targets_and_does_not_regress() -> None:
    labelled = json.loads((FIXTURES.parent / "topics-dev.json").read_text())
    given = [[m.slug for m in TAXONOMY.tag(title=i["title"], description=i["description"])] for i in labelled]
    on_topic = [(i, g) for i, g in zip(labelled, given, strict=True) if i["topics"]]
    off_topic = [g for i, g in zip(labelled, given, strict=True) if not i["topics"]]
    hit = sum(1 for i, g in on_topic if set(g) & set(i["topics"])) / len(on_topic)
    right = sum(len(set(g) & set(i["topics"])) for i, g in zip(labelled, given, strict=True))
    precision = right / sum(len(g) for g in given)
    off = sum(1 for g in off_topic if g) / len(off_topic)
    assert hit >= max(0.80, RECORDED["hit"]), hit
    assert precision >= max(0.70, RECORDED["precision"]), precision
    assert off <= min(0.05, RECORDED["off_topic_tagged"] + 0.001), off


def slugs(**fields: Any) -> list[str]:
    return [m.slug for m in TAXONOMY.tag(**fields)]


def test_longer_phrases_win_over_the_words_inside_them() -> None:
    assert slugs(title="An introduction to machine learning pipelines") == ["machine-learning"]
    assert "learning" not in slugs(title="Deep learning for product managers")


def score(slug: str, **fields: Any) -> float:
    return next((m.score for m in TAXONOMY.tag(**fields) if m.slug == slug), 0.0)


def probability(slug: str, **fields: Any) -> float:
    return float(TAXONOMY.probabilities(TAXONOMY.read(**fields))[list(TAXONOMY.topics).index(slug)])


def test_the_title_counts_more_than_the_description() -> None:
    assert slugs(title="Kubernetes operators explained")[0] == "devops"
    in_title = probability("web-development", title="CSS grid notes", description="Some notes.")
    in_description = probability("web-development", title="Some notes", description="A mention of css grid in passing.")
    assert in_title > in_description


def test_the_meaning_backs_the_words() -> None:
    """The same words weigh more in a text whose meaning agrees with the topic."""
    fitting = score("testing", title="Test automation", description="Unit tests, fixtures and mocks for our services.")
    off_meaning = score("testing", title="Test", description="A quiet Sunday with the family at the beach.")
    assert fitting > 0.8
    assert off_meaning == 0.0


def test_a_topic_an_admin_adds_with_a_label_and_words_works() -> None:
    taxonomy = parse_taxonomy(
        {
            "topics": {
                "python": {"label": "Python", "signals": {"python": 3}},
                "baking": {"label": "Baking", "signals": {"sourdough": 3, "proofing": 2, "oven": 1}},
            }
        }
    )
    [match] = taxonomy.tag(title="Sourdough starters for beginners", description="Feeding, proofing and the oven.")
    assert match.slug == "baking"
    assert match.words == {"sourdough": 6.0, "proofing": 2.0, "oven": 1.0}
    assert match.closest == "Baking"  # its label gives it a meaning too
    assert [m.slug for m in taxonomy.tag(title="Asyncio patterns in Python")] == ["python"]
    assert taxonomy.tag(title="Arsenal striker scores twice as league leaders win the derby") == []


@pytest.mark.parametrize(
    "title",
    [
        "Arsenal striker scores twice as league leaders win the derby",
        "The best sourdough recipe for a lazy Sunday breakfast",
        "Hollywood actress opens up about her wedding on the red carpet",
        "Senator calls for vote on immigration bill after election",
        # Hobbies: "learn" is no sign of learning at work.
        "Learn to play jazz guitar in 30 days",
        "Violin for adult beginners: learn your first songs",
        "Pencil drawing: portraits step by step",
        # Words of a topic do not outweigh an item's off-work words: "learn by doing" is no course at work.
        "Learn piano by ear: a course for beginners, learn by doing",
        # News: a household tax is no finance at work.
        "Council tax to rise 5% next year, the council says",
    ],
)
def test_off_work_content_gets_no_topic(title: str) -> None:
    assert slugs(title=title) == []


@pytest.mark.parametrize(
    ("title", "topics"),
    [
        ("Learning Python", ["python"]),
        ("Introduction to TypeScript for online learners", ["javascript"]),
        ("Learn Rust in a weekend: a tutorial", ["rust"]),
        ("Docker for beginners: an online course", ["devops"]),
    ],
)
def test_learning_a_subject_is_about_the_subject_not_about_learning(title: str, topics: list[str]) -> None:
    assert slugs(title=title) == topics


@pytest.mark.parametrize(
    "title", ["Lifelong learning habits for busy people", "Lunch and learn: how our team runs a book club"]
)
def test_learning_itself_still_gets_learning(title: str) -> None:
    assert "learning" in slugs(title=title)


def test_an_engineering_management_piece_is_about_management_and_leadership() -> None:
    given = slugs(
        title="The first 90 days as an engineering manager",
        description="What changes when you move from writing code to leading a team: one-on-ones, giving "
        "feedback, setting direction and building trust.",
    )
    assert given[:2] == ["management", "leadership"]


def test_a_framing_word_must_be_one_of_the_topics_signals() -> None:
    with pytest.raises(TaxonomyError, match="framing word 'course' is not one of its signals"):
        parse_taxonomy({"topics": {"learning": {"signals": {"learn": 1}, "framing": ["course"]}}})
    taxonomy = parse_taxonomy(
        {
            "topics": {
                "learning": {"signals": {"learn": 2, "book club": 3}, "framing": ["learn"]},
                "python": {"signals": {"python": 3}},
            }
        }
    )
    assert [m.slug for m in taxonomy.tag(title="Learn Python")] == ["python"]
    assert [m.slug for m in taxonomy.tag(title="How adults learn")] == ["learning"]


def test_the_words_that_triggered_a_topic_are_kept() -> None:
    [match, *_] = TAXONOMY.tag(title="Writing unit tests with pytest", description="Test coverage for Python code.")
    assert match.slug == "testing"
    assert "unit test" in match.evidence
    assert match.words["unit test"] == 6.0  # a weight-3 phrase in the title
    assert match.explain().startswith(f"{match.score:.0%}: ")
    assert "unit test 6" in match.explain() and "meaning" in match.explain()


@pytest.mark.parametrize(
    ("tag", "topic"),
    [("#k8s", "devops"), ("#JS", "javascript"), ("#dei", "diversity-inclusion"), ("#ml", "machine-learning"),
     ("#Python", "python"), ("#remote", "remote-work"), ("#product-management", "product-management")],
)  # fmt: skip
def test_hashtags_map_through_synonyms(tag: str, topic: str) -> None:
    assert TAXONOMY.resolve(tag) == topic


def test_near_misses_get_suggestions() -> None:
    assert "python" in TAXONOMY.suggest("#pyhton")
    assert "leadership" in TAXONOMY.suggest("leadershp")


def test_channel_names_and_purposes_suggest_topics() -> None:
    assert channel_topics(TAXONOMY, "eng-python", None) == ["python"]
    assert channel_topics(TAXONOMY, "ux-research", None)[0] == "ux"
    assert "security" in channel_topics(TAXONOMY, "team-blue", "Vulnerability reports and phishing alerts")
    assert channel_topics(TAXONOMY, "random", "Anything goes") == []


def test_hashtags_with_a_link_tag_it_and_unknown_ones_stay_free(driver: SlackDriver, services: Services) -> None:
    driver.event(message("Good one <https://example.com/post> #k8s #friday-reads", ts="1764238200.000100"))
    with services.new_session() as session:
        tags = {(t.tag, t.source) for t in session.exec(select(ItemTag))}
    assert ("devops", "hashtag") in tags
    assert ("friday-reads", "hashtag") in tags
    [item] = items(services)
    assert f"`{item.id}`" in reply_text(driver.command("search #kubernetes"))  # #kubernetes is #devops too


def test_a_shared_link_is_tagged_from_its_address_until_its_page_is_read(
    driver: SlackDriver, services: Services
) -> None:
    driver.event(
        message("<https://example.com/blog/kubernetes-operators-explained?utm_source=slack>", ts="1764238200.000150")
    )

    def auto_tags() -> list[tuple[str, str | None]]:
        with services.new_session() as session:
            return [(t.tag, t.evidence) for t in session.exec(select(ItemTag).where(ItemTag.source == "auto"))]

    [(topic, evidence)] = wait_for(auto_tags)
    assert topic == "devops" and "words kubernete" in (evidence or "")  # the address's words, stemmed
    assert items(services)[0].title is None  # nothing but the address was read


def test_links_shared_in_a_topic_channel_get_its_topic(
    driver: SlackDriver, slack: FakeSlack, services: Services
) -> None:
    slack.add_channel("C0PYTHON01", "eng-python", purpose="Everything about our Python services")
    driver.event(message("<https://example.com/untitled>", channel="C0PYTHON01", ts="1764238200.000200"))

    def channel_tags() -> list[str]:
        with services.new_session() as session:
            return [t.tag for t in session.exec(select(ItemTag).where(ItemTag.source == "channel"))]

    assert wait_for(channel_tags) == ["python"]
    driver.event(message("<https://example.com/another>", channel="C0PYTHON01", ts="1764238200.000300"))
    wait_for(lambda: len(channel_tags()) == 2)
    assert len(slack.calls_to("conversations.info")) == 1  # cached with the channel


def test_corrections_by_people_survive_retagging(
    driver: SlackDriver, services: Services, pages: PageServer, worker: MetadataWorker
) -> None:
    driver.event(message(f"<{pages.url}/pages/001>", ts="1764238200.000400"))  # a page on JavaScript test coverage
    worker.drain()
    [item] = items(services)
    with services.new_session() as session:
        auto = {t.tag for t in session.exec(select(ItemTag).where(ItemTag.source == "auto"))}
    assert "javascript" in auto
    assert "Took #javascript off" in reply_text(driver.command(f"untag {item.id} #js"))
    assert "Tagged" in reply_text(driver.command(f"tag {item.id} #career"))

    with services.new_session() as session:  # the page is read and tagged again
        again = session.get(Item, item.id)
        assert again is not None
        auto_tag(session, services.taxonomy, again, now=services.clock())
        session.commit()
        active = {t.tag for t in session.exec(select(ItemTag).where(ItemTag.removed == False))}  # noqa: E712
    assert "javascript" not in active
    assert "career" in active
    assert "#career" in reply_text(driver.command("search frontend"))


def test_tag_and_untag_need_an_item_and_tags(driver: SlackDriver, services: Services) -> None:
    assert "Usage: `/shelf tag ITEM #a #b`" in reply_text(driver.command("tag 12"))
    assert "can't find item `99999`" in reply_text(driver.command("tag 99999 #python"))
    driver.command("save https://example.com/x")
    [item] = items(services)
    assert "has no tag #python" in reply_text(driver.command(f"untag {item.id} #python"))


def test_interests_are_checked_against_the_topics(driver: SlackDriver, services: Services) -> None:
    reply = reply_text(driver.command("interests #python #leadership"))
    assert "*Python* (`#python`)" in reply and "*Leadership* (`#leadership`)" in reply
    refused = reply_text(driver.command("interests #pyhton #design"))
    assert "`#pyhton` isn't one of the topics. Did you mean `#python`?" in refused
    with services.new_session() as session:
        assert [i.topic for i in session.exec(select(Interest))] == ["python", "leadership"]  # unchanged
    shown = reply_text(driver.command("interests"))
    assert "Your interests: *Python*" in shown and "`#remote-work`" in shown
    assert reply_text(driver.command("interests none")) == "Cleared your interests."


def test_top_of_the_week_ranks_by_people_and_keeps_private_links_out(driver: SlackDriver, services: Services) -> None:
    driver.event(message("<https://example.com/popular-python-post>", ts="1764238300.000100"))
    driver.event(message("<https://example.com/popular-python-post>", user="U0BEN0001", ts="1764238300.000200"))
    driver.command("save https://example.com/popular-python-post", user="U0CAROL01")
    driver.event(message("<https://example.com/quiet-post>", ts="1764238300.000300"))
    driver.event(
        message("<https://example.com/secret-post>", channel="G0PRIVATE1", channel_type="group", ts="1764238300.4")
    )
    driver.command("save https://example.com/secret-post", user="U0BEN0001")
    top = reply_text(driver.command("top"))
    assert top.index("popular-python-post") < top.index("quiet-post")
    assert "3 people" in top and "1 person" in top
    assert "secret-post" not in top
    assert "popular-python-post" in reply_text(driver.command("top #python"))
    assert "quiet-post" not in reply_text(driver.command("top #python"))

    services.clock = lambda: items(services)[0].created_at + timedelta(days=8)
    assert "Nothing shared in public channels this week yet." in reply_text(driver.command("top"))


MONDAYS = [
    ("Dreading Monday mornings", "Why the start of the week feels heavy, and what helps."),
    ("The Sunday night scaries", "That sinking feeling before the week begins."),
    ("Monday blues", "Tired before the week has even started."),
]
NEW_ONE = ("How we stopped dreading Mondays", None)


def _item_titled(driver: SlackDriver, services: Services, title: str, description: str | None, ts: str) -> int:
    """An item shared in a channel whose page has been read (its title and description known)."""
    driver.event(message(f"<https://example.com/read/{ts}>", ts=ts))
    with services.transaction() as session:
        item = session.exec(select(Item).where(Item.url == f"https://example.com/read/{ts}")).one()
        item.title, item.description = title, description
        session.add(item)
        auto_tag(session, services.taxonomy, item, now=services.clock())
        assert item.id is not None
        return item.id


def _topics_of_new(services: Services, team_id: str, n: int) -> dict[str, float]:
    """Tag a new item with NEW_ONE's title in `team_id`; its automatic topics and colleagues' part."""
    with services.transaction() as session:
        url = f"https://example.com/new/{n}"
        item = Item(team_id=team_id, canonical_url=url, url=url, title=NEW_ONE[0], description=NEW_ONE[1])
        session.add(item)
        session.flush()
        return {m.slug: m.colleagues for m in auto_tag(session, services.taxonomy, item, now=services.clock())}


def test_colleagues_corrections_teach_the_tagger_in_their_workspace_only(
    driver: SlackDriver, services: Services
) -> None:
    corrected = [_item_titled(driver, services, t, d, f"1764238400.00010{i}") for i, (t, d) in enumerate(MONDAYS)]
    team = items(services)[0].team_id
    assert "wellbeing" not in _topics_of_new(services, team, 1)  # nothing in the words says so

    for item_id in (corrected[0], corrected[2]):
        assert "Tagged" in reply_text(driver.command(f"tag {item_id} #wellbeing", user="U0ANA0001"))
    assert "wellbeing" not in _topics_of_new(services, team, 2)  # one person alone cannot decide for everyone

    assert "Tagged" in reply_text(driver.command(f"tag {corrected[1]} #wellbeing", user="U0BEN0001"))
    learned = _topics_of_new(services, team, 3)
    assert learned.get("wellbeing", 0.0) > 0  # given, and it says the colleagues did it
    assert "wellbeing" not in _topics_of_new(services, "T0ELSEWHERE", 4)  # another workspace learned nothing

    with services.new_session() as session:
        evidence = session.exec(select(ItemTag.evidence).where(ItemTag.tag == "wellbeing", ItemTag.source == "auto"))
        assert any("colleagues' corrections +" in (e or "") for e in evidence)


def test_untagging_teaches_too(driver: SlackDriver, services: Services) -> None:
    titles = [
        ("Writing unit tests with pytest fixtures", None),
        ("Writing integration tests for Python services", None),
    ]
    ids = [_item_titled(driver, services, t, d, f"1764238500.00010{i}") for i, (t, d) in enumerate(titles)]
    team = items(services)[0].team_id
    with services.transaction() as session:
        url = "https://example.com/new/pytest"
        fresh = Item(team_id=team, canonical_url=url, url=url, title="Writing unit tests with pytest")
        session.add(fresh)
        session.flush()
        before = [m.slug for m in auto_tag(session, services.taxonomy, fresh, now=services.clock())]
    assert "writing" in before  # the word misleads the tagger
    for item_id, user in zip(ids, ("U0ANA0001", "U0BEN0001"), strict=True):
        assert "Took #writing off" in reply_text(driver.command(f"untag {item_id} #writing", user=user))
    with services.transaction() as session:
        again = session.get(Item, fresh.id)
        assert again is not None
        after = [m.slug for m in auto_tag(session, services.taxonomy, again, now=services.clock())]
    assert "testing" in after and "writing" not in after
