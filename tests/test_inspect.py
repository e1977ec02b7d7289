"""`peershelf inspect` as an admin runs it: files, URLs, several at once, errors as objects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.pageserver import FIXTURES, PageServer
from tests.test_cli import PEERSHELF, clean_env


def inspect(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PEERSHELF, "inspect", *args], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=60
    )


KEYS = ["url", "kind", "title", "description", "author", "site_name", "published_at", "image", "language",
        "duration_seconds", "isbn", "topics"]  # fmt: skip


def test_a_saved_file_with_its_address_as_json(tmp_path: Path) -> None:
    page = FIXTURES / "guardian-1" / "source.html"
    result = inspect(str(page), "--url", "https://www.theguardian.com/x?utm_source=slack", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert list(found) == [*KEYS, "topic_words", "topic_evidence", "topics_refused", "keywords"]
    assert found["title"].startswith("'What is the sea telling us?'")
    assert found["author"] == "Eleanor Ainge Roy"
    assert found["site_name"] == "the Guardian"
    assert found["language"] == "en"
    assert found["published_at"] == "2019-01-03T07:00:02+00:00"
    assert found["url"].startswith("https://www.theguardian.com/environment/2019/jan/03/")
    assert found["kind"] == "article"
    assert found["topics"] == []


def test_several_inputs_give_json_lines_in_order_with_errors_as_objects(tmp_path: Path, pages: PageServer) -> None:
    sources = [str(FIXTURES / "cnn" / "source.html"), str(tmp_path / "missing.html"), f"{pages.url}/pages/002",
               "http://169.254.169.254/latest/meta-data/"]  # fmt: skip
    result = inspect(*sources, "--json", cwd=tmp_path, SHELF_FETCH_ALLOW_PRIVATE="false")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["source"] for line in lines] == sources
    assert lines[0]["title"] == "The 'birth lottery' and economic mobility"
    assert "No such file" in lines[1]["error"]
    assert "internal address" in lines[2]["error"]  # the page server is on loopback: refused by default
    assert "internal address" in lines[3]["error"]
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_a_url_is_fetched_with_the_bots_fetcher(tmp_path: Path, pages: PageServer) -> None:
    result = inspect(f"{pages.url}/pages/002", cwd=tmp_path, SHELF_FETCH_ALLOW_PRIVATE="true")
    assert result.returncode == 0, result.stderr
    assert "title:            This API is so Fetching!" in result.stdout
    assert "kind:             article" in result.stdout


def test_url_option_needs_exactly_one_file(tmp_path: Path) -> None:
    page = str(FIXTURES / "cnn" / "source.html")
    result = inspect(page, page, "--url", "https://money.cnn.com/x", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "peershelf: --url gives the address one saved file came from: name exactly one FILE.html"
    )


def test_topics_come_with_the_words_that_triggered_them(tmp_path: Path) -> None:
    page = str(FIXTURES / "001" / "source.html")
    text = inspect(page, cwd=tmp_path)
    assert "\n  javascript      " in text.stdout
    line = next(line for line in text.stdout.splitlines() if line.startswith("  javascript "))
    assert "words javascript code 6, frontend 2; meaning 0." in line  # the words, their points, and the meaning
    found = json.loads(inspect(page, "--json", cwd=tmp_path).stdout)  # bug reports carry the evidence too
    assert found["topics"][0] == "javascript"
    assert found["topic_words"]["javascript"] == ["javascript code", "frontend"]
    evidence = found["topic_evidence"]["javascript"]
    assert evidence["words"] == {"javascript code": 6.0, "frontend": 2.0}
    assert 0.5 < evidence["probability"] <= 1 and 0 < evidence["meaning"] <= 1
    assert evidence["like"] and evidence["colleagues"] == 0


def test_a_topic_the_words_point_at_but_not_given_says_why(tmp_path: Path) -> None:
    def page(name: str, title: str) -> str:
        path = tmp_path / f"{name}.html"
        path.write_text(f"<html><head><title>{title}</title></head><body><p>{title}</p></body></html>")
        return str(path)

    piano = json.loads(inspect(page("piano", "Learn piano by ear: learn by doing"), "--json", cwd=tmp_path).stdout)
    assert piano["topics"] == []
    assert piano["topics_refused"]["learning"].startswith("off work: hobbies words (piano, by ear)")
    python = json.loads(inspect(page("python", "Learning Python"), "--json", cwd=tmp_path).stdout)
    assert python["topics"] == ["python"]
    assert python["topics_refused"] == {
        "learning": "“learning”: how the item teaches, not what it is about (another topic has words)"
    }
    text = inspect(page("python", "Learning Python"), cwd=tmp_path).stdout
    assert "\n  not learning    “learning”: how the item teaches" in text


def test_a_custom_topics_file_is_used(tmp_path: Path) -> None:
    topics = tmp_path / "topics.yml"
    topics.write_text("topics:\n  frontend-testing:\n    label: Frontend testing\n    signals: {covered: 3}\n")
    result = inspect(str(FIXTURES / "001" / "source.html"), "--json", cwd=tmp_path, SHELF_TOPICS_FILE=str(topics))
    assert json.loads(result.stdout)["topics"] == ["frontend-testing"]


def test_a_file_that_is_not_a_web_page_is_an_error(tmp_path: Path) -> None:
    paper = tmp_path / "paper.pdf"
    paper.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    result = inspect(str(paper), "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"error": f"{paper} is not an HTML page (save the page itself, as .html)"}


def test_team_applies_that_workspaces_corrections_and_says_so(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sqlmodel import Session

    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import Item, ItemTag

    database = f"sqlite:///{tmp_path / 'shelf.db'}"
    engine = make_engine(database)
    upgrade(engine)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    corrected = {  # people found these about testing, though the tagger saw JavaScript alone
        "Get your Frontend JavaScript Code Covered | Code | Nicolas Perriault": "U0ANA0001",  # a mirror
        "Frontend JavaScript code coverage, by Nicolas Perriault": "U0BEN0001",
    }
    with Session(engine) as session:
        for n, (title, person) in enumerate(corrected.items()):
            item = Item(team_id="T0ACME0001", canonical_url=f"https://e.com/{n}", url=f"https://e.com/{n}", title=title,
                        is_public=True)  # fmt: skip
            session.add(item)
            session.flush()
            assert item.id is not None
            session.add(ItemTag(team_id="T0ACME0001", item_id=item.id, tag="testing", source="person",
                                created_by=person, created_at=now))  # fmt: skip
        session.commit()
    engine.dispose()
    page = str(FIXTURES / "001" / "source.html")  # "Get your Frontend JavaScript Code Covered"
    plain = json.loads(inspect(page, "--json", cwd=tmp_path, DATABASE_URL=database).stdout)
    taught = json.loads(inspect(page, "--json", "--team", "T0ACME0001", cwd=tmp_path, DATABASE_URL=database).stdout)
    elsewhere = json.loads(inspect(page, "--json", "--team", "T0OTHER001", cwd=tmp_path, DATABASE_URL=database).stdout)
    assert "testing" not in plain["topics"]
    assert "testing" in taught["topics"]
    assert taught["topic_evidence"]["testing"]["colleagues"] > 0
    assert elsewhere["topics"] == plain["topics"]
