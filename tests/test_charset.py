"""Page bytes to text: the server's charset, then the page's own, then UTF-8, then a guess."""

from __future__ import annotations

from bot.reading.charset import decode_html


def test_the_servers_charset_wins_then_the_pages_own_then_utf8() -> None:
    latin = '<meta charset="windows-1252"><title>Café</title>'.encode("cp1252")
    assert "Café" in decode_html(latin)  # declared by the page
    assert "CafÃ©" not in decode_html("<title>Café</title>".encode())  # no declaration: UTF-8
    assert "Café" in decode_html("<title>Café</title>".encode("utf-16"), "utf-16")  # the header's word
    assert "Café" in decode_html('<meta charset="nonsense"><title>Café</title>'.encode())  # unknown names skipped


def test_bytes_that_fit_no_named_charset_are_still_read() -> None:
    guessed = decode_html(b"<title>caf\xe9 \xff\xfe</title>")
    assert guessed.startswith("<title>caf")
