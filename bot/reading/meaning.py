"""Sentence meaning as a vector: a small static embedding that ships with Peershelf.

The vectors were distilled (model2vec) from the sentence model all-MiniLM-L6-v2 when the topic
model was built (`scripts/build_topic_model.py`): one vector per WordPiece token, and a text's
vector is the mean of its tokens' vectors. Reading a text needs numpy and nothing else: no model
download, no network, no torch. The tokenizer below is BERT's uncased WordPiece, the one the
vectors were distilled with; the build checks that it splits the corpus exactly as the reference
tokenizer does.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).with_name("model")
MAX_TOKENS = 512  # as the distilled model was configured; longer texts are cut
MAX_WORD_CHARS = 100


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _normalise(text: str) -> str:
    """BERT's normaliser: drop control characters, space out CJK, lower-case and strip accents."""
    out = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD:
            continue
        category = unicodedata.category(char)
        if char in "\t\n\r" or category == "Zs":
            out.append(" ")
        elif category in ("Cc", "Cf"):
            continue
        elif _is_cjk(code):
            out.append(f" {char} ")
        else:
            out.append(char)
    decomposed = unicodedata.normalize("NFD", "".join(out).lower())
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def _pieces(text: str) -> list[str]:
    """Whitespace- and punctuation-split words (each punctuation mark a word of its own)."""
    found: list[str] = []
    for chunk in text.split():
        start = 0
        for i, char in enumerate(chunk):
            if _is_punctuation(char):
                if i > start:
                    found.append(chunk[start:i])
                found.append(char)
                start = i + 1
        if start < len(chunk):
            found.append(chunk[start:])
    return found


# ASCII text (most of it) takes a fast path: the same result as _pieces(_normalise(text)).
_ASCII_CONTROL = {code: None for code in (*range(0, 9), 11, 12, *range(14, 32), 127)}
_ASCII_PIECES = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def words_of(text: str) -> list[str]:
    """BERT's normalised, punctuation-split words of a text."""
    if text.isascii():
        return _ASCII_PIECES.findall(text.translate(_ASCII_CONTROL).lower())
    return _pieces(_normalise(text))


class StaticEmbedding:
    """Token vectors and the WordPiece vocabulary they belong to."""

    def __init__(self, vectors: np.ndarray, vocabulary: list[str]) -> None:
        if len(vectors) != len(vocabulary):
            raise ValueError("the vectors and the vocabulary do not match")
        self.vectors = vectors.astype(np.float32)
        self.ids = {token: i for i, token in enumerate(vocabulary)}
        self.dimensions = int(vectors.shape[1])
        self._word_ids = lru_cache(maxsize=65536)(self._wordpiece)

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> StaticEmbedding:
        vectors = np.load(directory / "embeddings.npy")
        vocabulary = (directory / "vocab.txt").read_text(encoding="utf-8").split("\n")
        return cls(vectors, vocabulary)

    def _wordpiece(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match pieces of one word; a word with any unknown piece counts as unknown."""
        if len(word) > MAX_WORD_CHARS:
            return ()
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return ()
            start = end
        return tuple(ids)

    def tokens(self, text: str) -> list[int]:
        """Token ids of a text, unknown words left out (as the distilled model does)."""
        ids: list[int] = []
        for word in words_of(text):
            ids.extend(self._word_ids(word))
            if len(ids) >= MAX_TOKENS:
                return ids[:MAX_TOKENS]
        return ids

    def embed(self, text: str) -> np.ndarray:
        """The text's unit vector (all zeros for a text with no known word)."""
        ids = self.tokens(text)
        if not ids:
            return np.zeros(self.dimensions, dtype=np.float32)
        vector = self.vectors[ids].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def embed_all(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self.embed(text) for text in texts])


@lru_cache(maxsize=1)
def shipped() -> StaticEmbedding:
    """The embedding that ships in the package, loaded once per process."""
    return StaticEmbedding.load()
