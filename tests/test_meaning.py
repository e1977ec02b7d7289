"""The shipped sentence vectors, read with numpy alone: BERT's uncased WordPiece, as distilled."""

from __future__ import annotations

import numpy as np

from bot.reading.meaning import shipped, words_of


def test_text_is_normalised_as_the_vectors_were_distilled() -> None:
    reader = shipped()
    assert reader.tokens("Café NAÏVE") == reader.tokens("cafe naive")  # lower-cased, accents stripped
    assert reader.tokens("unit-tests!") == reader.tokens("unit - tests !")  # punctuation splits words
    assert reader.tokens("\u200bpython\x00") == reader.tokens("python")  # control and format characters go
    assert words_of("Ünïcode, too") == ["unicode", ",", "too"]  # the non-ASCII path agrees with the fast one
    assert words_of("ASCII, too") == ["ascii", ",", "too"]


def test_long_words_split_into_pieces_and_unknown_ones_are_left_out() -> None:
    reader = shipped()
    pieces = reader.tokens("kubernetes")
    assert len(pieces) > 1  # not one token in the vocabulary, yet read through its pieces
    assert reader.tokens("🙂 python") == reader.tokens("python")


def test_a_text_is_a_unit_vector_and_close_texts_are_close() -> None:
    reader = shipped()
    a, b, c = (reader.embed(t) for t in ("Hiring engineers", "Recruiting developers", "Chocolate cake recipe"))
    assert np.isclose(np.linalg.norm(a), 1.0, atol=1e-5)
    assert float(a @ b) > float(a @ c) + 0.2
    assert not reader.embed("").any() and not reader.embed("🙂").any()
