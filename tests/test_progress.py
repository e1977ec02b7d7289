"""Progress of long CLI work: a bar on a terminal, plain lines in a log, nothing with --json."""

from __future__ import annotations

import io
from pathlib import Path

from bot.progress import _Lines, progress
from tests.test_cli import peershelf

FIXTURES = Path(__file__).parent / "fixtures" / "pages"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_counts_and_a_log_gets_lines_now_and_then() -> None:
    terminal = Terminal()
    bar = progress("digests", total=0, unit="people", stream=terminal)
    bar.grow(40)
    bar.update(10)
    bar.close()
    assert "digests" in terminal.getvalue() and "10/40" in terminal.getvalue()

    log = io.StringIO()
    ticks = iter([0.0, 1.0, 11.0, 11.0, 20.0, 20.0])
    lines = _Lines("history", total=None, unit="messages", stream=log, clock=lambda: next(ticks))
    lines.grow(100)
    lines.update(10)  # 1 s in: too soon for a line
    lines.note("#general")
    lines.update(40)  # 11 s in: a line, with what is left
    lines.update(50)
    lines.close()
    said = log.getvalue().splitlines()
    assert said[0] == "history: 50/100 messages (50%) about 11 s left — #general"
    assert said[-1] == "history: 100/100 messages (100%) — #general"


def test_quiet_progress_writes_nothing_but_the_output() -> None:
    quiet = progress("pages", total=2, unit="pages", quiet=True, stream=Terminal())
    quiet.update(2)
    quiet.close()


def test_inspect_of_several_pages_reports_progress_on_stderr_but_not_with_json(tmp_path: Path) -> None:
    pages = sorted(str(p / "source.html") for p in FIXTURES.iterdir() if (p / "source.html").is_file())[:3]
    plain = peershelf("inspect", *pages, cwd=tmp_path)
    assert plain.stderr.strip().splitlines()[-1] == "pages: 3/3 pages (100%)"
    as_json = peershelf("inspect", *pages, "--json", cwd=tmp_path)
    assert as_json.stderr == "" and len(as_json.stdout.strip().splitlines()) == 3
