"""The README and the docs as a newcomer reads them: rendered by a CommonMark renderer, naming
files that exist, and stating figures that the code agrees with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.reading.fetcher import MAX_REDIRECTS
from bot.reading.links import MAX_URL
from bot.reading.metadata import PARSE_LIMIT
from bot.reading.topics import Colleagues, load_taxonomy, shipped_model
from bot.services.digests.compose import PER_SECTION, UNREAD_REMINDERS
from bot.services.feeds import FIRST_POLL_ENTRIES
from bot.services.recommendations import MAX_SUGGESTIONS
from bot.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "architecture.md", ROOT / "tests" / "fixtures" / "README.md"]
WORDS = {3: "three", 5: "five", 7: "7"}
# A path of this repository, as the docs write them in `code` or as links.
_PATH = re.compile(r"^\.?[\w-]+(/[\w.<>*-]+)+/?$|^[\w-]+\.(yml|toml|md|example)$|^\.env\.example$|^\.ci/run$")


def rendered(path: Path) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(path.read_text())


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_renders_as_a_table(path: Path) -> None:
    tokens = rendered(path)
    stray = [t.content for t in tokens if t.type == "inline" and t.content.lstrip().startswith("|")]
    assert stray == [], "a table broke into plain text (a blank line inside it, or a missing header row)"
    separators = [line for line in path.read_text().splitlines() if re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line)]
    assert sum(1 for t in tokens if t.type == "table_open") == len(separators)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_named_exists(path: Path) -> None:
    named: set[str] = set()
    for token in rendered(path):
        for child in getattr(token, "children", None) or []:
            if child.type == "code_inline" and _PATH.match(child.content):
                named.add(child.content)
            if child.type == "link_open" and not str(child.attrs["href"]).startswith(("http", "#", "mailto:")):
                named.add(str(child.attrs["href"]))
    for fence in (t for t in rendered(path) if t.type == "fence"):
        named |= set(re.findall(r"(?:bench|tests|bot|storage|handlers)/[\w/.-]+\.py", fence.content))
    missing = [
        name
        for name in sorted(named)
        if not any(c in name for c in "<*") and not (path.parent / name).exists() and not (ROOT / name).exists()
    ]
    assert missing == []
    assert "../shared" not in path.read_text()  # the repository stands on its own


def test_the_readmes_figures_are_the_codes() -> None:
    text = " ".join(ROOT.joinpath("README.md").read_text().split())
    topics = len(load_taxonomy().topics)
    for phrase in (
        f"a built-in taxonomy of {topics} workplace topics",
        f"follows at most {MAX_REDIRECTS} redirects",
        f"only the first {PARSE_LIMIT:,} characters are built into a tree",
        f"An address longer than {MAX_URL:,} characters",
        f"{WORDS[PER_SECTION].capitalize()} items a section",
        f"at most {WORDS[UNREAD_REMINDERS]} unread saves",
        f"its latest {WORDS[FIRST_POLL_ENTRIES]} entries",
        f"up to {WORDS[MAX_SUGGESTIONS]} of them",
        f"a topic needs {shipped_model().threshold:.1%}",
        "and half the best one's",
        f"at most {Colleagues.PERSON_CAP:g} in log-odds (everyone together by {Colleagues.TOTAL_CAP:g})",
        f"each person's latest {Colleagues.PER_PERSON} corrections",
    ):
        assert phrase in text
    assert shipped_model().relative == 0.5  # "half the best one's"


def test_every_setting_is_explained_in_the_example_env_file() -> None:
    example = ROOT.joinpath(".env.example").read_text()
    listed = re.findall(r"^([A-Z_]+)=", example, re.MULTILINE)
    assert sorted(listed) == sorted(VARIABLES)
