"""`peershelf report`: what a workspace learns on one self-contained HTML page; public activity only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.demo.driver import SlackDriver
from bot.demo.fakeslack import FakeSlack
from bot.services import Services
from bot.services.report import PEOPLE, SAVES, SHARES, report_html
from tests.helpers import items, message
from tests.test_cli import peershelf

ANA, BEN, CAROL, DAVE = "U0ANA0001", "U0BEN0001", "U0CAROL01", "U0DAVE0001"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


@pytest.fixture
def learning(driver: SlackDriver, slack: FakeSlack, services: Services) -> None:
    """Six weeks of a small workspace: rust rising, a list with subscribers, a private secret."""
    slack.add_user(CAROL, "Carol")
    slack.add_user(DAVE, "Dave")
    for week in range(6):
        when = NOW - timedelta(weeks=5 - week)
        services.clock = lambda when=when: when  # type: ignore[misc]
        for n in range(week + 1):  # more each week
            url = f"https://example.com/rust-ownership-{week}-{n}"
            driver.event(message(f"<{url}>", user=(ANA, BEN, CAROL)[n % 3], ts=f"17630{week}{n}000.000100"))
            driver.command(f"save {url}", user=DAVE)
        if week < 2:
            driver.event(message(f"<https://example.com/kubernetes-intro-{week}>", user=BEN, ts=f"17630{week}9000.1"))
    services.clock = lambda: NOW + timedelta(hours=1)  # after this week's shares: what is listed and sent was shared
    driver.command('list new "Systems reading"', user=CAROL)
    driver.command('list add "Systems reading" https://example.com/rust-ownership-5-0', user=CAROL)
    for who in (ANA, BEN, DAVE):
        driver.command('subscribe "Systems reading"', user=who)
    rust = next(i.id for i in items(services) if i.url.endswith("rust-ownership-5-1"))
    driver.command(f"recommend <@{ANA}> <@{DAVE}> {rust} great intro", user=BEN)
    driver.event(message("<https://example.com/secret-merger-plans> #projectx", user=ANA, channel="G0PRIVATE1",
                         channel_type="group", ts="1764100000.000100"))  # fmt: skip
    driver.command(f"recommend <@{BEN}> https://example.com/secret-merger-plans", user=ANA)


def test_the_page_counts_weeks_topics_recommendations_and_lists_but_nothing_private(
    learning: None, services: Services
) -> None:
    page = report_html(services, team_id="T0PEERS01", weeks=6, now=NOW)
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!example\.com)""", page)  # nothing to fetch to open it
    assert "<script" not in page
    assert "secret" not in page and "projectx" not in page and "merger" not in page
    tiles = dict(re.findall(r"<b>([\d,]+)</b><span>([a-z ]+)</span>", page)[i][::-1] for i in range(4))
    assert tiles == {"people took part": "4", "shares": "23", "saves": "21", "recommendations": "2"}
    assert "#rust" in page and "Topics rising and falling" in page
    assert "rust-ownership-5-1" in page  # the most recommended, with 2 recommendations by 1 person
    assert re.search(r"Systems reading</td><td>(Carol|U0CAROL01)</td><td>3</td><td>1</td>", page)
    assert "rust-ownership-5-1</a></td><td>2</td><td>1 person</td>" in page


def test_the_command_writes_the_page_and_checks_its_arguments(
    learning: None, database_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "learning.html"
    env = {"DATABASE_URL": database_url}
    result = peershelf("report", "--weeks", "8", "--html", str(target), cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {target}: 8 weeks of workspace T0PEERS01"
    assert "What Peers learns" in target.read_text() or "learns</h1>" in target.read_text()
    refused = peershelf("report", "--weeks", "0", "--html", str(target), cwd=tmp_path, **env)
    assert refused.returncode == 2 and "--weeks 0" in refused.stderr
    nowhere = peershelf("report", "--html", "/no/such/folder/x.html", cwd=tmp_path, **env)
    assert nowhere.returncode == 2 and "no folder" in nowhere.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_a_browser_draws_the_charts(learning: None, services: Services, tmp_path: Path) -> None:
    """Opened in headless Chromium with no network, the page shows its charts in their colours."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Chromium not installed (apt-get install chromium); CI runs this")
    from PIL import Image

    page = tmp_path / "report.html"
    page.write_text(report_html(services, team_id="T0PEERS01", weeks=6, now=NOW), encoding="utf-8")
    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--proxy-server=127.0.0.1:9", "--window-size=1100,2600", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=90,
    )  # fmt: skip
    image = Image.open(shot).convert("RGB")
    colours = {colour: n for n, colour in image.getcolors(maxcolors=1 << 20) or []}

    def pixels(hex_colour: str) -> int:
        return colours.get(tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)), 0)  # type: ignore[arg-type]

    assert image.size == (1100, 2600)
    assert pixels(SHARES) > 500 and pixels(SAVES) > 200 and pixels(PEOPLE) > 2000  # lines and bars drawn
