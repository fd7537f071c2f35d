"""The lexical leg: jieba BM25 over policy text, built with the index and stored beside it.

Tokens are jieba ``lcut_for_search`` words of folded text (``rag.textnorm.fold``) plus tokens
that keep codes whole: the 〔年〕号 core of every 文号 (with the 2–6 characters before it),
amounts with their magnitude (“2.5亿”), percentages, and the corpus's quoted programme names
(“415X”, “一月一链”, “算力券”) added to a private jieba dictionary.  The index is bm25s, saved
with its own ``save`` (no pickle) into ``index/<name>/bm25/`` so opening an index does not
tokenise the corpus again.  A question is searched with those tokens plus every dictionary word its
characters hold (jieba's full mode, :meth:`PolicyTokenizer.query`): people's wording puts a notice's word
across a cut of the best segmentation (“店名字号”: 店/名字/号, and the notice says 原字号).  The Milvus store
analyses questions with its own jieba analyzer.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.records import Chunk
from rag.textnorm import fold

_STOP = frozenset(
    "的 了 和 与 及 或 是 在 对 为 等 将 由 被 把 以 于 之 其 这 那 有 也 都 就 并 而 且 从 向 按 "
    "什么 哪些 哪个 哪 如何 怎么 怎样 多少 几 吗 呢 吧 啊 请问 是否 可以 能否 有没有 一下 关于".split()
)
_DOCNO_CORE = re.compile(r"〔(\d{4})〕(\d{1,4})号")
_CJK_BEFORE = re.compile(r"[\u3400-\u9fff]{1,6}$")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([万亿千百]|%)?")
NOMINAL_TAGS = frozenset({"n", "b", "nz", "vn", "j"})  # jieba's tags of nouns, modifiers, abbreviations
_QUOTED = re.compile(r"[“\"「『]([^”\"」』\s]{2,10})[”\"」』]")
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u9fff]")


class PolicyTokenizer:
    """jieba search-mode words over folded text, plus whole-code tokens (文号, amounts, programme names)."""

    def __init__(self, terms: Sequence[str] = ()) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._nominal: frozenset[str] | None = None  # the nouns of jieba's dictionary, read on first use
        self.terms = tuple(sorted(set(terms)))
        for term in self.terms:
            self._jieba.add_word(term, freq=100_000)

    @staticmethod
    def harvest_terms(texts: Sequence[str]) -> list[str]:
        """Quoted names in the corpus (“415X”, “一月一链”, “算力券”): programme names to keep whole."""
        return sorted({m.group(1) for t in texts for m in _QUOTED.finditer(fold(t))})

    def rarity(self, word: str) -> float:
        """How rare ``word`` is in everyday Chinese: -log of its share in jieba's dictionary (以后 7.9, 字号 12.4)."""
        self._jieba.check_initialized()
        return math.log(self._jieba.total / (self._jieba.FREQ.get(word, 0) + 1))

    def nominal(self, word: str) -> bool:
        """Whether jieba's dictionary tags ``word`` a noun or a noun's modifier (:data:`NOMINAL_TAGS`: 工伤, 小规模;
        not 上门, tagged a place, nor 意见建议, an idiom).  Read from its dictionary file (0.2 s, once), not through
        ``jieba.posseg``, whose tables cost 160 MB."""
        if self._nominal is None:
            with self._jieba.get_dict_file() as f:
                entries = (line.decode("utf-8").split() for line in f)  # word, frequency[, tag]
                self._nominal = frozenset(e[0] for e in entries if len(e) == 3 and e[2] in NOMINAL_TAGS)
        return word in self._nominal

    def __call__(self, text: str) -> list[str]:
        text = fold(text)
        tokens: list[str] = []
        for m in _DOCNO_CORE.finditer(text):
            core = m.group(0)
            tokens.append(core)
            before = _CJK_BEFORE.search(text, 0, m.start())
            if before:
                prefix = before.group(0)
                tokens += [prefix[-n:] + core for n in range(2, len(prefix) + 1)]
        for m in _AMOUNT.finditer(text):
            number, unit = m.group(1), m.group(2)
            tokens.append(number)
            if unit:
                tokens.append(number + unit)
        tokens += [w for w in self._jieba.lcut_for_search(text)
                   if _WORDLIKE.search(w) and w not in _STOP and not _AMOUNT.fullmatch(w)]
        return tokens

    def query(self, text: str) -> list[str]:
        """A question's tokens: :meth:`__call__`'s, plus every dictionary word its characters hold that the best
        segmentation split (“店名字号” is cut 店/名字/号, and 字号 is what the notice says)."""
        tokens = self(text)
        seen = set(tokens)
        return tokens + [w for w in dict.fromkeys(self._jieba.lcut(fold(text), cut_all=True))
                         if len(w) >= 2 and w not in seen and _WORDLIKE.search(w) and w not in _STOP]


def topk(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class BM25Index:
    """bm25s over :class:`PolicyTokenizer` tokens of each chunk's ``embed_text()`` (path + text)."""

    def __init__(self, chunks: Sequence[Chunk], tokenizer: PolicyTokenizer | None = None) -> None:
        import bm25s

        texts = [c.embed_text() for c in chunks]
        self.size = len(texts)
        self.tokenize = tokenizer or PolicyTokenizer(PolicyTokenizer.harvest_terms(texts))
        self._bm25 = bm25s.BM25(k1=1.5, b=0.75)
        self._vocab: set[str] = set()
        if texts:
            self._bm25.index([self.tokenize(t) or ["\x00"] for t in texts], show_progress=False)
            self._vocab = set(self._bm25.vocab_dict)

    def save(self, folder: Path, rows: str) -> None:
        """bm25s's own files (no pickle) plus the tokenizer's terms; ``rows`` identifies the chunks indexed."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.size:
            self._bm25.save(str(folder), allow_pickle=False)
        meta = {"size": self.size, "rows": rows, "terms": list(self.tokenize.terms)}
        (folder / "lexical.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, size: int, rows: str) -> BM25Index | None:
        """The saved index, or None when it is missing or belongs to other chunks (then build a new one)."""
        import bm25s

        try:
            meta = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
            if meta["size"] != size or meta["rows"] != rows:
                return None
            self = cls.__new__(cls)
            self.size = size
            self.tokenize = PolicyTokenizer(meta["terms"])
            self._bm25 = bm25s.BM25.load(str(folder), allow_pickle=False) if size else bm25s.BM25()
            self._vocab = set(self._bm25.vocab_dict) if size else set()
            return self
        except (OSError, ValueError, KeyError):
            return None

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (row order); zeros when no query token is in the corpus."""
        tokens = [t for t in self.tokenize.query(query) if t in self._vocab]
        if not tokens:
            return np.zeros(self.size, np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


