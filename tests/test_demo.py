"""`peershelf demo` keeps telling the truth: every scene produced what it claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.demo.week import ANA, BEN, CHEN, DARA, run_demo


def test_the_demo_week_shows_what_each_person_would_see() -> None:
    lines: list[str] = []
    result = run_demo(lines.append)
    output = "\n".join(lines)
    assert len(result.scenes) == 7
    # The private link is seen by the person who shared it, and by nobody else.
    for user in (ANA, BEN, CHEN):
        assert not any("reorg" in seen.lower() and "plan" in seen.lower() for seen in result.seen[user])
    assert any("Platform team reorg plan" in seen for seen in result.seen[DARA])
    # The reaction save, the recommendation with its thanks, the list fed by a feed.
    assert any(seen.startswith("Saved to your shelf: Understanding Ownership in Rust") for seen in result.seen[ANA])
    assert any("@Ana thanked you for Blameless Postmortems" in seen for seen in result.seen[CHEN])
    assert any("Async Rust with Tokio" in seen and "Learning Rust by @Ben" in seen for seen in result.seen[ANA])
    # The digests name the right items for the right people, and empty ones are not sent.
    ana, dara = result.digests[ANA] or "", result.digests[DARA] or ""
    assert "Blameless Postmortems That Actually Teach" in ana and "recommended by @Chen" in ana
    assert "in _Learning Rust_" in ana
    assert "Understanding Ownership in Rust" in dara and "shared by @Ben" in dara
    assert "reorg" not in (ana + dara).lower()
    # Ben and Chen typed no setting: what their colleagues shared is picked for them, never their own.
    ben, chen = result.digests[BEN] or "", result.digests[CHEN] or ""
    assert "Picked for you" in ben and "Picked for you" in chen
    assert "Blameless Postmortems" in ben and "Blameless Postmortems" not in chen  # Chen shared it
    assert "Understanding Ownership in Rust" in chen and "Understanding Ownership in Rust" not in ben  # Ben's
    assert "reorg" not in (ben + chen).lower()
    assert "Ana sees (the Home tab)" in output


def test_peershelf_demo_runs_offline_from_the_command_line(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "peershelf"
    done = subprocess.run(
        [str(script), "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env={"PATH": ""}
    )
    assert done.returncode == 0, done.stderr
    assert "Next Monday · the weekly digests" in done.stdout
    assert "Traceback" not in done.stderr


def test_stepping_through_the_demo_without_a_keyboard_plays_on(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "peershelf"
    done = subprocess.run(
        [str(script), "demo", "--step"], cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=60, env={"PATH": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Ana opens Peershelf's Home tab" in done.stdout and "Traceback" not in done.stderr


def test_the_demo_read_in_part_stops_quietly(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "peershelf"
    demo = subprocess.Popen([str(script), "demo"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": ""})  # fmt: skip
    assert demo.stdout is not None and demo.stderr is not None
    first = demo.stdout.readline()  # then the reader goes away, as `peershelf demo | head -1` does
    demo.stdout.close()
    assert demo.wait(timeout=60) == 0
    assert first.startswith(b"Peershelf demo") and demo.stderr.read() == b""
